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


"""After a tracker reset ids restart at 1: traces and the capture rules' track memory follow."""

from helpers.frame_codes import stamp_index
import numpy as np
import supervision as sv

from stream_infer.annotate import FrameAnnotator
from stream_infer.capture.rule_set import RuleSet
from stream_infer.capture.rules import FrameView
from stream_infer.stream import InferenceStream
from stream_infer.tracking import Tracker


def view(ids):
    n = len(ids)
    return FrameView(np.tile([0., 0., 10., 10.], (n, 1)), np.ones(n), np.zeros(n, int),
                     np.array(ids, int), np.array(['person'] * n), 0.3)


def test_a_new_tracker_or_a_reset_starts_a_new_epoch_and_counts_tracks_not_ids():
    tracker = Tracker()
    box = sv.Detections(xyxy=np.array([[10., 10., 50., 90.]]), confidence=np.array([0.9]))
    for x in range(0, 500, 50):  # ten objects one after the other, each its own track
        for _ in range(3):
            tracker.update(sv.Detections(xyxy=np.array([[x, 0., x + 20., 20.]]),
                                         confidence=np.array([0.9])))
        for _ in range(40):  # long enough for the track to be dropped
            tracker.update(sv.Detections.empty())
    assert tracker.tracks_seen == 10
    assert not any(isinstance(v, (set, list, dict)) for v in vars(tracker).values())
    first = tracker.epoch
    tracker.reset()
    assert tracker.epoch != first and tracker.tracks_seen == 0
    assert tracker.update(box).tracker_id.tolist() == [1]


def test_capture_track_rules_forget_the_old_ids_when_the_epoch_changes():
    rules = RuleSet(['new_track', 'flicker:max_gap=5'])
    assert rules.evaluate(view([1]), 'cam', track_epoch=1) == ['new_track']
    assert rules.evaluate(view([1]), 'cam', track_epoch=1) == []
    assert rules.evaluate(view([]), 'cam', track_epoch=1) == []
    # the tracker restarted: the new track 1 is a new object, not the old 1 coming back
    assert rules.evaluate(view([1]), 'cam', track_epoch=2) == ['new_track']
    # the same frames without an epoch change: the old memory reports flicker, no new track
    same = RuleSet(['new_track', 'flicker:max_gap=5'])
    for ids in ([1], [1], []):
        same.evaluate(view(ids), 'cam', track_epoch=1)
    assert same.evaluate(view([1]), 'cam', track_epoch=1) == ['flicker']
    # another source's memory is untouched by one source's epoch
    assert rules.evaluate(view([1]), 'other', track_epoch=7) == ['new_track']
    assert rules.evaluate(view([1]), 'cam', track_epoch=2) == []


def tracked(x):
    return sv.Detections(xyxy=np.array([[x, 20., x + 10., 30.]]), class_id=np.array([0]),
                         tracker_id=np.array([1]))


def test_the_annotator_drops_old_traces_when_the_epoch_changes():
    def left_half_after(epochs):
        annotator = FrameAnnotator(labels=False, trace_length=50)
        blank = np.zeros((64, 128, 3), np.uint8)
        for x in range(0, 40, 4):  # track 1 moves along the left half: a trace
            annotator.annotate(blank, tracked(x), track_epoch=epochs[0])
        drawn = annotator.annotate(blank, tracked(100), track_epoch=epochs[1])
        return int(drawn[:, :60].any(axis=2).sum())
    assert left_half_after((1, 1)) > 0, 'same epoch: the trace joins the old points'
    assert left_half_after((1, 2)) == 0, 'new epoch: no line back to the old track 1'


def test_results_carry_the_epoch_and_a_tracking_change_renews_it():
    stream = InferenceStream((stamp_index(i) for i in range(40)),
                             model=lambda frame: np.array([[2., 2., 22., 30., 0.9, 0]]))
    results = []

    def on_result(result):
        results.append(result)
        if len(results) == 20:
            stream.set_tracking(True, lost_track_buffer=10)  # a new tracker: ids from 1 again
    stream.on_result(on_result)
    stream.run()
    epochs = [r.track_epoch for r in results]
    assert len(results) == 40 and epochs[0] > 0 and len(set(epochs)) == 2, epochs
    switch = epochs.index(epochs[-1])
    assert 20 <= switch <= 22  # applied from the next frame the delivery thread tracks
    assert {int(t) for r in results for t in r.detections.tracker_id} == {1}
