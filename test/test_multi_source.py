# Copyright 2026 The stream_infer Authors
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.

"""
Several sources, one model: identity, fairness, failures, options and stats per source.

Every frame encodes its code in its pixels (helpers.frame_codes): source k's frames carry codes
k * 4096 + i, so a result shows which source and which frame it was computed from, whatever
batching, dropping and threading happened on the way.
"""

import threading
import time

from helpers.frame_codes import read_index, stamp_index, write_video
import numpy as np
from onnx_graphs import frame_code_model
import pytest
from test_network_stream import Camera, free_port

from stream_infer.errors import ConfigurationError, SourceError, UsageError
from stream_infer.sources import PushSource
from stream_infer.stream import InferenceStream

LANE = 4096  # codes of source k: k * LANE + frame index


def frames(count, start=0):
    return (stamp_index(i) for i in range(start, start + count))


def code_model(delay=0.0, fail_lanes=()):
    """Callable model: one box at an x that depends on the source, class = the frame's code."""
    def model(frame):
        code = read_index(frame)
        if delay:
            time.sleep(delay)
        if code // LANE in fail_lanes:
            raise RuntimeError(f'cannot handle source {code // LANE}')
        x = 2.0 + 8.0 * (code // LANE)
        return np.array([[x, 2.0, x + 20.0, 30.0, 0.9, code]])
    return model


def engine_threads():
    return sorted(t.name for t in threading.enumerate()
                  if t.name.startswith('stream_infer-') and t.is_alive())


def wait_until(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return False


def batch_row(result):
    """Return the batch row the frame-code model saw the frame in (the far box's score)."""
    far = result.detections.confidence[result.detections.xyxy[:, 0] > 32]
    return int(round((float(far[0]) - 0.5) * 100))


@pytest.mark.parametrize('batch, max_batch', [('batch', 8), (4, 4)], ids=['dynamic', 'fixed4'])
def test_identity_across_sources_under_load_with_real_batches(tmp_path, batch, max_batch):
    """Three file-like sources and one pushed live: every box is on its own frame and source."""
    model = frame_code_model(tmp_path / 'codes.onnx', batch=batch, extra_cost=12)
    counts = {'a': 240, 'b': 160, 'c': 200}
    sources = {name: frames(n, k * LANE) for k, (name, n) in enumerate(counts.items())}
    sources['live'] = None
    stream = InferenceStream(sources=sources, model=model, track=False)
    assert stream.max_batch == max_batch and stream.source_names == ('a', 'b', 'c', 'live')
    results = []
    stream.on_result(results.append)
    stream.start()
    pushed = 0

    def iterators_done():
        return all(stream.stats(name).frames_processed == n for name, n in counts.items())
    deadline = time.monotonic() + 60
    while not iterators_done() and time.monotonic() < deadline:
        code = 3 * LANE + pushed
        if stream.put_frame(stamp_index(code), timestamp=100.0 + pushed, meta=('m', code),
                            source='live'):
            pushed += 1
        time.sleep(0.001)
    assert iterators_done(), stream.stats_by_source()
    assert wait_until(lambda: stream.stats('live').frames_processed
                      + stream.stats('live').frames_dropped == pushed)
    assert stream.stop()
    by_source = {name: [r for r in results if r.source_name == name] for name in sources}
    for result in results:
        code = read_index(result.frame.image)
        assert code // LANE == result.source_index, 'a frame delivered as another source'
        assert stream.source_names[result.source_index] == result.source_name
        assert set(result.detections.class_id.tolist()) == {code}, 'boxes of another frame'
        assert result.predictions['source'] == result.source_name
        assert result.predictions['source_id'] == result.source_index
    for name, n in counts.items():
        ids = [r.frame_id for r in by_source[name]]
        assert ids == list(range(n)), f'{name}: every frame, in order, numbered per source'
        assert [read_index(r.frame.image) % LANE for r in by_source[name]] == ids
    live = by_source['live']
    assert len(live) > 10 and [r.frame_id for r in live] == sorted({r.frame_id for r in live})
    for result in live:
        code = read_index(result.frame.image)
        assert result.frame.meta == ('m', code) and result.frame.timestamp == 100.0 + code % LANE
    rows = [batch_row(r) for r in results]
    assert max(rows) >= 2, 'frames of several sources shared model runs'
    stats = stream.stats()
    assert stats.frames_processed == len(results) == sum(
        s.frames_processed for s in stream.stats_by_source().values())
    assert stream.stats('live').frames_dropped + len(live) == pushed


def test_each_source_has_its_own_tracker_and_frame_numbering():
    stream = InferenceStream(sources={'left': frames(30), 'right': frames(30, LANE)},
                             model=code_model())
    results = []
    stream.on_result(results.append)
    stats = stream.run()
    assert stats.frames_processed == 60 and stats.stop_reason == 'ended'
    for name in ('left', 'right'):
        mine = [r for r in results if r.source_name == name]
        assert [r.frame_id for r in mine] == list(range(30))
        assert {int(t) for r in mine for t in r.detections.tracker_id} == {1}, \
            'one object per source: one track each, never confused with the other source'
    assert stream.tracker_for('left') is not stream.tracker_for('right')
    assert stream.tracker_for('left').tracks_seen == 1


def test_a_fast_source_cannot_starve_a_slow_one():
    """Model ~60 fps, one source pushed flat out, one at 10 fps: the slow one is served."""
    stream = InferenceStream(sources={'fast': None, 'slow': None}, model=code_model(0.015),
                             track=False)
    stream.start()
    stop = threading.Event()

    def flood():
        i = 0
        while not stop.is_set():
            stream.put_frame(stamp_index(i % LANE), source='fast')
            i += 1
            time.sleep(0.0005)
    flooder = threading.Thread(target=flood)
    flooder.start()
    slow_pushed = 0
    for i in range(25):
        if stream.put_frame(stamp_index(LANE + i), source='slow'):
            slow_pushed += 1
        time.sleep(0.1)
    time.sleep(0.1)
    stop.set()
    flooder.join(5)
    stream.stop()
    fast, slow = stream.stats('fast'), stream.stats('slow')
    assert slow_pushed == 25
    assert slow.frames_processed >= 0.7 * slow_pushed, (slow, fast)
    assert fast.frames_dropped > 0 and fast.frames_processed >= slow.frames_processed


def test_one_source_lost_and_reconnecting_while_the_other_keeps_its_rate(tmp_path):
    cam = Camera(free_port())
    cam.start(start_index=0)
    try:
        video = write_video(tmp_path / 'v.avi', range(LANE, LANE + 100), fps=25.0)
        stream = InferenceStream(
            sources={'net': cam.url, 'file': video}, model=code_model(), track=False,
            enforce_fps=True, loop=True, reconnect_delay=0.05, reconnect_max_delay=0.3,
            read_timeout=2.0, open_timeout=2.0)
        arrivals = {'net': [], 'file': []}
        states = {'net': [], 'file': [], 'any': []}
        stream.on_result(lambda r: arrivals[r.source_name].append(
            (time.monotonic(), read_index(r.frame.image), r.frame_id)))
        for name in ('net', 'file'):
            stream.on_source_state(lambda s, m, name=name: states[name].append(s), source=name)
        stream.on_source_state(lambda s, m: states['any'].append(m))
        stream.start()
        assert wait_until(lambda: len(arrivals['net']) >= 10 and len(arrivals['file']) >= 10)
        cam.kill()
        assert wait_until(lambda: stream.stats('net').source_state == 'reconnecting')
        outage_start = time.monotonic()
        time.sleep(1.5)
        outage_end = time.monotonic()
        during = [a for a in arrivals['file'] if outage_start <= a[0] <= outage_end]
        cam.start(start_index=5000)
        assert wait_until(lambda: sum(i >= 5000 for _, i, _ in arrivals['net']) >= 10)
        assert stream.running
        stream.stop()
    finally:
        cam.kill()
    assert len(during) >= 0.4 * 25 * (outage_end - outage_start), \
        f'file source slowed to {len(during)} frames in {outage_end - outage_start:.1f} s'
    net, file = stream.stats('net'), stream.stats('file')
    assert net.connection_losses >= 1 and net.reconnects >= 1
    assert file.connection_losses == 0 and file.reconnects == 0
    assert 'reconnecting' in states['net'] and 'reconnecting' not in states['file']
    assert any(m.startswith('net: ') and 'reconnect' in m for m in states['any'])
    file_ids = [frame_id for _, _, frame_id in arrivals['file']]
    assert file_ids == sorted(set(file_ids))
    assert all(i // LANE == 1 for _, i, _ in arrivals['file'])
    after = [i for _, i, _ in arrivals['net'] if i >= 5000]
    assert after == sorted(after)


def test_stats_and_max_frames_per_source_and_the_run_ends_when_all_have():
    stream = InferenceStream(sources={'short': frames(20), 'long': frames(50, LANE)},
                             model=code_model(), track=False)
    stops = []
    stream.on_stop(stops.append)
    stats = stream.run()
    assert stats.frames_processed == 70 and stats.stop_reason == 'ended'
    assert stats.frames_in == 70 and not stats.running
    per = stream.stats_by_source()
    assert list(per) == ['short', 'long']
    assert [s.frames_processed for s in per.values()] == [20, 50]
    assert all(s.stop_reason == 'ended' and s.source_state == 'ended' for s in per.values())
    assert per['short'].source.startswith('iterator') and len(stops) == 1
    assert per['long'].latency_ms['infer'].count == 50 and per['long'].age_ms.count == 50
    limited = InferenceStream(sources=[frames(20), frames(50, LANE)], model=code_model(),
                              max_frames=30)
    stats = limited.run()
    assert [limited.stats(i).frames_processed for i in (0, 1)] == [20, 30]
    assert limited.stats(0).stop_reason == 'ended' and limited.stats(1).stop_reason == \
        'max_frames'
    assert stats.stop_reason == 'max_frames' and stats.frames_processed == 50


def test_threads_one_capture_per_source_and_stop_restart_keeps_numbering():
    single = InferenceStream(None, code_model())
    single.start()
    assert engine_threads() == ['stream_infer-capture', 'stream_infer-deliver',
                                'stream_infer-infer']
    single.stop()
    before = set(threading.enumerate())
    stream = InferenceStream(sources={'a': None, 'b': None, 'c': None}, model=code_model())
    results = []
    stream.on_result(results.append)
    for run in range(2):
        results.clear()
        stream.start()
        assert engine_threads() == ['stream_infer-capture-a', 'stream_infer-capture-b',
                                    'stream_infer-capture-c', 'stream_infer-deliver',
                                    'stream_infer-infer']
        for i in range(5):
            for k, name in enumerate('abc'):
                code = k * LANE + i
                assert wait_until(lambda: stream.put_frame(stamp_index(code), source=name))
                assert wait_until(lambda: any(read_index(r.frame.image) == code
                                              for r in results))
        assert stream.stop() is True
        assert set(threading.enumerate()) == before, 'every thread joined'
        for k, name in enumerate('abc'):
            mine = [r for r in results if r.source_name == name]
            assert [r.frame_id for r in mine] == list(range(5 * run, 5 * run + 5)), \
                'frame ids go on across runs, per source'
            assert mine[0].detections.tracker_id.tolist() == [1], 'fresh tracks each run'
        assert stream.stats().stop_reason == 'stopped'
        assert all(s.stop_reason == 'stopped' for s in stream.stats_by_source().values())
    assert stream.put_frame(stamp_index(1), source='a') is False


def test_options_shared_by_default_and_overridden_per_source():
    stream = InferenceStream(sources={'a': None, 'b': None}, model=code_model(), track=False)
    results = []
    stream.on_result(results.append)
    stream.start()

    def detections(name, code):
        count = len(results)
        assert wait_until(lambda: stream.put_frame(stamp_index(code), source=name))
        assert wait_until(lambda: len(results) > count)
        return results[-1]
    assert len(detections('a', 1).detections) == 1 and len(detections('b', LANE).detections) == 1
    assert stream.update_options(source='b', confidence=0.95).confidence == 0.95
    assert len(detections('a', 2).detections) == 1
    assert len(detections('b', LANE + 1).detections) == 0
    shared = stream.update_options(classes=[3], iou_threshold=0.6)
    assert shared.confidence == 0.3 and stream.options is shared
    assert stream.options_for('a') is shared
    b = stream.options_for('b')
    assert (b.confidence, b.classes, b.iou_threshold) == (0.95, (3,), 0.6), 'override kept'
    assert len(detections('a', 3).detections) == 1 and len(detections('a', 4).detections) == 0
    last = detections('b', LANE + 3)
    assert last.options == b and len(last.detections) == 0
    stream.reset_options('b')
    assert stream.options_for(1) is stream.options
    with pytest.raises(ValueError):
        stream.update_options(source='a', confidence=3.0)
    with pytest.raises(ConfigurationError, match="unknown source 'c'.*'a', 'b'"):
        stream.update_options(source='c', confidence=0.5)
    assert stream.options_for('a') is stream.options
    stream.stop()


def test_a_source_whose_frames_always_fail_ends_alone():
    stream = InferenceStream(sources={'good': frames(30), 'bad': frames(30, LANE)},
                             model=code_model(fail_lanes=(1,)), track=False)
    stats = stream.run()
    good, bad = stream.stats('good'), stream.stats('bad')
    assert good.frames_processed == 30 and good.stop_reason == 'ended'
    assert bad.frames_processed == 0 and bad.errors == 5 and bad.stop_reason == 'error'
    assert stats.stop_reason == 'error' and isinstance(stream.error, RuntimeError)


def test_a_source_that_cannot_be_opened_fails_start_and_releases_the_others(tmp_path):
    video = write_video(tmp_path / 'v.avi', range(10))
    stream = InferenceStream(sources={'file': video, 'camera': 98}, model=code_model())
    with pytest.raises(SourceError, match='camera 98'):
        stream.start()
    assert not stream.running and stream.sources[0]._cap is None


def test_bad_multi_source_usage_is_a_clear_error(tmp_path):
    model = code_model()
    with pytest.raises(UsageError, match='either source or sources'):
        InferenceStream(frames(3), model, sources=[frames(3)])
    with pytest.raises(ConfigurationError, match='list of sources or a'):
        InferenceStream(sources='clip.mp4', model=model)
    with pytest.raises(ConfigurationError, match='sources is empty'):
        InferenceStream(sources=[], model=model)
    with pytest.raises(ConfigurationError, match="source name 'front cam'"):
        InferenceStream(sources={'front cam': None}, model=model)
    with pytest.raises(ValueError, match='max_batch'):
        InferenceStream(None, model, max_batch=0)
    shared = PushSource()
    with pytest.raises(UsageError, match='same FrameSource object is given twice'):
        InferenceStream(sources=[shared, shared], model=model)
    stream = InferenceStream(sources=[None, None], model=model)
    assert stream.source_names == ('0', '1') and stream.max_batch == 1
    with pytest.raises(UsageError, match='2 sources'):
        stream.put_frame(stamp_index(1))
    with pytest.raises(UsageError, match='2 sources'):
        stream.source
    with pytest.raises(ConfigurationError, match='unknown source 2'):
        stream.stats(2)
    one = InferenceStream(sources={'only': frames(2)}, model=model)
    results = []
    one.on_result(results.append)
    one.run()
    assert [r.predictions['source'] for r in results] == ['only', 'only']
    plain = InferenceStream(frames(1), model)
    plain.on_result(results.append)
    plain.run()
    assert 'source' not in results[-1].predictions, 'one plain source: dicts as before'


def test_a_source_that_ends_is_reported_after_its_last_result_while_others_go_on():
    events = []  # in the order the delivery thread sees them
    stream = InferenceStream(
        sources={'short': frames(5), 'long': (stamp_index(LANE + i) for i in range(60))},
        model=code_model(0.002), track=False)
    stream.on_result(lambda r: events.append(('result', r.source_name, r.frame_id)))
    stream.on_source_end(lambda name, stats: events.append(
        ('end', name, stats.stop_reason, stats.frames_processed, stream.running)))
    stream.on_stop(lambda stats: events.append(('stop', stats.stop_reason)))
    stream.run()
    ends = [e for e in events if e[0] == 'end']
    assert [e[1] for e in ends] == ['short', 'long']
    short_end = events.index(ends[0])
    assert [e for e in events[:short_end] if e[1] == 'short'] == [
        ('result', 'short', i) for i in range(5)], 'the end comes after every result'
    assert ends[0][2:] == ('ended', 5, True), 'the run goes on with the other source'
    assert any(e[:2] == ('result', 'long') for e in events[short_end:])
    assert events.index(ends[1]) == len(events) - 2 and events[-1] == ('stop', 'ended')


def test_one_source_reports_its_end_before_the_run_and_not_when_stopped():
    ended = []
    stream = InferenceStream(frames(3), model=code_model(), track=False, max_frames=2)
    stream.on_source_end(lambda name, stats: ended.append((name, stats.stop_reason)))
    stream.run()
    assert ended == [('', 'max_frames')]
    pushed = InferenceStream(None, model=code_model(), track=False)
    pushed.on_source_end(lambda name, stats: ended.append(name))
    pushed.start()
    assert pushed.put_frame(stamp_index(1))
    assert wait_until(lambda: pushed.stats().frames_processed == 1)
    pushed.stop()
    assert ended == [('', 'max_frames')], 'stop() is reported by on_stop only'


@pytest.mark.parametrize('run', range(5))
def test_every_live_source_reports_its_max_frames_end_exactly_once(run):
    """Live sources with max_frames: the last lanes' ends used to be lost (1, 1, 0 of 2)."""
    names = ['a', 'b', 'c']
    stream = InferenceStream(sources=dict.fromkeys(names), model=code_model(),
                             track=False, max_frames=3)
    ended, stopped = [], []
    stream.on_source_end(lambda name, stats: ended.append((name, str(stats.stop_reason))))
    stream.on_stop(lambda stats: stopped.append(list(ended)))
    stream.start()
    pushed = 0
    while stream.running and pushed < 100000:  # live: push until every lane has its 3
        for k, name in enumerate(names):
            stream.put_frame(stamp_index(k * LANE + pushed % LANE), source=name)
        pushed += 1
        time.sleep(0.001)
    assert stream.wait(60)
    assert sorted(ended) == [(name, 'max_frames') for name in names], ended
    assert stopped == [ended], 'every end is told before the run stops'
