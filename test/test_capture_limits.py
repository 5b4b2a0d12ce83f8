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
How much capture keeps: caps, intervals, disk limits, the queue, and requests.

Caps and intervals run on an injected clock; requests (trigger) bypass the rules and caps but
not the disk limits.

A CaptureSink is driven directly with StreamResults (helpers/capture_scene.result), so the
clock decides everything and every frame's fate is known.
"""

from concurrent.futures import TimeoutError as FutureTimeout
import logging
import time

import cv2
from helpers.capture_scene import NO_LIMITS, PERSON, result
from helpers.frame_codes import read_index
import numpy as np
import pytest

from stream_infer.capture import CaptureError, CaptureSink, CaptureState
from stream_infer.capture.dataset import read_manifest
from stream_infer.capture.limits import RateCaps

PERSON_BOX = [[10, 20, 50, 90, 0.9, PERSON]]


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def saved_frames(directory, source=None):
    records = [r for batch in sorted(p for p in directory.iterdir() if p.is_dir())
               for r in read_manifest(batch / 'manifest.jsonl')]
    return [(r['frame_id'], r['rules']) if source is None else (r['source'], r['frame_id'])
            for r in records]


def test_rate_caps_are_sliding_windows():
    caps = RateCaps(per_minute=2, per_hour=3)
    kept = []
    for t in (0, 10, 20, 59.9, 60, 70, 3599, 3600, 3610, 3620):
        if caps.allows(t):
            caps.record(t)
            kept.append(t)
    assert kept == [0, 10, 60, 3600, 3610]
    unlimited = RateCaps(0, 0, 0)
    assert all(unlimited.allows(t) for t in range(100))


def test_overall_caps_interval_and_per_rule_caps_on_an_injected_clock(tmp_path):
    clock = Clock()
    options = dict(NO_LIMITS, per_minute=3, min_interval_s=5)
    rules = ['random:name=every', 'count:name=crowd,at_least=2,per_minute=1']
    with CaptureSink(tmp_path, ['person'], rules=rules, clock=clock, **options) as capture:
        for i in range(40):  # one frame per 2 s
            boxes = PERSON_BOX * (2 if i % 4 == 0 else 1)
            capture(result(i, boxes))
            clock.now += 2.0
    # 5 s between captures -> every 3rd frame (0, 6, 12 s...); 3 per sliding minute;
    # crowd (frames 0, 4, 8...) keeps at most one frame a minute among those kept
    assert saved_frames(tmp_path) == [
        (0, ['every', 'crowd']), (3, ['every']), (6, ['every']),
        (30, ['every']), (33, ['every']), (36, ['every', 'crowd'])]
    stats = capture.stats()
    assert stats.saved == 6 and stats.dropped_limits == 34
    assert stats.fired == {'every': 40, 'crowd': 10}


def test_min_interval_is_per_source(tmp_path):
    clock = Clock()
    with CaptureSink(tmp_path, ['person'], rules=['random'], clock=clock,
                     **dict(NO_LIMITS, min_interval_s=10)) as capture:
        for i in range(12):
            capture(result(i, PERSON_BOX, source_name='left' if i % 2 else 'right'))
            clock.now += 3.0
    # each source's frames are 6 s apart: every other one is kept (12 s >= 10 s), for both
    assert saved_frames(tmp_path, source=True) == [
        ('right', 0), ('left', 1), ('right', 4), ('left', 5), ('right', 8), ('left', 9)]


def test_disk_budget_stops_capture_with_one_log_line(tmp_path, caplog):
    noise = np.random.default_rng(1).integers(0, 256, (240, 320, 3), dtype=np.uint8)
    with caplog.at_level(logging.WARNING, logger='stream_infer.capture'):
        with CaptureSink(tmp_path, ['person'], rules=['random'],
                         **dict(NO_LIMITS, disk_budget_mb=0.25, queue_size=1)) as capture:
            for i in range(30):
                capture(result(i, PERSON_BOX, image=noise))
                while capture.stats().pending:  # one at a time: the queue never overflows
                    time.sleep(0.001)
    stats = capture.stats()
    assert stats.state == CaptureState.BUDGET_REACHED  # closing keeps the reason
    assert 1 <= stats.saved < 30 and stats.dataset_bytes <= 0.25 * 1024 * 1024
    assert stats.dropped_disk == 1 and stats.dropped_stopped == 30 - stats.saved - 1
    lines = [r for r in caplog.records if 'capture stopped' in r.getMessage()]
    assert len(lines) == 1 and 'disk budget of 0.25 MB is reached' in lines[0].getMessage()


def test_low_free_space_pauses_capture_without_writing(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger='stream_infer.capture'):
        with CaptureSink(tmp_path, ['person'], rules=['random'],
                         **dict(NO_LIMITS, min_free_mb=1e9)) as capture:
            for i in range(5):
                capture(result(i, PERSON_BOX))
    stats = capture.stats()
    assert stats.saved == 0 and stats.dropped_disk == 5
    assert not list(tmp_path.rglob('*.jpg'))
    paused = [r for r in caplog.records if 'capture paused' in r.getMessage()]
    assert len(paused) == 1 and 'must stay free' in paused[0].getMessage()


def test_a_slow_disk_drops_and_counts_the_excess_instead_of_queueing(tmp_path):
    big = np.random.default_rng(2).integers(0, 256, (6000, 6000, 3), dtype=np.uint8)
    with CaptureSink(tmp_path, ['person'], rules=['random'],
                     **dict(NO_LIMITS, queue_size=2)) as capture:
        capture(result(0, PERSON_BOX, image=big))  # the worker is busy encoding 36 Mpixels
        for i in range(1, 21):
            capture(result(i, PERSON_BOX))
            assert capture.stats().pending <= 3  # the queue, and the one being written
    stats = capture.stats()
    assert stats.dropped_queue >= 1
    assert stats.saved + stats.dropped_queue == 21
    assert [f for f, _ in saved_frames(tmp_path)][0] == 0


def test_trigger_saves_the_next_frame_whatever_rules_and_caps_say(tmp_path):
    clock = Clock()
    with CaptureSink(tmp_path, ['person'], rules=['random:probability=0'], clock=clock,
                     **dict(NO_LIMITS, per_minute=1, min_interval_s=100)) as capture:
        capture(result(0, PERSON_BOX))
        first = capture.trigger()
        second = capture.trigger()
        with pytest.raises(FutureTimeout):
            first.result(timeout=0.05)  # nothing until a frame arrives
        capture(result(1, PERSON_BOX))
        record = first.result(timeout=10)
        assert second.result(timeout=10) == record
        assert record.image.is_file() and record.rules == ('manual',) and record.frame_id == 1
        withdrawn = capture.trigger()
        assert withdrawn.cancel()
        capture(result(2, PERSON_BOX))
        third = capture.trigger()
        capture(result(3, PERSON_BOX))
        assert third.result(timeout=10).frame_id == 3
    assert saved_frames(tmp_path) == [(1, ['manual']), (3, ['manual'])]
    assert capture.stats().manual_requests == 4
    late = capture.trigger()
    with pytest.raises(CaptureError, match='capture stopped: closed'):
        late.result(timeout=1)


def test_trigger_current_saves_the_last_frame_delivered_at_once(tmp_path):
    with CaptureSink(tmp_path, ['person'], rules=[], **NO_LIMITS) as capture:
        waiting = capture.trigger(current=True)  # nothing delivered yet: the next frame
        capture(result(4, PERSON_BOX))
        assert waiting.result(timeout=10).frame_id == 4
        capture(result(5, PERSON_BOX))
        now = capture.trigger(current=True)  # no frame follows: the stream may be idle
        record = now.result(timeout=10)
        assert record.frame_id == 5 and record.rules == ('manual',)
        assert read_index(cv2.imread(str(record.image))) == 5
    assert saved_frames(tmp_path) == [(4, ['manual']), (5, ['manual'])]


def test_trigger_obeys_the_disk_limits(tmp_path):
    with CaptureSink(tmp_path, ['person'], rules=[], **dict(NO_LIMITS, min_free_mb=1e9)) as cap:
        request = cap.trigger()
        cap(result(0, PERSON_BOX))
        with pytest.raises(CaptureError, match='must stay free'):
            request.result(timeout=10)
    pending = CaptureSink(tmp_path, ['person'], rules=[], **NO_LIMITS)
    request = pending.trigger()
    pending.close()
    with pytest.raises(CaptureError, match='closed before a frame arrived'):
        request.result(timeout=1)


def test_saved_images_are_copies_taken_when_the_frame_was_chosen(tmp_path):
    frame = result(7, PERSON_BOX)
    with CaptureSink(tmp_path, ['person'], rules=['random'], **NO_LIMITS) as capture:
        capture(frame)
        frame.frame.image[:] = 255 - frame.frame.image  # a later consumer scribbles on it
    [(frame_id, _)] = saved_frames(tmp_path)
    [image] = tmp_path.rglob('*.jpg')
    assert frame_id == 7 and read_index(cv2.imread(str(image))) == 7


def test_a_broken_result_is_counted_and_never_raises(tmp_path, caplog):
    with CaptureSink(tmp_path, ['person'], rules=['random'], **NO_LIMITS) as capture:
        capture(object())
        capture(result(0, PERSON_BOX))
    stats = capture.stats()
    assert stats.errors == 1 and stats.saved == 1
    assert any('capture could not look at frame' in r.getMessage() for r in caplog.records)
