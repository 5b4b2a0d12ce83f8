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
Where each detection is in metres: a robust depth per box, back-projected through K.

All detections of a frame are done at once with numpy (no loop over boxes):

1. Each box (colour pixels) is scaled to the depth image, and a SAMPLES x SAMPLES grid is laid
   over its central region (depth_central_fraction of its width and height), or over the
   whole box when the model gave a mask (then only the mask's pixels count).
2. A sample is valid when its depth in metres is finite and within depth_min..depth_max
   (zeros, the usual "no data", are below depth_min). Too few valid pixels (the valid
   fraction of the samples times the region's area, below depth_min_valid_pixels): the
   detection stays 2D only (NaN here).
3. Distance z = depth_percentile of the valid samples (the median by default: the visible
   surface, robust to holes and to background at the region's edges).
4. Centre = the box centre's ray at z: x = (u - cx) z / fx, y = (v - cy) z / fy (box
   coordinates are continuous, u = pixel index + 0.5, so u - 0.5 goes into K; lens distortion
   is ignored). Width and height = the box extent at z (w z / fx, h z / fy).
5. Depth extent = the 10th..90th percentile range of the valid samples within
   +-max(width, height) of z (background seen past the object is farther than that and is
   left out; a flat surface facing the camera has extent 0).

    >>> import numpy as np
    >>> from stream_infer.depth.image import DepthImage
    >>> from stream_infer.options import DepthOptions
    >>> depth = DepthImage(np.full((480, 640), 2000, np.uint16), (500., 500., 319.5, 239.5))
    >>> boxes = estimate_boxes_3d(np.array([[270., 190., 370., 290.]]), (640, 480), depth,
    ...                           DepthOptions())
    >>> boxes.centre.round(3).tolist(), boxes.size.round(3).tolist()
    ([[0.0, 0.0, 2.0]], [[0.4, 0.4, 0.0]])
"""

from typing import NamedTuple, Optional, Tuple

import numpy as np
import supervision as sv

from stream_infer.depth.image import DepthImage
from stream_infer.options import DepthOptions

SAMPLES = 24  # grid points per side of each box's region: 576 samples per detection
EXTENT_PERCENTILES = (0.10, 0.90)
CENTRE_KEY = 'centre_3d'  # sv.Detections.data keys: (N, 3) metres, NaN when 2D only
SIZE_KEY = 'size_3d'


class Boxes3D(NamedTuple):
    """Per detection: centre and size (x, y, z metres, NaN where unknown), valid, pixels."""

    centre: np.ndarray
    size: np.ndarray
    valid: np.ndarray
    valid_pixels: np.ndarray


def _grid(start: np.ndarray, length: np.ndarray, limit: int) -> Tuple[np.ndarray, np.ndarray]:
    """Return the sample coordinates (N, SAMPLES) as floats and as pixel indices < limit."""
    steps = (np.arange(SAMPLES, dtype=np.float64) + 0.5) / SAMPLES
    coords = start[:, None] + length[:, None] * steps
    return coords, np.clip(coords.astype(np.intp), 0, limit - 1)


def _at(sorted_values: np.ndarray, index: np.ndarray) -> np.ndarray:
    index = np.clip(index, 0, sorted_values.shape[1] - 1)
    return np.take_along_axis(sorted_values, index[:, None], axis=1)[:, 0]


def estimate_boxes_3d(xyxy: np.ndarray, image_size: Tuple[int, int], depth: DepthImage,
                      options: DepthOptions, masks: Optional[np.ndarray] = None) -> Boxes3D:
    """
    Estimate each box's 3D centre and size in the depth image's camera frame (see above).

    xyxy: (N, 4) boxes in the colour image's pixels; image_size: its (width, height);
    masks: optional (N, H, W) booleans in colour pixels (a segmentation model's).
    """
    xyxy = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)
    n = len(xyxy)
    if n == 0:
        empty = np.zeros((0, 3))
        return Boxes3D(empty, empty.copy(), np.zeros(0, bool), np.zeros(0))
    k, width, height = depth.intrinsics, depth.width, depth.height
    sx, sy = width / float(image_size[0]), height / float(image_size[1])
    boxes = xyxy * (sx, sy, sx, sy)
    boxes[:, 0::2] = boxes[:, 0::2].clip(0, width)
    boxes[:, 1::2] = boxes[:, 1::2].clip(0, height)
    box_w, box_h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    fraction = 1.0 if masks is not None else options.depth_central_fraction
    region_w, region_h = box_w * fraction, box_h * fraction
    u = (boxes[:, 0] + boxes[:, 2]) / 2.0
    v = (boxes[:, 1] + boxes[:, 3]) / 2.0
    gx, ix = _grid(u - region_w / 2.0, region_w, width)
    gy, iy = _grid(v - region_h / 2.0, region_h, height)
    values = depth.depth[iy[:, :, None], ix[:, None, :]].reshape(n, SAMPLES * SAMPLES)
    values = values.astype(np.float32) * np.float32(depth.metres_per_unit(options.depth_scale))
    valid = (values >= options.depth_min) & (values <= options.depth_max)  # NaN: False
    if masks is not None:
        mx = np.clip((gx / sx).astype(np.intp), 0, masks.shape[2] - 1)
        my = np.clip((gy / sy).astype(np.intp), 0, masks.shape[1] - 1)
        inside = masks[np.arange(n)[:, None, None], my[:, :, None], mx[:, None, :]]
        valid &= inside.reshape(n, SAMPLES * SAMPLES).astype(bool)
    values = np.where(valid, values, np.inf)
    values.sort(axis=1)  # valid samples first, ascending; invalid ones (inf) after them
    count = valid.sum(axis=1)
    valid_pixels = count / float(SAMPLES * SAMPLES) * region_w * region_h
    ok = (count > 0) & (valid_pixels >= options.depth_min_valid_pixels)
    rank = np.rint(options.depth_percentile / 100.0 * (count - 1)).astype(np.intp)
    z = np.where(ok, _at(values, rank), np.nan)
    size_x, size_y = box_w * z / k.fx, box_h * z / k.fy
    gate = np.maximum(size_x, size_y)[:, None]
    first = (values < (z[:, None] - gate)).sum(axis=1)  # the samples near z are a run of
    last = (values <= (z[:, None] + gate)).sum(axis=1)  # the sorted ones: [first, last)
    span = np.maximum(last - first - 1, 0)
    low = _at(values, first + np.rint(EXTENT_PERCENTILES[0] * span).astype(np.intp))
    high = _at(values, first + np.rint(EXTENT_PERCENTILES[1] * span).astype(np.intp))
    with np.errstate(invalid='ignore'):  # inf - inf where nothing was valid: NaN anyway
        size_z = np.where(ok, high - low, np.nan)
    centre = np.stack([(u - 0.5 - k.cx) * z / k.fx, (v - 0.5 - k.cy) * z / k.fy, z], axis=1)
    size = np.stack([size_x, size_y, size_z], axis=1)
    return Boxes3D(centre, size, ok, valid_pixels)


def attach_3d(detections: sv.Detections, image_size: Tuple[int, int], depth: DepthImage,
              options: DepthOptions) -> int:
    """
    Store each detection's 3D centre and size in its data (CENTRE_KEY, SIZE_KEY).

    Uses detections.mask when there is one. Returns how many detections stay 2D only.
    """
    masks = getattr(detections, 'mask', None)
    boxes = estimate_boxes_3d(detections.xyxy, image_size, depth, options,
                              None if masks is None else np.asarray(masks))
    detections.data[CENTRE_KEY] = boxes.centre
    detections.data[SIZE_KEY] = boxes.size
    return int(len(boxes.valid) - np.count_nonzero(boxes.valid))


__all__ = ['Boxes3D', 'CENTRE_KEY', 'SAMPLES', 'SIZE_KEY', 'attach_3d', 'estimate_boxes_3d']
