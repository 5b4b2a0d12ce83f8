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
supervision 0.30's ByteTrack, step for step, with the detections kept as arrays.

sv.ByteTrack.update_with_tensors makes a Python track object for every detection of every
frame and reads each box through properties that copy arrays and evaluate a typing cast; on
a busy frame that was most of the engine's tracking cost. ByteTrackCore runs the same
algorithm (two association rounds, unconfirmed tracks, lost-track buffer, duplicate removal,
id counters) with the same arithmetic, in the same order, so every track's state is the same
to the last bit (test_tracking.py compares both frame by frame): box coordinates for the IoU
matrices are computed for all tracks or detections at once with the same element-wise
operations; IoU (sv.box_iou_batch), the assignment (sv's linear_assignment) and the Kalman
filter's initiate come from supervision itself; the Kalman update and prediction are
FastKalman below (the same numpy/LAPACK operations, called without scipy's wrappers; the
update stays one call per matched track, as batching it would change the last bits). Only a
detection that starts a track becomes an object. update() also says which detection row each
output track was updated with, so ids land on exactly the right boxes.
"""

from typing import List, Optional, Sequence, Tuple

import numpy as np
from scipy.linalg import lapack, LinAlgError
import supervision as sv
from supervision.tracker.byte_tracker.kalman_filter import KalmanFilter
from supervision.tracker.byte_tracker.matching import linear_assignment
from supervision.tracker.byte_tracker.single_object_track import TrackState

NO_DETECTION = -1


def _dot3(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """np.linalg.multi_dot((a, b, c)) of 2-D arrays: numpy's choice of order, the same bits."""
    a0, a1b0 = a.shape
    b1c0, c1 = c.shape
    if a0 * b1c0 * (a1b0 + c1) < a1b0 * c1 * (a0 + b1c0):
        return np.dot(np.dot(a, b), c)
    return np.dot(a, np.dot(b, c))


class FastKalman(KalmanFilter):
    """
    supervision 0.30's KalmanFilter with the same arithmetic and less overhead per call.

    update(): scipy's cho_factor/cho_solve are LAPACK potrf/potrs behind argument checks and
    batching wrappers; they are called directly here (lower triangle, as sv asks). multi_dot of
    three matrices is numpy's own order choice, spelled out. multi_predict() builds the
    per-track diagonal noise matrices in one assignment instead of one np.diag per track.
    """

    def __init__(self) -> None:
        super().__init__()
        self._update_t = self._update_mat.T
        self._motion_t = self._motion_mat.T
        self._diagonal = np.arange(8)

    def project(self, mean, covariance):  # noqa: D102 - KalmanFilter's API
        weight = self._std_weight_position
        std = [weight * mean[3], weight * mean[3], 1e-1, weight * mean[3]]
        innovation_cov = np.diag(np.square(std))
        mean = np.dot(self._update_mat, mean)
        covariance = _dot3(self._update_mat, covariance, self._update_t)
        return mean, covariance + innovation_cov

    def update(self, mean, covariance, measurement):  # noqa: D102 - KalmanFilter's API
        projected_mean, projected_cov = self.project(mean, covariance)
        factor, info = lapack.dpotrf(projected_cov, lower=True, clean=False)
        if info != 0:
            raise LinAlgError(f'{info}-th leading minor of the projected covariance is not '
                              'positive definite')
        gain, info = lapack.dpotrs(factor, np.dot(covariance, self._update_t).T, lower=True)
        kalman_gain = gain.T
        innovation = measurement - projected_mean
        new_mean = mean + np.dot(innovation, kalman_gain.T)
        new_covariance = covariance - _dot3(kalman_gain, projected_cov, kalman_gain.T)
        return new_mean, new_covariance

    def multi_predict(self, mean, covariance):  # noqa: D102 - KalmanFilter's API
        pos, vel, height = self._std_weight_position, self._std_weight_velocity, mean[:, 3]
        std_pos = [pos * height, pos * height, 1e-2 * np.ones_like(height), pos * height]
        std_vel = [vel * height, vel * height, 1e-5 * np.ones_like(height), vel * height]
        motion_cov = np.zeros((len(mean), 8, 8))
        motion_cov[:, self._diagonal, self._diagonal] = np.square(np.r_[std_pos, std_vel]).T
        mean = np.dot(mean, self._motion_t)
        left = np.dot(self._motion_mat, covariance).transpose((1, 0, 2))
        return mean, np.dot(left, self._motion_t) + motion_cov


def measurements(xyxy: np.ndarray) -> np.ndarray:
    """
    Return the xyah measurement ByteTrack derives from each box, bit for bit.

    Mirrors STrack.tlbr_to_tlwh (float64), the float32 cast in STrack.__init__ and
    STrack.tlwh_to_xyah, vectorised (the same IEEE operations, so the same bits).
    """
    tlwh = np.array(xyxy, dtype=np.float64)
    tlwh[:, 2:] -= tlwh[:, :2]
    xyah = tlwh.astype(np.float32)
    with np.errstate(divide='ignore', invalid='ignore'):  # degenerate boxes: never matched
        xyah[:, :2] += xyah[:, 2:] / 2
        xyah[:, 2] /= xyah[:, 3]
    return xyah


def _tlbr_of_means(means: List[np.ndarray]) -> np.ndarray:
    """STrack.tlbr of tracks with a Kalman state: float32 (N, 4), each in its mean's dtype."""
    out = np.empty((len(means), 4), np.float32)
    for dtype in {m.dtype for m in means}:  # new tracks' means are float32, the rest float64
        rows = [i for i, m in enumerate(means) if m.dtype == dtype]
        ret = np.asarray([means[i][:4] for i in rows])  # a copy, in that dtype
        ret[:, 2] *= ret[:, 3]
        ret[:, :2] -= ret[:, 2:] / 2
        ret[:, 2:] += ret[:, :2]
        out[rows] = ret
    return out


def _iou_cost(tlbr_a: np.ndarray, tlbr_b: np.ndarray) -> np.ndarray:
    """Return 1 - IoU of two box arrays in float32, as sv matching.iou_distance."""
    if len(tlbr_a) == 0 or len(tlbr_b) == 0:
        return np.empty((len(tlbr_a), len(tlbr_b)), dtype=np.float32)
    return np.asarray(1 - sv.box_iou_batch(tlbr_a, tlbr_b), dtype=np.float32)


def _fuse_score(cost: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Fuse IoU cost and detection scores, as sv matching.fuse_score."""
    if cost.size == 0:
        return cost
    det_scores = np.expand_dims(np.asarray(scores, dtype=np.float32), axis=0).repeat(
        cost.shape[0], axis=0)
    return np.asarray(1 - (1 - cost) * det_scores, dtype=np.float32)


class Track:
    """One ByteTrack track (sv's STrack fields that the algorithm uses)."""

    __slots__ = ('internal_track_id', 'external_track_id', 'state', 'is_activated',
                 'tracklet_len', 'frame_id', 'start_frame', 'score', 'mean', 'covariance',
                 'detection')

    def __init__(self, score: float) -> None:
        self.internal_track_id = NO_DETECTION
        self.external_track_id = NO_DETECTION
        self.state = TrackState.New
        self.is_activated = False
        self.tracklet_len = 0
        self.frame_id = 0
        self.start_frame = 0
        self.score = score
        self.mean: Optional[np.ndarray] = None
        self.covariance: Optional[np.ndarray] = None
        self.detection = NO_DETECTION  # the input row that last updated this track


class _Detections:
    """One frame's detections of one association round, as arrays (sv makes STracks)."""

    def __init__(self, tlbr: np.ndarray, scores: np.ndarray, rows: np.ndarray) -> None:
        tlwh = np.array(tlbr)  # STrack.tlbr_to_tlwh, then the float32 cast of STrack()
        tlwh[:, 2:] -= tlwh[:, :2]
        tlwh = tlwh.astype(np.float32)
        self.tlbr = tlwh.copy()  # STrack.tlbr of a track without a Kalman state
        self.tlbr[:, 2:] += self.tlbr[:, :2]
        self.xyah = measurements(tlbr)
        self.scores = scores
        self.rows = rows

    def take(self, index: Sequence[int]) -> '_Detections':
        """Return the detections at index, in that order."""
        subset = _Detections.__new__(_Detections)
        index = np.asarray(index, dtype=int)
        for name in ('tlbr', 'xyah', 'scores', 'rows'):
            setattr(subset, name, getattr(self, name)[index])
        return subset


class ByteTrackCore:
    """
    supervision 0.30's ByteTrack over arrays (same constructor arguments, same results).

    update(tensors) takes rows of x1, y1, x2, y2, score and returns the confirmed tracks;
    each track's `detection` is the row of tensors it was updated with in this frame.
    """

    def __init__(self, track_activation_threshold: float = 0.25, lost_track_buffer: int = 30,
                 minimum_matching_threshold: float = 0.8, frame_rate: float = 30,
                 minimum_consecutive_frames: int = 1) -> None:
        self.track_activation_threshold = track_activation_threshold
        self.minimum_matching_threshold = minimum_matching_threshold
        self.det_thresh = track_activation_threshold + 0.1
        if self.det_thresh > 1.0:
            self.det_thresh = track_activation_threshold
        self.max_time_lost = int(frame_rate / 30.0 * lost_track_buffer)
        self.minimum_consecutive_frames = minimum_consecutive_frames
        self.kalman_filter = FastKalman()
        self.reset()

    def reset(self) -> None:
        """Forget every track; ids start again (internal at 0, external at 1, as sv)."""
        self.frame_id = 0
        self._next_internal = 0
        self._next_external = 1
        self.tracked_tracks: List[Track] = []
        self.lost_tracks: List[Track] = []
        self.removed_tracks: List[Track] = []

    @property
    def ids_given(self) -> int:
        """How many external ids were given since the start or reset (they are 1..this)."""
        return self._next_external - 1

    # -- one frame ----------------------------------------------------------------------------

    def update(self, tensors: np.ndarray) -> List[Track]:
        """Advance one frame with these detections; return the confirmed tracks (sv's order)."""
        self.frame_id += 1
        frame = self.frame_id
        bboxes = tensors[:, :4]
        valid = (np.isfinite(tensors).all(axis=1) & (bboxes[:, 2] - bboxes[:, 0] > 0)
                 & (bboxes[:, 3] - bboxes[:, 1] > 0))
        rows = np.flatnonzero(valid)
        tensors = tensors[valid]
        scores, bboxes = tensors[:, 4], tensors[:, :4]
        high = scores >= self.track_activation_threshold
        second = (scores > 0.1) & (scores < self.track_activation_threshold)
        detections = _Detections(bboxes[high], scores[high], rows[high])

        activated, refind, lost, removed = [], [], [], []
        unconfirmed = [t for t in self.tracked_tracks if not t.is_activated]
        confirmed = [t for t in self.tracked_tracks if t.is_activated]
        pool = _joint(confirmed, self.lost_tracks)
        self._predict(pool)
        pool_tlbr = self._tlbr(pool)

        cost = _fuse_score(_iou_cost(pool_tlbr, detections.tlbr), detections.scores)
        matches, u_track, u_detection = linear_assignment(
            cost, thresh=self.minimum_matching_threshold)
        for itracked, idet in matches:
            track = pool[itracked]
            was_tracked = track.state == TrackState.Tracked  # else lost: re-activated
            self._update(track, detections, idet, keep_length=was_tracked)
            (activated if was_tracked else refind).append(track)

        remaining = [i for i in u_track if pool[i].state == TrackState.Tracked]
        weak = _Detections(bboxes[second], scores[second], rows[second])
        cost = _iou_cost(pool_tlbr[remaining] if remaining else np.empty((0, 4), np.float32),
                         weak.tlbr)
        matches, u_remaining, _ = linear_assignment(cost, thresh=0.5)
        for itracked, idet in matches:  # these are all tracked (not lost) tracks
            track = pool[remaining[itracked]]
            self._update(track, weak, idet, keep_length=True)
            activated.append(track)
        for index in u_remaining:
            track = pool[remaining[index]]
            if track.state != TrackState.Lost:
                track.state = TrackState.Lost
                lost.append(track)

        left = detections.take(u_detection)
        cost = _fuse_score(_iou_cost(self._tlbr(unconfirmed), left.tlbr), left.scores)
        matches, u_unconfirmed, u_new = linear_assignment(cost, thresh=0.7)
        for itracked, idet in matches:
            self._update(unconfirmed[itracked], left, idet, keep_length=True)
            activated.append(unconfirmed[itracked])
        for index in u_unconfirmed:
            unconfirmed[index].state = TrackState.Removed
            removed.append(unconfirmed[index])

        for index in u_new:
            if left.scores[index] < self.det_thresh:
                continue
            activated.append(self._activate(left, index))
        for track in self.lost_tracks:
            if frame - track.frame_id > self.max_time_lost:
                track.state = TrackState.Removed
                removed.append(track)

        tracked = [t for t in self.tracked_tracks if t.state == TrackState.Tracked]
        tracked = _joint(_joint(tracked, activated), refind)
        lost_tracks = _sub(self.lost_tracks, tracked)
        lost_tracks.extend(lost)
        # As sv: the tracks removed in the previous frame leave the lost list now, so a track
        # removed in this frame stays there (state Removed) for one more frame.
        self.lost_tracks = _sub(lost_tracks, self.removed_tracks)
        self.removed_tracks = removed
        self.tracked_tracks, self.lost_tracks = self._remove_duplicates(tracked, self.lost_tracks)
        return [t for t in self.tracked_tracks if t.is_activated]

    # -- the steps ----------------------------------------------------------------------------

    def _predict(self, tracks: List[Track]) -> None:
        """STrack.multi_predict: one Kalman prediction for all of them."""
        if not tracks:
            return
        means = np.asarray([t.mean for t in tracks])  # a copy, as sv's mean.copy() per track
        lost = np.fromiter((t.state != TrackState.Tracked for t in tracks), bool, len(tracks))
        means[lost, 7] = 0
        mean, covariance = self.kalman_filter.multi_predict(
            means, np.asarray([t.covariance for t in tracks]))
        for track, m, c in zip(tracks, mean, covariance):
            track.mean, track.covariance = m, c

    @staticmethod
    def _tlbr(tracks: List[Track]) -> np.ndarray:
        return _tlbr_of_means([t.mean for t in tracks])

    def _update(self, track: Track, detections: _Detections, index: int,
                keep_length: bool) -> None:
        """STrack.update (a tracked track) or STrack.re_activate (a lost one)."""
        track.mean, track.covariance = self.kalman_filter.update(
            track.mean, track.covariance, detections.xyah[index])
        track.frame_id = self.frame_id
        track.score = detections.scores[index]
        track.detection = int(detections.rows[index])
        track.state = TrackState.Tracked
        if not keep_length:  # re_activate
            track.tracklet_len = 0
            return
        track.tracklet_len += 1
        if track.tracklet_len >= self.minimum_consecutive_frames:
            track.is_activated = True
            if track.external_track_id == NO_DETECTION:
                track.external_track_id = self._next_external
                self._next_external += 1

    def _activate(self, detections: _Detections, index: int) -> Track:
        """STrack.activate: a new track from an unmatched detection."""
        track = Track(detections.scores[index])
        track.internal_track_id = self._next_internal
        self._next_internal += 1
        track.mean, track.covariance = self.kalman_filter.initiate(detections.xyah[index])
        track.tracklet_len = 1
        track.state = TrackState.Tracked
        if self.frame_id == 1 and track.tracklet_len >= self.minimum_consecutive_frames:
            track.is_activated = True
            track.external_track_id = self._next_external
            self._next_external += 1
        track.frame_id = track.start_frame = self.frame_id
        track.detection = int(detections.rows[index])
        return track

    def _remove_duplicates(self, tracks_a: List[Track],
                           tracks_b: List[Track]) -> Tuple[List[Track], List[Track]]:
        """Drop the younger of two tracks on one box, as sv's remove_duplicate_tracks."""
        distance = _iou_cost(self._tlbr(tracks_a), self._tlbr(tracks_b))
        duplicates_a, duplicates_b = set(), set()
        for index_a, index_b in zip(*np.where(distance < 0.05)):
            age_a = tracks_a[index_a].frame_id - tracks_a[index_a].start_frame
            age_b = tracks_b[index_b].frame_id - tracks_b[index_b].start_frame
            if age_a > age_b:
                duplicates_b.add(index_b)
            else:
                duplicates_a.add(index_a)
        return ([t for i, t in enumerate(tracks_a) if i not in duplicates_a],
                [t for i, t in enumerate(tracks_b) if i not in duplicates_b])


def _joint(tracks_a: List[Track], tracks_b: List[Track]) -> List[Track]:
    """Join a and b without repeating an internal id, in order (sv's joint_tracks)."""
    seen, result = set(), []
    for track in tracks_a + tracks_b:
        if track.internal_track_id not in seen:
            seen.add(track.internal_track_id)
            result.append(track)
    return result


def _sub(tracks_a: List[Track], tracks_b: List[Track]) -> List[Track]:
    """Return a without the internal ids of b, in a's order (sv's sub_tracks)."""
    tracks = {track.internal_track_id: track for track in tracks_a}
    for track in tracks_b:
        tracks.pop(track.internal_track_id, None)
    return list(tracks.values())


__all__ = ['ByteTrackCore', 'FastKalman', 'Track', 'measurements']
