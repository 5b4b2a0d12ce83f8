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
Pinhole intrinsics of a depth image: what turns a pixel and a distance into metres.

The values of a ROS CameraInfo's K (fx, fy, cx, cy in pixels, the top-left pixel's centre at
(0, 0)) and the image size they were calibrated for; a depth image of another size gets K
scaled to it (a camera publishing camera_info at full size and depth binned, for instance).

    >>> k = CameraIntrinsics.from_k([500, 0, 320, 0, 500, 240, 0, 0, 1], 640, 480)
    >>> k.for_size(320, 240).fx, k.for_size(320, 240).cx
    (250.0, 160.0)
"""

import math
from typing import NamedTuple, Optional, Sequence


class CameraIntrinsics(NamedTuple):
    """fx, fy, cx, cy in pixels; width, height: the image size K belongs to (0: unknown)."""

    fx: float
    fy: float
    cx: float
    cy: float
    width: int = 0
    height: int = 0

    @classmethod
    def from_k(cls, k: Sequence[float], width: int = 0, height: int = 0) -> 'CameraIntrinsics':
        """Build from a row-major 3x3 K (CameraInfo.k); refuse a K that cannot project."""
        values = [float(v) for v in k]
        if len(values) != 9:
            raise ValueError(f'K must have 9 values (row-major 3x3), got {len(values)}')
        return cls(values[0], values[4], values[2], values[5], int(width), int(height)).checked()

    def checked(self) -> 'CameraIntrinsics':
        """Return self, or raise ValueError naming what is wrong (fx, fy must be > 0)."""
        if not all(math.isfinite(v) for v in self[:4]):
            raise ValueError(f'intrinsics must be finite numbers, got {tuple(self[:4])}')
        if self.fx <= 0 or self.fy <= 0:
            raise ValueError(f'intrinsics need fx > 0 and fy > 0 (an all-zero K means an '
                             f'uncalibrated camera), got fx={self.fx:g}, fy={self.fy:g}')
        if self.width < 0 or self.height < 0:
            raise ValueError(f'intrinsics size must be >= 0, got {self.width}x{self.height}')
        return self

    def for_size(self, width: int, height: int) -> 'CameraIntrinsics':
        """Return K for an image of width x height (scaled when calibrated for another size)."""
        if not self.width or not self.height or (width, height) == (self.width, self.height):
            return self._replace(width=int(width), height=int(height))
        sx, sy = width / self.width, height / self.height
        return CameraIntrinsics(self.fx * sx, self.fy * sy, self.cx * sx, self.cy * sy,
                                int(width), int(height))


def as_intrinsics(value: object, width: int = 0,
                  height: int = 0) -> Optional[CameraIntrinsics]:
    """
    Accept CameraIntrinsics, a 3x3 / 9-value K, or (fx, fy, cx, cy); None stays None.

    Raises ValueError with what is accepted for anything else.
    """
    if value is None or isinstance(value, CameraIntrinsics):
        return value.checked() if value is not None else None
    try:
        flat = [float(v) for row in value for v in (row if hasattr(row, '__len__') else [row])]
    except (TypeError, ValueError):
        flat = []
    if len(flat) == 9:
        return CameraIntrinsics.from_k(flat, width, height)
    if len(flat) == 4:
        return CameraIntrinsics(*flat, int(width), int(height)).checked()
    raise ValueError(f'intrinsics: expected CameraIntrinsics, a 3x3 K (or its 9 values) or '
                     f'(fx, fy, cx, cy); got {value!r:.80}')


__all__ = ['CameraIntrinsics', 'as_intrinsics']
