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
Roboflow-style prediction dicts from sv.Detections (what on_prediction and --json hand out).

{'predictions': [{'x', 'y', 'width', 'height', 'confidence', 'class', 'class_id',
'tracker_id'}], 'image': {'width', 'height'}, 'frame_id', 'timestamp', ...} with x, y the box
centre in original-image pixels; tracker_id is None when the detection is on no track.
Columns are computed with numpy and converted once (tolist), then zipped into dicts.
"""

from typing import Any, Dict, Mapping, Optional, Sequence

import numpy as np
import supervision as sv


def class_names_of(detections: sv.Detections,
                   names: Optional[Sequence[str]] = None) -> list:
    """Per-detection class names: data['class_name'], else names[class_id], else the id."""
    n = len(detections)
    data = getattr(detections, 'data', None) or {}
    if 'class_name' in data and len(data['class_name']) == n:
        return [str(name) for name in np.asarray(data['class_name']).tolist()]
    ids = (np.zeros(n, dtype=int) if detections.class_id is None
           else np.asarray(detections.class_id).astype(int))
    if names:
        count = len(names)
        return [str(names[i]) if 0 <= i < count else str(i) for i in ids.tolist()]
    return [str(i) for i in ids.tolist()]


def predictions_list(detections: sv.Detections,
                     names: Optional[Sequence[str]] = None) -> list:
    """Return the 'predictions' list: one dict per detection, in detection order."""
    n = len(detections)
    if n == 0:
        return []
    xyxy = np.asarray(detections.xyxy, dtype=np.float64).reshape(n, 4)
    centre = (xyxy[:, :2] + xyxy[:, 2:]) / 2.0
    size = xyxy[:, 2:] - xyxy[:, :2]
    confidence = (np.ones(n) if detections.confidence is None
                  else np.asarray(detections.confidence, dtype=np.float64))
    class_id = (np.zeros(n, dtype=int) if detections.class_id is None
                else np.asarray(detections.class_id).astype(int))
    if detections.tracker_id is None:
        tracker = [None] * n
    else:
        tracker = [t if t >= 0 else None
                   for t in np.asarray(detections.tracker_id).astype(int).tolist()]
    return [
        {'x': x, 'y': y, 'width': w, 'height': h, 'confidence': c, 'class': name,
         'class_id': k, 'tracker_id': t}
        for x, y, w, h, c, name, k, t in zip(
            centre[:, 0].tolist(), centre[:, 1].tolist(), size[:, 0].tolist(),
            size[:, 1].tolist(), confidence.tolist(), class_names_of(detections, names),
            class_id.tolist(), tracker)]


def to_prediction_dict(detections: sv.Detections, *, width: int, height: int, frame_id: int,
                       timestamp: float, names: Optional[Sequence[str]] = None,
                       extra: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
    """Build the Roboflow-style dict for one frame (extra keys are appended as given)."""
    out = {'predictions': predictions_list(detections, names),
           'image': {'width': int(width), 'height': int(height)},
           'frame_id': int(frame_id), 'timestamp': float(timestamp)}
    if extra:
        out.update(extra)
    return out
