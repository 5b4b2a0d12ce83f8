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
InferenceStream end to end with real sources, real threads and real Detectors.

Callable models read the frame index back from the pixels (helpers.frame_codes), so every
result can be checked against the frame it claims to be about.
"""

import threading
import time

from helpers.frame_codes import read_index, stamp_index, write_video
import numpy as np
import pytest

from stream_infer.bundled import bundled_clip_path
from stream_infer.detection import Detector
from stream_infer.errors import SourceError
from stream_infer.results import StreamResult
from stream_infer.stream import InferenceStream


def index_model(delay: float = 0.0):
    """Return a callable model: one box whose class_id is the index read from the pixels."""
    def model(frame):
        index = read_index(frame)
        if delay:
            time.sleep(delay)
        return np.array([[2.0, 2.0, 30.0, 30.0, 0.9, index]])
    return model


def threads_now():
    return {t for t in threading.enumerate() if t.is_alive()}


def threads_started_since(before):
    """Threads alive now that were not before (one that ended meanwhile is not ours)."""
    return threads_now() - before


def frames(count, start=0):
    return (stamp_index(i) for i in range(start, start + count))


def test_every_frame_of_an_iterator_predicted_with_its_own_id_and_image():
    before = threads_now()
    stream = InferenceStream(frames(300), index_model(0.001))
    results = []
    stream.on_result(results.append)
    stats = stream.run()
    assert [r.frame_id for r in results] == list(range(300))
    for r in results:
        assert isinstance(r, StreamResult)
        assert read_index(r.frame.image) == r.frame_id == int(r.detections.class_id[0])
    assert stats.frames_processed == 300 and stats.frames_dropped == 0
    assert stats.stop_reason == 'ended' and not stats.running
    assert not threads_started_since(before)


def test_a_clock_given_to_the_stream_stamps_its_frames():
    ticks = iter(range(1000, 2000))
    stream = InferenceStream(frames(5), index_model(), clock=lambda: float(next(ticks)))
    results = []
    stream.on_result(results.append)
    stream.run()
    assert [r.frame.timestamp for r in results] == [1000.0, 1001.0, 1002.0, 1003.0, 1004.0]
    with pytest.raises(TypeError, match='clock must be a callable'):
        InferenceStream(frames(1), index_model(), clock=12.0)


def test_push_under_load_frame_meta_and_prediction_stay_together():
    """A fast producer and a slow-ish model: drops happen, but nothing is ever mixed up."""
    stream = InferenceStream(None, index_model(0.004), track=False)
    results = []
    stream.on_result(results.append)
    stream.start()
    pushed = 0
    for i in range(1500):
        if stream.put_frame(stamp_index(i), timestamp=1000.0 + i, meta=('meta', i)):
            pushed += 1
        if i % 3 == 0:
            time.sleep(0.0005)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # drain: every frame is either predicted or dropped
        stats = stream.stats()
        if stats.frames_processed + stats.frames_dropped == pushed:
            break
        time.sleep(0.01)
    assert stream.stop()
    assert pushed == 1500 and len(results) > 10
    for r in results:
        index = read_index(r.frame.image)
        assert int(r.detections.class_id[0]) == index, 'prediction of another frame'
        assert r.frame.meta == ('meta', index) and r.frame.timestamp == 1000.0 + index
    ids = [r.frame_id for r in results]
    indices = [read_index(r.frame.image) for r in results]
    assert ids == sorted(set(ids)) and indices == sorted(set(indices))
    stats = stream.stats()
    assert stats.frames_dropped > 0, 'a slow model behind a fast source must drop frames'
    assert stats.frames_processed == len(results)
    assert stats.frames_processed + stats.frames_dropped == pushed


def test_slow_model_fast_source_age_stays_bounded():
    """Frames are dropped instead of queued: late ages are not larger than early ones."""
    model_s = 0.03
    stream = InferenceStream(None, index_model(model_s), track=False)
    ages = []
    stream.on_result(lambda r: ages.append(r.age_ms))
    stream.start()
    start = time.monotonic()
    while len(ages) < 40 and time.monotonic() - start < 20:
        stream.put_frame(stamp_index(len(ages)))
        time.sleep(0.002)
    elapsed = time.monotonic() - start
    stream.stop()
    stats = stream.stats()
    assert len(ages) >= 40
    assert stats.frames_processed <= elapsed / model_s + 1, 'cannot beat the model rate'
    assert stats.frames_in > 3 * stats.frames_processed
    early, late = np.median(ages[2:12]), np.median(ages[-10:])
    assert late < 3 * early + 3 * model_s * 1000, f'age grew: early {early} ms, late {late} ms'
    assert stats.age_ms.count == stats.frames_processed and stats.latency_ms['infer'].p50 > 0


def test_callbacks_subscribe_unsubscribe_errors_start_and_stop():
    stream = InferenceStream(frames(30), index_model(), output_channel_order='RGB')
    seen = {'a': 0, 'b': 0, 'pred': 0}
    starts, stops = [], []

    def a(result):
        seen['a'] += 1

    def b(result):
        seen['b'] += 1
        if result.frame_id % 2:
            raise RuntimeError('user bug')

    predictions = []

    def on_prediction(pred, frame):
        predictions.append((pred, frame))
    unsubscribe_a = stream.on_result(a)
    stream.on_result(b)
    stream.on_prediction(on_prediction)
    stream.on_start(starts.append)
    stream.on_stop(stops.append)
    stream.on_result(a)()  # a second registration, removed at once
    unsubscribe_a()
    unsubscribe_a()  # idempotent
    stats = stream.run()
    assert seen['a'] == 0 and seen['b'] == 30 and len(predictions) == 30
    assert stats.callback_errors == 15 and stats.frames_processed == 30
    assert len(starts) == 1 and starts[0].frames_processed == 0
    assert len(stops) == 1 and stops[0].stop_reason == 'ended'
    pred, frame = predictions[5]
    assert pred['frame_id'] == 5 and pred['image'] == {'width': 64, 'height': 64}
    [box] = pred['predictions']
    assert box['class_id'] == 5 and box['class'] == '5' and box['tracker_id'] == 1
    assert box['x'] == pytest.approx(16.0) and box['width'] == pytest.approx(28.0)
    assert frame.shape == (64, 64, 3)
    with pytest.raises(TypeError):
        stream.on_result('not callable')


def test_rgb_channel_order_for_on_prediction_frames():
    image = np.zeros((16, 16, 3), np.uint8)
    image[..., 0] = 255  # blue in BGR
    got = {}
    stream = InferenceStream([image], lambda f: np.zeros((0, 6)), output_channel_order='rgb')
    stream.on_prediction(lambda pred, frame: got.update(frame=frame))
    stream.on_result(lambda r: got.update(original=r.frame.image))
    stream.run()
    assert got['frame'][0, 0].tolist() == [0, 0, 255] and got['original'][0, 0, 0] == 255
    with pytest.raises(ValueError, match='RGB'):
        InferenceStream([image], lambda f: np.zeros((0, 6)), output_channel_order='HSV')


def test_stop_returns_joins_all_threads_and_releases_the_source(tmp_path):
    before = threads_now()
    video = write_video(tmp_path / 'v.avi', range(50), fps=25.0)
    stream = InferenceStream(video, index_model(0.01), enforce_fps=True, loop=True)
    results = []
    stream.on_result(results.append)
    stream.start()
    assert threads_started_since(before), 'threads run after start()'
    while len(results) < 5:
        time.sleep(0.01)
    assert stream.stop(timeout=5.0) is True  # joined within its timeout (5 s: a loaded CI)
    assert not threads_started_since(before)
    assert stream.source._cap is None, 'video file released'
    assert stream.stats().stop_reason == 'stopped' and not stream.running
    # idle push stream: the capture thread is blocked waiting for frames
    push = InferenceStream(None, index_model())
    push.start()
    assert push.stop() is True and not threads_started_since(before)
    assert push.put_frame(stamp_index(1)) is False


def test_stop_from_a_callback_and_restart_resets_tracking():
    stream = InferenceStream(None, index_model())
    results = []

    def on_result(result):
        results.append(result)
        if len(results) == 3:
            stream.stop()
    stream.on_result(on_result)
    for run in range(2):
        results.clear()
        stream.start()
        i = 0
        while stream.running and i < 2000:
            stream.put_frame(stamp_index(i))
            i += 1
            time.sleep(0.002)
        assert stream.wait(2)
        assert len(results) == 3 and stream.stats().stop_reason == 'stopped'
        assert results[0].detections.tracker_id.tolist() == [1], f'run {run}: tracks reset'


def test_runtime_updates_apply_from_the_next_frame():
    stream = InferenceStream(None, index_model(), track=True)
    results = []
    stream.on_result(results.append)
    stream.start()

    def push_and_wait(index):
        count = len(results)
        stream.put_frame(stamp_index(index))
        deadline = time.monotonic() + 5
        while len(results) == count and time.monotonic() < deadline:
            time.sleep(0.002)
        return results[-1]
    assert len(push_and_wait(1).detections) == 1
    stream.update_options(confidence=0.95)
    assert len(push_and_wait(2).detections) == 0
    stream.update_options(confidence=0.5, classes=[3])
    assert len(push_and_wait(2).detections) == 0 and len(push_and_wait(3).detections) == 1
    stream.update_options(classes=None)
    stream.set_tracking(False)
    assert push_and_wait(4).detections.tracker_id.tolist() == [-1]
    stream.set_tracking(True, minimum_consecutive_frames=2)
    assert stream.tracker_options.minimum_consecutive_frames == 2
    assert push_and_wait(5).detections.tracker_id.tolist() == [-1], 'fresh tracker: pending'
    assert push_and_wait(6).detections.tracker_id.tolist() == [1]
    with pytest.raises(ValueError, match='unknown option'):
        stream.update_options(confidance=0.2)
    with pytest.raises(ValueError):
        stream.update_options(confidence=2.0)
    with pytest.raises(ValueError, match='unknown tracker option'):
        stream.set_tracking(True, buffer=3)
    assert stream.options.confidence == 0.5
    stream.stop()


def test_file_as_fast_as_possible_max_frames_and_loop(tmp_path):
    video = write_video(tmp_path / 'v.avi', range(20), fps=25.0)
    results = []
    stream = InferenceStream(video, index_model(), max_frames=7)
    stream.on_result(lambda r: results.append(read_index(r.frame.image)))
    stats = stream.run()
    assert results == list(range(7)) and stats.stop_reason == 'max_frames'
    results.clear()
    looped = InferenceStream(video, index_model(), loop=True, max_frames=45)
    looped.on_result(lambda r: results.append(read_index(r.frame.image)))
    looped.run()
    assert results == list(range(20)) * 2 + list(range(5))


def test_enforce_fps_with_a_slow_model_drops_frames(tmp_path):
    video = write_video(tmp_path / 'v.avi', range(60), fps=100.0)
    stream = InferenceStream(video, index_model(0.03), enforce_fps=True)
    indices = []
    stream.on_result(lambda r: indices.append(read_index(r.frame.image)))
    stats = stream.run()
    assert stats.stop_reason == 'ended' and stats.frames_dropped > 0
    assert len(indices) < 60 and indices == sorted(indices) and indices[-1] >= 50
    assert stats.frames_processed + stats.frames_dropped == 60


def test_model_errors_are_counted_and_persistent_ones_end_the_stream():
    def flaky(frame):
        index = read_index(frame)
        if index % 4 == 1:
            raise RuntimeError('bad frame')
        return np.zeros((0, 6))
    stream = InferenceStream(frames(20), flaky)
    stats = stream.run()
    assert stats.errors == 5 and stats.frames_processed == 15 and stats.stop_reason == 'ended'

    def broken(frame):
        raise RuntimeError('broken model')
    stream = InferenceStream(frames(50), broken)
    stops = []
    stream.on_stop(stops.append)
    stats = stream.run()
    assert stats.stop_reason == 'error' and isinstance(stream.error, RuntimeError)
    assert stats.frames_processed == 0 and len(stops) == 1


def test_undecodable_model_outputs_are_counted_and_persistent_ones_end_the_stream():
    """Decoding runs after the model (on the delivery thread): the same rules apply to it."""
    from stream_infer.errors import ModelError

    def sometimes_garbage(frame):
        return 'not boxes' if read_index(frame) % 4 == 1 else np.zeros((0, 6))
    stats = InferenceStream(frames(20), sometimes_garbage).run()
    assert stats.errors == 5 and stats.frames_processed == 15 and stats.stop_reason == 'ended'

    stream = InferenceStream(frames(50), lambda frame: np.zeros((3, 4)))
    stats = stream.run()
    assert stats.stop_reason == 'error' and isinstance(stream.error, ModelError)
    assert 'expected sv.Detections or an (N, 6) array' in str(stream.error)
    assert stats.frames_processed == 0


def test_bad_source_bad_usage_and_context_manager(tmp_path):
    with pytest.raises(SourceError, match='source not found'):
        InferenceStream(tmp_path / 'missing.mp4', index_model())
    camera = InferenceStream(98, index_model())
    with pytest.raises(SourceError, match='camera 98'):
        camera.start()
    assert not camera.running
    with pytest.raises(ValueError, match='max_frames'):
        InferenceStream(None, index_model(), max_frames=0)
    file_stream = InferenceStream(frames(3), index_model())
    with pytest.raises(RuntimeError, match='push mode'):
        file_stream.put_frame(stamp_index(1))
    results = []
    with InferenceStream(None, index_model()) as stream:
        stream.on_result(results.append)
        with pytest.raises(RuntimeError, match='already running'):
            stream.start()
        with pytest.raises(ValueError, match='uint8'):
            stream.put_frame(np.zeros((8, 8, 3), np.float32))
        while not results:
            stream.put_frame(stamp_index(9))
            time.sleep(0.01)
    assert not stream.running
    with pytest.raises(RuntimeError, match='closed'):
        stream.start()


@pytest.fixture(scope='module')
def real_detector():
    detector = Detector(None)
    yield detector
    detector.close()


def test_bundled_model_on_the_clip_tracks_people(real_detector):
    stream = InferenceStream(bundled_clip_path(), real_detector, max_frames=12, classes=['person'])
    results = []
    stream.on_result(results.append)
    stats = stream.run()
    assert stats.frames_processed == 12
    people = [len(r.detections) for r in results]
    assert min(people) >= 1, people
    names = {str(n) for r in results for n in r.detections.data['class_name']}
    assert names == {'person'}
    tracked = {int(t) for r in results for t in r.detections.tracker_id if t >= 0}
    assert len(tracked) >= 2
    assert real_detector.provider  # shared detector: still usable after the stream
    stream.close()
    assert len(real_detector(results[0].frame.image).detections) >= 1
