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
ByteTrack on sv.Detections, with every input detection kept and ids on exactly the right boxes.

We use supervision 0.30.x's sv.ByteTrack (pinned in requirements: supervision>=0.30,<0.31).
supervision 0.31 removed ByteTrack in favour of Roboflow's `trackers` package, which requires
numpy >= 2, while apt ROS 2 Jazzy ships numpy 1.26; 0.30 works with both.

sv.ByteTrack.update_with_detections returns only the tracked boxes and matches tracks back to
boxes by IoU against the Kalman-smoothed track boxes, which can pick the wrong box when boxes
overlap. Instead we drive update_with_tensors and recover, for every returned track, the exact
measurement (detection box) the Kalman filter was updated with this frame, and find that box
in the input by exact equality (computed the same way, in float32). Detections that no
confirmed track took this frame get tracker_id -1 ("none"); none is ever dropped or reordered.

Speed: sv.ByteTrack does its work per box in Python (a track object per detection, a Kalman
update per matched track through scipy's checking wrappers, a typing cast evaluated in every box
coordinate read). Two of those costs are taken out without changing one bit of the results
(test_tracking.py compares every track's state with a plain sv.ByteTrack's, frame by frame):
its Kalman filters are replaced by _FastKalman (the same numpy/LAPACK operations in the same
order, called directly), and the tracks it keeps across frames are switched to _FastTrack (the
same box arithmetic, without the cast).
"""

from dataclasses import asdict
from typing import Any, Dict, List, Optional
import warnings

import numpy as np
from scipy.linalg import lapack, LinAlgError
import supervision as sv
from supervision.tracker.byte_tracker.kalman_filter import KalmanFilter
from supervision.tracker.byte_tracker.single_object_track import STrack

from stream_infer.columns import columns, NO_TRACK
from stream_infer.options import TrackerOptions, updated


def _dot3(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """np.linalg.multi_dot((a, b, c)) of 2-D arrays: numpy's choice of order, the same bits."""
    a0, a1b0 = a.shape
    b1c0, c1 = c.shape
    if a0 * b1c0 * (a1b0 + c1) < a1b0 * c1 * (a0 + b1c0):
        return np.dot(np.dot(a, b), c)
    return np.dot(a, np.dot(b, c))


class _FastKalman(KalmanFilter):
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


class _FastTrack(STrack):
    """An sv STrack whose box reads skip the typing cast sv evaluates on each (same values)."""

    @property
    def tlwh(self):  # noqa: D102 - STrack's API
        if self.mean is None:
            return self._tlwh.copy()
        ret = self.mean[:4].copy()
        ret[2] *= ret[3]
        ret[:2] -= ret[2:] / 2
        return ret

    @property
    def tlbr(self):  # noqa: D102 - STrack's API
        ret = self.tlwh.copy()
        ret[2:] += ret[:2]
        return ret

    @staticmethod
    def tlwh_to_xyah(tlwh):  # noqa: D102 - STrack's API
        ret = np.asarray(tlwh).copy()
        ret[:2] += ret[2:] / 2
        ret[2] /= ret[3]
        return ret


class _MeasurementLog(_FastKalman):
    """The tracker's Kalman filter, also noting which measurement produced each new state."""

    def __init__(self) -> None:
        super().__init__()
        self.by_state: Dict[int, tuple] = {}

    def initiate(self, measurement):  # noqa: D102 - KalmanFilter's API
        mean, covariance = super().initiate(measurement)
        self.by_state[id(mean)] = (mean, measurement)  # keep mean alive so its id stays unique
        return mean, covariance

    def update(self, mean, covariance, measurement):  # noqa: D102 - KalmanFilter's API
        new_mean, new_covariance = super().update(mean, covariance, measurement)
        self.by_state[id(new_mean)] = (new_mean, measurement)
        return new_mean, new_covariance


def _measurements(xyxy: np.ndarray) -> np.ndarray:
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


class Tracker:
    """
    ByteTrack over sv.Detections: update() returns all input rows, in order, with tracker_id.

    Not thread-safe by itself: the engine calls it from its delivery thread only, and swaps
    in a new Tracker to change parameters or reset.

        >>> import numpy as np, supervision as sv
        >>> tracker = Tracker(minimum_consecutive_frames=1)
        >>> boxes = sv.Detections(xyxy=np.array([[10., 10., 50., 90.]]),
        ...                       confidence=np.array([0.9]))
        >>> [tracker.update(boxes).tracker_id.tolist() for _ in range(2)]
        [[1], [1]]
    """

    def __init__(self, options: Optional[TrackerOptions] = None, **params: Any) -> None:
        self.options = updated(options or TrackerOptions(), **params)
        with warnings.catch_warnings():  # 0.30 announces the move to `trackers` (see top)
            warnings.simplefilter('ignore')
            self._byte_track = sv.ByteTrack(**asdict(self.options))
        self._log = _MeasurementLog()
        self._byte_track.kalman_filter = self._log
        self._byte_track.shared_kalman = _FastKalman()  # runs multi_predict
        self.track_ids_seen: set = set()

    def reset(self) -> None:
        """Forget every track (ids start again at 1)."""
        self._byte_track.reset()
        self._log.by_state.clear()
        self.track_ids_seen = set()

    def update(self, detections: sv.Detections) -> sv.Detections:
        """Return detections (same rows and order) with tracker_id: the track id, or -1."""
        n = len(detections)
        tracker_ids = np.full(n, NO_TRACK, dtype=int)
        xyxy, scores, _, _ = columns(detections)
        self._log.by_state.clear()
        byte_track = self._byte_track
        tracks = byte_track.update_with_tensors(
            np.hstack([xyxy, scores[:, None]]) if n else np.empty((0, 5)))
        if n and tracks:
            self._assign(tracks, xyxy, tracker_ids)
        self._log.by_state.clear()
        for track in byte_track.tracked_tracks + byte_track.lost_tracks:
            track.__class__ = _FastTrack  # same layout, same values: only faster box reads
        out = detections[np.arange(n)] if n else sv.Detections.empty()
        out.tracker_id = tracker_ids
        return out

    def _assign(self, tracks: List[STrack], xyxy: np.ndarray, tracker_ids: np.ndarray) -> None:
        by_state = self._log.by_state
        measured = []
        ids = []
        for track in tracks:
            entry = by_state.get(id(track.mean))
            if entry is not None and entry[0] is track.mean:
                measured.append(entry[1])
                ids.append(track.external_track_id)
        if not measured:
            return
        inputs = _measurements(xyxy)  # (N, 4)
        equal = (inputs[None, :, :] == np.asarray(measured, np.float32)[:, None, :]).all(
            axis=2)  # (T, N)
        rows, cols = np.nonzero(equal)
        if np.array_equal(rows, np.arange(len(ids))) and len(np.unique(cols)) == len(cols):
            # The usual case: each track's box is in the input exactly once.
            tracker_ids[cols] = np.asarray(ids)[rows]
            self.track_ids_seen.update(ids)
            return
        taken = np.zeros(len(xyxy), dtype=bool)
        for row, track_id in enumerate(ids):
            candidates = np.flatnonzero(equal[row] & ~taken)
            if candidates.size:  # identical boxes are interchangeable: take the first free one
                tracker_ids[candidates[0]] = track_id
                taken[candidates[0]] = True
                self.track_ids_seen.add(track_id)
