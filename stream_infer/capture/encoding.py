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

r"""
The bytes of one capture: the JPEG image (optionally scaled down) and its YOLO label.

YOLO labels hold one "class cx cy w h" line per box (a segmentation model's frames: "class
x1 y1 x2 y2 ..." its mask's outline, YOLO-seg; an oriented-box model's: its four corners,
YOLO-OBB), normalised by the image size, so they stay exact when the image is scaled: boxes
are clipped to the original frame, normalised by its size, and fit the saved image whatever
its size. Six decimals (as Ultralytics writes) keep boxes
within a thousandth of a pixel.

    >>> import numpy as np
    >>> yolo_label(np.array([[0., 0., 50., 25.]]), np.array([3]), width=100, height=50)
    b'3 0.250000 0.250000 0.500000 0.500000\n'
"""

import io
from typing import NamedTuple, Optional, Sequence

import cv2
import numpy as np


class Encoded(NamedTuple):
    """A capture's files as bytes, and the size of the saved image."""

    image: bytes
    label: bytes
    width: int
    height: int

    @property
    def nbytes(self) -> int:
        return len(self.image) + len(self.label)


def scaled_size(width: int, height: int, max_size: Optional[int]) -> tuple:
    """Return the saved (width, height): the longest side at most max_size, aspect kept."""
    longest = max(width, height)
    if not max_size or longest <= max_size:
        return width, height
    scale = max_size / longest
    return max(1, round(width * scale)), max(1, round(height * scale))


def encode_jpeg(image: np.ndarray, quality: int, max_size: Optional[int] = None) -> tuple:
    """Return (JPEG bytes, width, height) of image, scaled down to max_size if larger."""
    height, width = image.shape[:2]
    size = scaled_size(width, height, max_size)
    if size != (width, height):
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    ok, data = cv2.imencode('.jpg', image, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise ValueError(f'OpenCV could not encode a {width}x{height} frame as JPEG')
    return data.tobytes(), size[0], size[1]


def yolo_label(xyxy: np.ndarray, class_id: np.ndarray, width: int, height: int) -> bytes:
    """Return the YOLO label file of boxes in pixels of a width x height image."""
    if not len(xyxy):
        return b''
    limits = np.array([width, height, width, height], dtype=np.float64)
    box = np.clip(np.asarray(xyxy, dtype=np.float64), 0.0, limits) / limits
    rows = np.column_stack([np.asarray(class_id, dtype=np.float64),
                            (box[:, 0] + box[:, 2]) / 2, (box[:, 1] + box[:, 3]) / 2,
                            box[:, 2] - box[:, 0], box[:, 3] - box[:, 1]])
    out = io.BytesIO()
    np.savetxt(out, rows, fmt='%d %.6f %.6f %.6f %.6f')
    return out.getvalue()


def yolo_polygon_label(polygons: Sequence[np.ndarray], class_id: np.ndarray, width: int,
                       height: int) -> bytes:
    r"""
    Return the label file of polygons in pixels: "class x1 y1 x2 y2 ..." normalised per line.

    Masks' outlines make a YOLO-seg label, oriented boxes' four corners a YOLO-OBB label
    (the same line with four points).

        >>> square = np.array([[0., 0.], [50., 0.], [50., 25.], [0., 25.]])
        >>> yolo_polygon_label([square], np.array([1]), width=100, height=50)
        b'1 0.000000 0.000000 0.500000 0.000000 0.500000 0.500000 0.000000 0.500000\n'
    """
    limits = np.array([width, height], dtype=np.float64)
    lines = []
    for points, cls in zip(polygons, np.asarray(class_id).tolist()):
        normalised = np.clip(np.asarray(points, np.float64).reshape(-1, 2), 0.0, limits) / limits
        lines.append(f'{int(cls)} ' + ' '.join(f'{v:.6f}' for v in normalised.ravel()) + '\n')
    return ''.join(lines).encode()


def encode(image: np.ndarray, xyxy: np.ndarray, class_id: np.ndarray, quality: int,
           max_size: Optional[int] = None,
           polygons: Optional[Sequence[np.ndarray]] = None) -> Encoded:
    """Return the image and label bytes of one capture (polygons: YOLO-seg/OBB labels)."""
    data, width, height = encode_jpeg(image, quality, max_size)
    if polygons is not None:
        label = yolo_polygon_label(polygons, class_id, image.shape[1], image.shape[0])
    else:
        label = yolo_label(xyxy, class_id, image.shape[1], image.shape[0])
    return Encoded(data, label, width, height)


__all__ = ['Encoded', 'encode', 'encode_jpeg', 'scaled_size', 'yolo_label',
           'yolo_polygon_label']
