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
A depth image that travels with its colour frame: raw values, their scale, the intrinsics.

The array is kept as given (uint16 millimetres or float metres, as cameras publish them):
the estimator converts only the pixels it samples, so pairing costs no full-image copy.
RGBDFrame is what an iterable source yields to feed pairs to the engine.

    >>> import numpy as np
    >>> d = DepthImage(np.full((4, 6), 1500, np.uint16), (100.0, 100.0, 3.0, 2.0))
    >>> d.width, d.height, d.metres_per_unit(0.001)
    (6, 4, 0.001)
"""

from typing import Any, NamedTuple, Optional, Union

import numpy as np

from stream_infer.depth.intrinsics import as_intrinsics, CameraIntrinsics

ACCEPTED_DTYPES = ('uint16 (millimetres, or the depth_scale given)', 'float32/float64 (metres)')


class DepthImage:
    """
    One depth image aligned to a colour frame, with its intrinsics.

    depth: H x W uint16 (units of scale, default the stream's depth_scale) or float32/64
    metres; intrinsics: CameraIntrinsics, a 3x3 K or (fx, fy, cx, cy) for this depth image
    (scaled when calibrated for another size); scale: metres per unit (None: depth_scale
    for integers, 1 for floats); meta: handed back untouched (the ROS node keeps the depth
    image's header there: 3D results are in its frame, at its stamp).
    """

    __slots__ = ('depth', 'intrinsics', 'scale', 'meta')

    def __init__(self, depth: np.ndarray, intrinsics: Any, scale: Optional[float] = None,
                 meta: Any = None) -> None:
        if not isinstance(depth, np.ndarray):
            raise ValueError(f'depth must be a numpy array, got {type(depth).__name__}')
        if depth.ndim == 3 and depth.shape[2] == 1:
            depth = depth[:, :, 0]
        if depth.ndim != 2 or depth.size == 0:
            raise ValueError(f'depth must be a non-empty H x W array, got shape {depth.shape}')
        if depth.dtype not in (np.uint16, np.float32, np.float64):
            raise ValueError(f'depth dtype {depth.dtype} not accepted; accepted: '
                             f'{", ".join(ACCEPTED_DTYPES)}')
        if scale is not None and not (np.isfinite(scale) and scale > 0):
            raise ValueError(f'depth scale must be > 0 metres per unit, got {scale!r}')
        if intrinsics is None:
            raise ValueError('depth needs intrinsics (CameraIntrinsics, a 3x3 K or '
                             '(fx, fy, cx, cy)) to place boxes in metres')
        height, width = depth.shape
        self.depth = depth
        self.intrinsics: CameraIntrinsics = as_intrinsics(intrinsics).for_size(width, height)
        self.scale = None if scale is None else float(scale)
        self.meta = meta

    @property
    def width(self) -> int:
        return int(self.depth.shape[1])

    @property
    def height(self) -> int:
        return int(self.depth.shape[0])

    def metres_per_unit(self, integer_scale: float) -> float:
        """Return the scale in force: the given one, else integer_scale or 1 (floats)."""
        if self.scale is not None:
            return self.scale
        return float(integer_scale) if self.depth.dtype == np.uint16 else 1.0

    def __repr__(self) -> str:
        return f'<DepthImage {self.width}x{self.height} {self.depth.dtype}>'


def as_depth_image(depth: Union[DepthImage, np.ndarray, None], intrinsics: Any = None,
                   meta: Any = None) -> Optional[DepthImage]:
    """Return depth as a DepthImage (an array needs intrinsics); None stays None."""
    if depth is None or isinstance(depth, DepthImage):
        if intrinsics is not None and depth is not None:
            raise ValueError('give intrinsics either in the DepthImage or beside it, not both')
        return depth
    return DepthImage(depth, intrinsics, meta=meta)


class RGBDFrame(NamedTuple):
    """A colour frame and its aligned depth, as an iterable source yields them."""

    image: np.ndarray
    depth: Union[DepthImage, np.ndarray]
    intrinsics: Any = None  # needed when depth is a bare array


__all__ = ['DepthImage', 'RGBDFrame', 'as_depth_image']
