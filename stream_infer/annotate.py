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
Drawing detections with supervision's annotators: boxes, labels (class, score, track id), traces.

Instance masks (segmentation models) are drawn translucent in the class colour, oriented boxes
(OBB models, data['xyxyxyxy']) as their rotated outline instead of the axis-aligned box.

Used by the CLI (--output) and the ROS node (`annotated` topic). annotate() never draws on the
frame it is given (frames are shared between consumers): it returns a new image.
"""

from dataclasses import replace
import threading
from typing import List, Optional, Sequence

import numpy as np
import supervision as sv

from stream_infer.columns import class_names_of, columns
from stream_infer.depth.estimate import CENTRE_KEY


def labels_for(detections: sv.Detections, names: Optional[Sequence[str]] = None) -> List[str]:
    """
    Return one label per detection: 'class score #track' (no '#' part when untracked).

    Detections with a 3D position (frames that came with depth) add their distance from the
    camera: 'person 0.91 #3 1.80 m'.
    """
    if len(detections) == 0:
        return []
    cols = columns(detections)
    scores, tracks = cols.confidence.tolist(), cols.tracker_id.tolist()
    centres = detections.data.get(CENTRE_KEY)
    distances = [''] * len(detections) if centres is None else [
        f' {d:.2f} m' if d == d else '' for d in np.linalg.norm(centres, axis=1).tolist()]
    return [f'{name} {score:.2f}' + (f' #{track}' if track >= 0 else '') + distance
            for name, score, track, distance in zip(
                class_names_of(detections, names), scores, tracks, distances)]


class FrameAnnotator:
    """
    Boxes (or oriented boxes) and masks coloured by class, labels, and track traces.

    Labels carry class, score and track id.

    traces keep the last trace_length centre points of each track (state across frames: call
    reset() when the stream restarts, or pass each result's track_epoch: when it changes the
    tracker started its ids again at 1 and the old traces are forgotten, so a new track 1 is
    not joined to the old one's trace). Thread-safe: one lock around the drawing.

        >>> import numpy as np, supervision as sv
        >>> frame = np.zeros((64, 64, 3), np.uint8)
        >>> boxes = sv.Detections(xyxy=np.array([[8., 8., 40., 40.]]), class_id=np.array([0]))
        >>> drawn = FrameAnnotator(class_names=['person']).annotate(frame, boxes)
        >>> bool(drawn.any()), bool(frame.any())
        (True, False)
    """

    def __init__(self, traces: bool = True, trace_length: int = 30, labels: bool = True,
                 class_names: Optional[Sequence[str]] = None, thickness: int = 2,
                 text_scale: float = 0.5) -> None:
        if int(trace_length) < 1:
            raise ValueError(f'trace_length must be >= 1, got {trace_length!r}')
        self.traces = bool(traces)
        self.labels = bool(labels)
        self.class_names = list(class_names) if class_names else None
        self._lock = threading.Lock()
        self._boxes = sv.BoxAnnotator(thickness=thickness)
        self._oriented = sv.OrientedBoxAnnotator(thickness=thickness)
        self._masks = sv.MaskAnnotator(opacity=0.45)
        self._labels = sv.LabelAnnotator(text_scale=text_scale, text_padding=4,
                                         smart_position=True)
        self._trace = sv.TraceAnnotator(trace_length=int(trace_length), thickness=thickness,
                                        color_lookup=sv.ColorLookup.TRACK)
        self._epoch: Optional[int] = None  # the track_epoch the traces belong to

    def reset(self) -> None:
        """Forget the traces (a new stream)."""
        with self._lock:
            self._trace.reset()

    def annotate(self, image: np.ndarray, detections: sv.Detections,
                 track_epoch: Optional[int] = None) -> np.ndarray:
        """Return a copy of image (BGR) with the detections drawn on it."""
        scene = image.copy()
        with self._lock:
            if track_epoch is not None and track_epoch != self._epoch:
                if self._epoch is not None:
                    self._trace.reset()  # the ids restarted: old traces belong to other tracks
                self._epoch = track_epoch
            if len(detections) == 0:
                if self.traces:  # advance the trace clock so stale points age out
                    self._trace.annotate(scene, _tracked(detections))
                return scene
            dets = detections
            if dets.class_id is None:  # the annotators colour by class
                dets = replace(dets, class_id=columns(dets).class_id)
            if dets.mask is not None:  # translucent, under the boxes and labels
                scene = self._masks.annotate(scene, dets)
            if self.traces and dets.tracker_id is not None:
                scene = self._trace.annotate(scene, _tracked(dets))
            oriented = sv.config.ORIENTED_BOX_COORDINATES in dets.data
            scene = (self._oriented if oriented else self._boxes).annotate(scene, dets)
            if self.labels:
                scene = self._labels.annotate(scene, dets, labels=labels_for(
                    dets, self.class_names))
        return scene


def _tracked(detections: sv.Detections) -> sv.Detections:
    """
    Only the detections on a track (traces of untracked boxes would join unrelated boxes).

    Boxes, classes and ids only: traces need no masks, and indexing would copy them.
    """
    if len(detections) == 0 or detections.tracker_id is None:
        empty = sv.Detections.empty()
        empty.tracker_id = np.zeros(0, dtype=int)
        return empty
    on_track = np.asarray(detections.tracker_id) >= 0
    return sv.Detections(
        xyxy=np.asarray(detections.xyxy)[on_track],
        class_id=None if detections.class_id is None else detections.class_id[on_track],
        tracker_id=np.asarray(detections.tracker_id)[on_track])
