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
Frames that carry their own index in their pixels, robust to JPEG / video compression.

The index's 16 bits are drawn as a 4 x 4 grid of black/white cells over the whole frame, so a
model (or a test) can read back which frame it was given, whatever happened on the way.
"""

from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

GRID = 4  # 4 x 4 cells = 16 bits


def stamp_index(index: int, width: int = 64, height: int = 64) -> np.ndarray:
    """Return a BGR uint8 frame encoding index (0 <= index < 65536)."""
    if not 0 <= index < 1 << (GRID * GRID):
        raise ValueError(f'index {index} out of range')
    bits = np.array([(index >> b) & 1 for b in range(GRID * GRID)], np.uint8).reshape(GRID, GRID)
    cells = (bits * 255).astype(np.uint8)
    image = cv2.resize(cells, (width, height), interpolation=cv2.INTER_NEAREST)
    return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)


def read_index(image: np.ndarray) -> int:
    """Decode the index stamped by stamp_index (cell centres, thresholded at mid-grey)."""
    gray = image if image.ndim == 2 else image.mean(axis=2)
    height, width = gray.shape[:2]
    index = 0
    for b in range(GRID * GRID):
        row, col = divmod(b, GRID)
        y0, y1 = row * height // GRID, (row + 1) * height // GRID
        x0, x1 = col * width // GRID, (col + 1) * width // GRID
        dy, dx = (y1 - y0) // 4, (x1 - x0) // 4
        if gray[y0 + dy:y1 - dy, x0 + dx:x1 - dx].mean() > 128:
            index |= 1 << b
    return index


def write_video(path: Path, indices: Sequence[int], fps: float = 25.0, width: int = 64,
                height: int = 64) -> Path:
    """Write an MJPG .avi whose frame k encodes indices[k]; return path."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'MJPG'), fps, (width, height))
    if not writer.isOpened():
        raise RuntimeError(f'cannot write {path}')
    for index in indices:
        writer.write(stamp_index(index, width, height))
    writer.release()
    return path


CODE_COLS = CODE_ROWS = 8  # helpers/rtsp_server.py: 64 cells, index (16 bits) + time in ms (48)


def read_code(image: np.ndarray) -> tuple:
    """
    Return (index, millis) from a frame of helpers/rtsp_server.py (8 x 8 cells, white = 1).

    millis is the server's wall clock when it handed the frame to its encoder, in ms.
    """
    gray = image if image.ndim == 2 else image[:, :, 1]
    height, width = gray.shape[:2]
    ys = (np.arange(CODE_ROWS) * 2 + 1) * height // (2 * CODE_ROWS)
    xs = (np.arange(CODE_COLS) * 2 + 1) * width // (2 * CODE_COLS)
    bits = (gray[np.ix_(ys, xs)] > 128).reshape(-1).astype(np.uint64)
    value = int((bits << np.arange(CODE_ROWS * CODE_COLS, dtype=np.uint64)).sum())
    return value & 0xFFFF, value >> 16
