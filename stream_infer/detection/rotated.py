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
Oriented boxes (cx, cy, w, h, angle): corners, axis-aligned bounds, and their overlap for NMS.

The angle is in radians in pixel coordinates (x right, y down): the box's w side points along
(cos a, sin a). Overlap is Ultralytics' probabilistic IoU (each box as a 2-D Gaussian, 1 - the
Hellinger distance of the two), which is what its OBB NMS suppresses by, so the same boxes
survive here as there; it is vectorised over every pair at once.

    >>> import numpy as np
    >>> box = np.array([[50., 40., 20., 10., 0.]], np.float32)
    >>> corners(box)[0].tolist()
    [[60.0, 45.0], [60.0, 35.0], [40.0, 35.0], [40.0, 45.0]]
    >>> rotated_bounds(np.array([[50., 40., 20., 10., np.pi / 2]], np.float32))[0].tolist()
    [45.0, 30.0, 55.0, 50.0]
"""

import numpy as np

EPS = 1e-7


def corners(rotated: np.ndarray) -> np.ndarray:
    """Return the (K, 4, 2) corners of (K, 5) boxes, in Ultralytics' xyxyxyxy order."""
    rotated = np.asarray(rotated, np.float64).reshape(-1, 5)
    centre = rotated[:, None, :2]
    cos, sin = np.cos(rotated[:, 4]), np.sin(rotated[:, 4])
    half_w, half_h = rotated[:, 2] / 2, rotated[:, 3] / 2
    along_w = np.stack((half_w * cos, half_w * sin), axis=1)[:, None, :]
    along_h = np.stack((-half_h * sin, half_h * cos), axis=1)[:, None, :]
    signs = np.array([[1, 1], [1, -1], [-1, -1], [-1, 1]], np.float64)  # (w, h) per corner
    points = centre + signs[None, :, :1] * along_w + signs[None, :, 1:] * along_h
    return points.astype(np.float32)


def rotated_bounds(rotated: np.ndarray) -> np.ndarray:
    """Return the (K, 4) axis-aligned xyxy boxes around (K, 5) oriented boxes."""
    rotated = np.asarray(rotated, np.float64).reshape(-1, 5)
    cos, sin = np.abs(np.cos(rotated[:, 4])), np.abs(np.sin(rotated[:, 4]))
    half_x = (rotated[:, 2] * cos + rotated[:, 3] * sin) / 2
    half_y = (rotated[:, 2] * sin + rotated[:, 3] * cos) / 2
    cx, cy = rotated[:, 0], rotated[:, 1]
    return np.stack((cx - half_x, cy - half_y, cx + half_x, cy + half_y), axis=1).astype(
        np.float32)


def regularized(rotated: np.ndarray) -> np.ndarray:
    """Return the same boxes with w >= h and the angle in [0, pi) (Ultralytics' canonical form)."""
    out = np.array(rotated, np.float32).reshape(-1, 5)
    swap = out[:, 3] > out[:, 2]
    out[swap, 2], out[swap, 3] = out[swap, 3], out[swap, 2].copy()
    out[swap, 4] += np.float32(np.pi / 2)
    out[:, 4] = np.mod(out[:, 4], np.float32(np.pi))
    return out


def corner_geometry(points: np.ndarray) -> tuple:
    """
    Return (centre (K, 2), sides (K, 2) as (w, h), angle (K,)) of (K, 4, 2) corners.

    The inverse of corners(): w is the side from the 4th corner to the 1st, the angle its
    direction (radians from +x toward +y, pixel coordinates), h the side from the 2nd to 1st.
    """
    points = np.asarray(points, np.float64).reshape(-1, 4, 2)
    along_w = points[:, 0] - points[:, 3]
    along_h = points[:, 0] - points[:, 1]
    return (points.mean(axis=1), np.stack((np.hypot(*along_w.T), np.hypot(*along_h.T)), axis=1),
            np.arctan2(along_w[:, 1], along_w[:, 0]))


def _covariance(rotated: np.ndarray) -> tuple:
    """Return the (a, b, c) covariance terms of each box taken as a uniform 2-D distribution."""
    var_w, var_h = rotated[:, 2] ** 2 / 12, rotated[:, 3] ** 2 / 12
    cos, sin = np.cos(rotated[:, 4]), np.sin(rotated[:, 4])
    return (var_w * cos ** 2 + var_h * sin ** 2, var_w * sin ** 2 + var_h * cos ** 2,
            (var_w - var_h) * cos * sin)


def probiou_between(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Return the (len(first), len(second)) probabilistic IoU of two sets of (K, 5) boxes."""
    one = np.asarray(first, np.float64).reshape(-1, 5)
    two = np.asarray(second, np.float64).reshape(-1, 5)
    a1, b1, c1 = (term[:, None] for term in _covariance(one))
    a2, b2, c2 = (term[None, :] for term in _covariance(two))
    dx = one[:, None, 0] - two[None, :, 0]
    dy = one[:, None, 1] - two[None, :, 1]
    a, b, c = a1 + a2, b1 + b2, c1 + c2
    det = a * b - c ** 2
    t1 = (a * dy ** 2 + b * dx ** 2) / (det + EPS) * 0.25
    t2 = (c * -dx * dy) / (det + EPS) * 0.5
    own = np.sqrt(np.clip(a1 * b1 - c1 ** 2, 0, None) * np.clip(a2 * b2 - c2 ** 2, 0, None))
    t3 = np.log(det / (4 * own + EPS) + EPS) * 0.5
    distance = np.clip(t1 + t2 + t3, EPS, 100.0)
    return 1.0 - np.sqrt(1.0 - np.exp(-distance) + EPS)
