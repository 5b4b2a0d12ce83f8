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

The algorithm is supervision 0.30.x's sv.ByteTrack (pinned in requirements:
supervision>=0.30,<0.31; 0.31 removed it in favour of Roboflow's `trackers` package, which
requires numpy >= 2, while apt ROS 2 Jazzy ships numpy 1.26), run by bytetrack.ByteTrackCore:
the same steps and arithmetic with the detections kept as arrays, several times cheaper per
box; test_tracking.py checks it against a plain sv.ByteTrack, track state by track state.

sv.ByteTrack.update_with_detections returns only the tracked boxes and matches tracks back to
boxes by IoU against the Kalman-smoothed track boxes, which can pick the wrong box when boxes
overlap. Here each output track says which input row it was updated with this frame, so the id
goes on exactly that detection. Detections that no confirmed track took this frame get
tracker_id -1 ("none"); none is ever dropped or reordered.
"""

from dataclasses import asdict, replace
import itertools
from typing import Any, Optional

import numpy as np
import supervision as sv

from stream_infer.bytetrack import ByteTrackCore
from stream_infer.columns import columns, NO_TRACK
from stream_infer.options import TrackerOptions, updated

_EPOCHS = itertools.count(1)  # 0 = no tracker; every Tracker and every reset gets a new one


class Tracker:
    """
    ByteTrack over sv.Detections: update() returns all input rows, in order, with tracker_id.

    Not thread-safe by itself: the engine calls it from its delivery thread only, and swaps
    in a new Tracker to change parameters or reset.

    epoch names the id numbering in force: a new Tracker or a reset() starts ids again at 1
    with a new epoch, so whoever keeps state per track id (the annotator's traces, the capture
    rules' track memory) sees the change on StreamResult.track_epoch and forgets the old ids.
    tracks_seen counts the confirmed tracks (a count, not a set: constant memory however long
    a busy camera runs).

        >>> import numpy as np, supervision as sv
        >>> tracker = Tracker(minimum_consecutive_frames=1)
        >>> boxes = sv.Detections(xyxy=np.array([[10., 10., 50., 90.]]),
        ...                       confidence=np.array([0.9]))
        >>> [tracker.update(boxes).tracker_id.tolist() for _ in range(2)]
        [[1], [1]]
    """

    def __init__(self, options: Optional[TrackerOptions] = None, **params: Any) -> None:
        self.options = updated(options or TrackerOptions(), **params)
        self._byte_track = ByteTrackCore(**asdict(self.options))
        self.epoch = next(_EPOCHS)

    @property
    def tracks_seen(self) -> int:
        """How many confirmed tracks since the start or reset (their ids are 1..this)."""
        return self._byte_track.ids_given

    def reset(self) -> None:
        """Forget every track (ids start again at 1, under a new epoch)."""
        self._byte_track.reset()
        self.epoch = next(_EPOCHS)

    def update(self, detections: sv.Detections) -> sv.Detections:
        """Return detections (same rows and order) with tracker_id: the track id, or -1."""
        n = len(detections)
        tracker_ids = np.full(n, NO_TRACK, dtype=int)
        xyxy, scores, _, _ = columns(detections)
        tracks = self._byte_track.update(
            np.hstack([xyxy, scores[:, None]]) if n else np.empty((0, 5)))
        if tracks:
            ids = [t.external_track_id for t in tracks]
            tracker_ids[[t.detection for t in tracks]] = ids
        if not n:
            out = sv.Detections.empty()
            out.tracker_id = tracker_ids
            return out
        # A new Detections sharing the arrays: indexing would copy instance masks, N x H x W
        # bytes (1 s for 100 masks of a 1080p frame), to change nothing in them.
        return replace(detections, tracker_id=tracker_ids, data=dict(detections.data),
                       metadata=dict(detections.metadata))


__all__ = ['NO_TRACK', 'Tracker']
