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
ByteTrack wrapper: every detection reported, ids on exactly the right boxes.

Synthetic objects with known identities (data['object']) move across frames; the input order is
shuffled every frame, some boxes are too weak for the tracker, some are degenerate, and new
objects need several frames before their track is confirmed.
"""

import numpy as np
import pytest
import supervision as sv

from stream_infer.bytetrack import measurements as _measurements
from stream_infer.options import TrackerOptions
from stream_infer.tracking import NO_TRACK, Tracker


def scene(frame: int, objects, rng, extra=()) -> sv.Detections:
    """Boxes of the objects visible at frame, in random order; extra rows appended raw."""
    rows, ids, scores = [], [], []
    for obj, (x0, y0, vx, vy, start, end) in objects.items():
        if start <= frame < end:
            x, y = x0 + vx * frame, y0 + vy * frame
            rows.append([x, y, x + 40, y + 80])
            ids.append(obj)
            scores.append(0.9)
    for obj, box, score in extra:
        rows.append(box)
        ids.append(obj)
        scores.append(score)
    order = rng.permutation(len(rows))
    return sv.Detections(
        xyxy=np.asarray(rows, dtype=np.float32).reshape(-1, 4)[order],
        confidence=np.asarray(scores, dtype=np.float32)[order],
        class_id=np.zeros(len(rows), dtype=int),
        data={'object': np.asarray(ids, dtype=int)[order]})


OBJECTS = {  # object: x0, y0, vx, vy, first frame, end frame
    1: (10.0, 10.0, 4.0, 0.0, 0, 60),
    2: (400.0, 10.0, -3.0, 1.0, 0, 60),
    3: (10.0, 300.0, 2.0, -1.5, 0, 60),
    4: (200.0, 200.0, 0.0, 3.0, 20, 60),  # appears later
    5: (600.0, 400.0, -2.0, 0.0, 0, 25),  # leaves early
}


def check_identities(history):
    """Ids are one-to-one with objects and never move to another object."""
    id_of, obj_of = {}, {}
    for dets in history:
        for obj, track in zip(dets.data['object'].tolist(), dets.tracker_id.tolist()):
            if track == NO_TRACK:
                continue
            assert id_of.setdefault(obj, track) == track, f'object {obj} changed id'
            assert obj_of.setdefault(track, obj) == obj, f'id {track} moved to object {obj}'
    return id_of


def test_ids_follow_objects_through_shuffled_input_and_all_rows_are_kept():
    rng = np.random.default_rng(1)
    tracker = Tracker()
    history = []
    for frame in range(60):
        dets = scene(frame, OBJECTS, rng)
        out = tracker.update(dets)
        assert len(out) == len(dets), 'every detection must be reported'
        np.testing.assert_array_equal(out.xyxy, dets.xyxy)  # same rows, same order
        np.testing.assert_array_equal(out.data['object'], dets.data['object'])
        history.append(out)
    id_of = check_identities(history)
    assert set(id_of) == set(OBJECTS), 'every object got a track'
    assert len(set(id_of.values())) == len(OBJECTS)
    assert set(id_of.values()) == set(range(1, tracker.tracks_seen + 1))  # a count, ids 1..n
    for out in history[1:]:  # after the first frame every visible object is tracked...
        late = out.data['object'] == 4
        assert (out.tracker_id[~late] != NO_TRACK).all()


def test_weak_and_degenerate_boxes_are_reported_untracked_and_never_take_an_id():
    rng = np.random.default_rng(2)
    tracker = Tracker(track_activation_threshold=0.5)
    history = []
    for frame in range(30):
        extra = [
            (101, [700.0, 50.0, 760.0, 120.0], 0.05),  # below ByteTrack's floor: ignored
            (102, [700.0 - frame, 300.0, 760.0 - frame, 380.0], 0.3),  # too weak to start
            (103, [50.0, 500.0, 50.0, 560.0], 0.9),  # zero width: invalid for the tracker
        ]
        dets = scene(frame, OBJECTS, rng, extra)
        out = tracker.update(dets)
        assert len(out) == len(dets)
        weak = np.isin(out.data['object'], [101, 102, 103])
        assert (out.tracker_id[weak] == NO_TRACK).all()
        history.append(out)
    check_identities(history)


def test_unconfirmed_tracks_carry_no_id_until_confirmed():
    rng = np.random.default_rng(3)
    tracker = Tracker(minimum_consecutive_frames=3)
    history = []
    for frame in range(40):
        out = tracker.update(scene(frame, OBJECTS, rng))
        history.append(out)
        objects = out.data['object']
        first = objects != 4
        if frame < 2:
            assert (out.tracker_id == NO_TRACK).all(), f'frame {frame}: confirmed too early'
        elif frame >= 3:
            assert (out.tracker_id[first] != NO_TRACK).all()
        if 20 <= frame < 22:  # object 4 appeared at frame 20: not confirmed yet
            assert (out.tracker_id[objects == 4] == NO_TRACK).all()
    check_identities(history)
    assert 4 in check_identities(history)


def test_overlapping_neighbours_keep_their_own_ids():
    """Two boxes overlapping heavily, moving together: the ids must not swap."""
    objects = {1: (100.0, 100.0, 3.0, 0.0, 0, 50), 2: (112.0, 104.0, 3.0, 0.2, 0, 50)}
    rng = np.random.default_rng(4)
    tracker = Tracker()
    history = [tracker.update(scene(frame, objects, rng)) for frame in range(50)]
    id_of = check_identities(history)
    assert len(id_of) == 2


def test_duplicate_boxes_each_get_at_most_one_id_and_empty_input():
    tracker = Tracker()
    box = [[10.0, 10.0, 50.0, 90.0]]
    for _ in range(3):
        dets = sv.Detections(xyxy=np.array(box * 2, dtype=np.float32),
                             confidence=np.array([0.9, 0.9], dtype=np.float32),
                             class_id=np.array([0, 1]))
        out = tracker.update(dets)
        assert len(out) == 2
        tracked = out.tracker_id[out.tracker_id != NO_TRACK]
        assert len(tracked) == len(set(tracked.tolist()))
    empty = tracker.update(sv.Detections.empty())
    assert len(empty) == 0 and empty.tracker_id.shape == (0,)
    no_scores = tracker.update(sv.Detections(xyxy=np.array(box, dtype=np.float32)))
    assert len(no_scores) == 1


def test_reset_and_options():
    rng = np.random.default_rng(5)
    tracker = Tracker(TrackerOptions(lost_track_buffer=5), frame_rate=10)
    assert tracker.options.lost_track_buffer == 5 and tracker.options.frame_rate == 10
    for frame in range(3):
        tracker.update(scene(frame, OBJECTS, rng))
    epoch, seen = tracker.epoch, tracker.tracks_seen
    tracker.reset()
    assert seen > 0 and tracker.tracks_seen == 0
    assert tracker.epoch != epoch and Tracker().epoch not in (epoch, tracker.epoch)
    out = tracker.update(scene(0, OBJECTS, rng))
    assert sorted(out.tracker_id.tolist()) == [1, 2, 3, 4][:len(out)], 'ids restart at 1'
    with pytest.raises(ValueError, match='unknown tracker option.*accepted'):
        Tracker(activation=0.3)
    for bad in ({'track_activation_threshold': 1.5}, {'lost_track_buffer': 0},
                {'minimum_consecutive_frames': 1.5}, {'frame_rate': 0}):
        with pytest.raises(ValueError):
            TrackerOptions(**bad)


def test_measurements_match_bytetrack_bit_for_bit():
    from supervision.tracker.byte_tracker.single_object_track import STrack
    rng = np.random.default_rng(6)
    xy = rng.uniform(0, 2000, (500, 2))
    xyxy = np.hstack([xy, xy + rng.uniform(0.5, 300, (500, 2))])
    reference = np.asarray([STrack.tlwh_to_xyah(
        np.asarray(STrack.tlbr_to_tlwh(box), dtype=np.float32)) for box in xyxy])
    assert np.array_equal(_measurements(xyxy), reference)


def busy_scene(frames: int, seed: int):
    """Noisy boxes of objects that come, go, hide for a while and cross; weak and spurious ones."""
    rng = np.random.default_rng(seed)
    count = 14
    start = rng.integers(0, frames // 2, count)
    end = start + rng.integers(10, frames, count)
    pos = rng.uniform(0, 600, (count, 2))
    vel = rng.normal(0, 4, (count, 2))
    size = rng.uniform(20, 120, (count, 2))
    gaps = zip(rng.integers(0, frames, count), rng.integers(0, 12, count))
    hidden = [set(range(s, s + g)) for s, g in gaps]
    for frame in range(frames):
        rows, scores = [], []
        for k in range(count):
            if start[k] <= frame < end[k] and frame not in hidden[k]:
                xy = pos[k] + vel[k] * frame + rng.normal(0, 2, 2)
                rows.append([*xy, *(xy + size[k] * rng.uniform(0.95, 1.05, 2))])
                scores.append(rng.uniform(0.15, 0.95))
        for _ in range(rng.integers(0, 3)):  # clutter
            xy = rng.uniform(0, 700, 2)
            rows.append([*xy, *(xy + rng.uniform(5, 60, 2))])
            scores.append(rng.uniform(0.05, 0.6))
        if rows and frame % 7 == 3:  # a duplicate box and a zero-width one
            rows += [list(rows[0]), [rows[-1][0], rows[-1][1], rows[-1][0], rows[-1][3]]]
            scores += [scores[0], 0.9]
        yield np.asarray(rows, np.float32).reshape(-1, 4), np.asarray(scores, np.float32)


def track_states(byte_track):
    return [(t.internal_track_id, t.external_track_id, t.state, t.is_activated, t.tracklet_len,
             t.frame_id, t.mean.tobytes(), t.covariance.tobytes())
            for t in byte_track.tracked_tracks + byte_track.lost_tracks]


@pytest.mark.parametrize('seed', [7, 8, 9])
@pytest.mark.parametrize('options', [TrackerOptions(), TrackerOptions(
    minimum_consecutive_frames=3, lost_track_buffer=8, track_activation_threshold=0.4,
    frame_rate=15)])
def test_tracks_are_bit_identical_to_plain_supervision_bytetrack(options, seed):
    """The speed-ups change no state: every track, every frame, to the last bit."""
    import warnings
    from dataclasses import asdict
    tracker = Tracker(options)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        reference = sv.ByteTrack(**asdict(options))
    reference_ids, ours_ids = [], []
    for xyxy, scores in busy_scene(300, seed=seed):
        dets = sv.Detections(xyxy=xyxy, confidence=scores)
        ours = tracker.update(dets)
        tensors = np.hstack([xyxy.astype(np.float64), scores.astype(np.float64)[:, None]])
        tracks = reference.update_with_tensors(tensors)
        assert track_states(tracker._byte_track) == track_states(reference)
        reference_ids.append(sorted(t.external_track_id for t in tracks))
        ours_ids.append(sorted(ours.tracker_id[ours.tracker_id != NO_TRACK].tolist()))
    assert ours_ids == reference_ids
    assert max(max(ids, default=0) for ids in ours_ids) > 14, 'tracks were lost and made again'
