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
Synthetic RGB-D scenes with known geometry: planes ray-cast through K, boxes of known objects.

Pixel (i, j) of a depth image looks along the ray ((i - cx) / fx, (j - cy) / fy, 1) (ROS
CameraInfo convention); a box drawn around an object spans continuous coordinates, pixel i
covering [i, i + 1).
"""

from typing import Tuple

import numpy as np

from stream_infer.depth import CameraIntrinsics

K = CameraIntrinsics(525.0, 525.0, 319.5, 239.5, 640, 480)


def rays(k: CameraIntrinsics = K) -> Tuple[np.ndarray, np.ndarray]:
    """Return the (H, W) x and y components of every pixel's ray (z = 1)."""
    u = (np.arange(k.width) - k.cx) / k.fx
    v = (np.arange(k.height) - k.cy) / k.fy
    return np.meshgrid(u, v)


def plane_depth(normal: Tuple[float, float, float], distance: float,
                k: CameraIntrinsics = K) -> np.ndarray:
    """Return the depth (z, metres, float64) of the plane normal . p = distance per pixel."""
    rx, ry = rays(k)
    n = np.asarray(normal, np.float64) / np.linalg.norm(normal)
    return distance / (n[0] * rx + n[1] * ry + n[2])


def box_of(centre: Tuple[float, float, float], size: Tuple[float, float],
           k: CameraIntrinsics = K) -> np.ndarray:
    """Return the pixel box (x1, y1, x2, y2) of a camera-facing rectangle of size (w, h) m."""
    x, y, z = centre
    u, v = k.fx * x / z + k.cx + 0.5, k.fy * y / z + k.cy + 0.5
    half_w, half_h = k.fx * size[0] / z / 2.0, k.fy * size[1] / z / 2.0
    return np.array([u - half_w, v - half_h, u + half_w, v + half_h])


def ellipse_mask(box: np.ndarray, shape: Tuple[int, int], fill: float = 0.9) -> np.ndarray:
    """Return an (H, W) bool mask: an ellipse inscribed in box, scaled by fill (a body)."""
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w] + 0.5
    cx, cy = (box[0] + box[2]) / 2.0, (box[1] + box[3]) / 2.0
    rx, ry = (box[2] - box[0]) / 2.0 * fill, (box[3] - box[1]) / 2.0 * fill
    return ((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2 <= 1.0
