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
Detections of a frame that came with depth also carry 'position_m' and 'size_m' ({'x', 'y',
'z'} in metres, in the depth camera's optical frame: x right, y down, z forward), None when
that detection had too few valid depth pixels.
Columns are computed with numpy and converted once (tolist), then zipped into dicts.
Segmentation models add 'points' (the mask's outline, Roboflow's instance-segmentation form),
oriented-box models 'points' (the four corners) and 'angle'.

    >>> import numpy as np, supervision as sv
    >>> detections = sv.Detections(xyxy=np.array([[10., 20., 30., 60.]]), class_id=np.array([0]))
    >>> predictions_list(detections, ['person'])[0]['class'], predictions_list(detections)[0]['y']
    ('person', 40.0)
"""

from typing import Any, Dict, Mapping, Optional, Sequence

import numpy as np
import supervision as sv

from stream_infer.columns import class_names_of, columns
from stream_infer.depth.estimate import CENTRE_KEY, SIZE_KEY
from stream_infer.detection.masks import outline
from stream_infer.detection.rotated import corner_geometry
from stream_infer.detection.task_outputs import CORNERS_KEY


def predictions_list(detections: sv.Detections,
                     names: Optional[Sequence[str]] = None) -> list:
    """Return the 'predictions' list: one dict per detection, in detection order."""
    if len(detections) == 0:
        return []
    xyxy, confidence, class_id, tracker_id = columns(detections)
    centre = (xyxy[:, :2] + xyxy[:, 2:]) / 2.0
    size = xyxy[:, 2:] - xyxy[:, :2]
    tracker = [t if t >= 0 else None for t in tracker_id.tolist()]
    out = [
        {'x': x, 'y': y, 'width': w, 'height': h, 'confidence': c, 'class': name,
         'class_id': k, 'tracker_id': t}
        for x, y, w, h, c, name, k, t in zip(
            centre[:, 0].tolist(), centre[:, 1].tolist(), size[:, 0].tolist(),
            size[:, 1].tolist(), confidence.tolist(), class_names_of(detections, names),
            class_id.tolist(), tracker)]
    if CENTRE_KEY in detections.data:
        for key, data_key in (('position_m', CENTRE_KEY), ('size_m', SIZE_KEY)):
            for entry, xyz in zip(out, xyz_dicts(detections.data[data_key])):
                entry[key] = xyz
    for prediction, points in zip(out, shape_points(detections)):
        prediction.update(points)
    return out


def xyz_dicts(values: np.ndarray) -> list:
    """Return [{'x', 'y', 'z'} or None (a NaN row)] for an (N, 3) array."""
    rows = np.asarray(values, dtype=np.float64).reshape(-1, 3)
    known = np.isfinite(rows).all(axis=1).tolist()
    return [{'x': x, 'y': y, 'z': z} if ok else None
            for (x, y, z), ok in zip(rows.tolist(), known)]


def shape_points(detections: sv.Detections) -> list:
    """
    Per detection, the keys its shape adds: {'points': [{'x', 'y'}, ...]} (and 'angle').

    A mask gives its outline polygon (Roboflow's instance-segmentation `points`); an oriented
    box its four corners and 'angle' (radians from +x toward +y); plain boxes add nothing.
    """
    count = len(detections)
    corners = detections.data.get(CORNERS_KEY) if detections.data else None
    if corners is not None and len(corners) == count:
        angles = corner_geometry(corners)[2].tolist()
        return [{'points': [{'x': x, 'y': y} for x, y in quad], 'angle': angle}
                for quad, angle in zip(np.asarray(corners, np.float64).tolist(), angles)]
    if detections.mask is not None and len(detections.mask) == count:
        return [{'points': [{'x': x, 'y': y} for x, y in outline(mask, box).tolist()]}
                for mask, box in zip(detections.mask, detections.xyxy)]
    return [{}] * count


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
