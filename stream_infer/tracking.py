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
"""

from dataclasses import asdict
from typing import Any, Dict, List, Optional
import warnings

import numpy as np
import supervision as sv
from supervision.tracker.byte_tracker.kalman_filter import KalmanFilter
from supervision.tracker.byte_tracker.single_object_track import STrack

from stream_infer.columns import columns, NO_TRACK
from stream_infer.options import TrackerOptions, updated


class _MeasurementLog(KalmanFilter):
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
        tracks = self._byte_track.update_with_tensors(
            np.hstack([xyxy, scores[:, None]]) if n else np.empty((0, 5)))
        if n and tracks:
            self._assign(tracks, xyxy, tracker_ids)
        self._log.by_state.clear()
        out = detections[np.arange(n)] if n else sv.Detections.empty()
        out.tracker_id = tracker_ids
        return out

    def _assign(self, tracks: List[STrack], xyxy: np.ndarray, tracker_ids: np.ndarray) -> None:
        measured = []
        ids = []
        for track in tracks:
            entry = self._log.by_state.get(id(track.mean))
            if entry is not None and entry[0] is track.mean:
                measured.append(np.asarray(entry[1], dtype=np.float32))
                ids.append(int(track.external_track_id))
        if not measured:
            return
        inputs = _measurements(xyxy)  # (N, 4)
        equal = (inputs[None, :, :] == np.asarray(measured)[:, None, :]).all(axis=2)  # (T, N)
        taken = np.zeros(len(xyxy), dtype=bool)
        for row, track_id in enumerate(ids):
            candidates = np.flatnonzero(equal[row] & ~taken)
            if candidates.size:  # identical boxes are interchangeable: take the first free one
                tracker_ids[candidates[0]] = track_id
                taken[candidates[0]] = True
                self.track_ids_seen.add(track_id)
