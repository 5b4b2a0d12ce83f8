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
What segmentation and oriented-box models add to the kept detections, in frame pixels.

Masks go to sv.Detections.mask ((N, H, W) bool); oriented boxes to data['xyxyxyxy'] ((N, 4, 2)
corners: supervision's ORIENTED_BOX_COORDINATES, which sv.OrientedBoxAnnotator draws), the
axis-aligned box around them staying in xyxy for tracking and everything box-based.
"""

from typing import Optional, Sequence, Tuple

import numpy as np
import supervision as sv

from stream_infer.detection.candidates import Candidates
from stream_infer.detection.masks import instance_masks
from stream_infer.detection.preprocess import Geometry
from stream_infer.detection.rotated import corners, regularized

CORNERS_KEY = sv.config.ORIENTED_BOX_COORDINATES  # 'xyxyxyxy'


def frame_corners(rotated: np.ndarray, geometry: Geometry) -> np.ndarray:
    """Return the (K, 4, 2) corners of model-input oriented boxes in frame pixels (unclipped)."""
    points = corners(regularized(rotated)).astype(np.float64)
    points -= (geometry.pad_x, geometry.pad_y)
    points /= (geometry.gain_x, geometry.gain_y)
    return points.astype(np.float32)


def task_outputs(candidates: Candidates, index: np.ndarray, xyxy: np.ndarray,
                 geometry: Geometry, input_hw: Optional[Sequence[int]],
                 with_masks: bool) -> Tuple[Optional[np.ndarray], dict]:
    """
    Return (masks or None, extra data columns) for the kept candidates index.

    xyxy: their boxes in frame pixels (masks are cut to them); with_masks False skips the
    masks (nobody consumes them), which is most of a segmentation model's postprocessing.
    """
    data: dict = {}
    if candidates.rotated is not None:
        data[CORNERS_KEY] = frame_corners(candidates.rotated[index], geometry)
    masks = None
    if with_masks and candidates.coefficients is not None and input_hw is not None:
        if candidates.prototypes is None:
            masks = np.zeros((len(index), geometry.frame_height, geometry.frame_width), bool)
        else:
            masks = instance_masks(candidates.coefficients[index], candidates.prototypes, xyxy,
                                   geometry, input_hw)
    return masks, data
