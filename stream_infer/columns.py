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
The columns of a supervision Detections as plain arrays, with one set of defaults.

A Detections may lack fields: confidence is then 1.0, class_id 0, tracker_id -1 (on no
track), class name the index (or names[class_id]). Every edge that converts Detections
(prediction dicts, labels drawn on images, vision_msgs) reads them through here.

    >>> import numpy as np, supervision as sv
    >>> cols = columns(sv.Detections(xyxy=np.array([[0., 0., 4., 2.]])))
    >>> cols.confidence.tolist(), cols.class_id.tolist(), cols.tracker_id.tolist()
    ([1.0], [0], [-1])
    >>> class_names_of(sv.Detections(xyxy=np.zeros((1, 4)), class_id=np.array([1])), ['a', 'b'])
    ['b']
"""

from typing import NamedTuple, Optional, Sequence

import numpy as np
import supervision as sv

NO_TRACK = -1


class Columns(NamedTuple):
    """Per-detection arrays: xyxy (N, 4) and confidence float64, class_id, tracker_id int64."""

    xyxy: np.ndarray
    confidence: np.ndarray
    class_id: np.ndarray
    tracker_id: np.ndarray


def columns(detections: sv.Detections) -> Columns:
    """Return the detections' columns, missing ones filled with the defaults above."""
    n = len(detections)
    xyxy = np.asarray(detections.xyxy, dtype=np.float64).reshape(n, 4)
    confidence = (np.ones(n) if detections.confidence is None
                  else np.asarray(detections.confidence, dtype=np.float64).reshape(n))
    class_id = (np.zeros(n, dtype=np.int64) if detections.class_id is None
                else np.asarray(detections.class_id).astype(np.int64).reshape(n))
    tracker_id = (np.full(n, NO_TRACK, dtype=np.int64) if detections.tracker_id is None
                  else np.asarray(detections.tracker_id).astype(np.int64).reshape(n))
    return Columns(xyxy, confidence, class_id, tracker_id)


def class_names_of(detections: sv.Detections,
                   names: Optional[Sequence[str]] = None) -> list:
    """Per-detection class names: data['class_name'], else names[class_id], else the id."""
    n = len(detections)
    data = getattr(detections, 'data', None) or {}
    if 'class_name' in data and len(data['class_name']) == n:
        return [str(name) for name in np.asarray(data['class_name']).tolist()]
    ids = columns(detections).class_id.tolist()
    if names:
        count = len(names)
        return [str(names[i]) if 0 <= i < count else str(i) for i in ids]
    return [str(i) for i in ids]


__all__ = ['Columns', 'NO_TRACK', 'class_names_of', 'columns']
