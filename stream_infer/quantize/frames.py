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
Calibration frames: a capture dataset, a folder of images or a video, as BGR frames.

A capture dataset (stream_infer/capture/ writes DIR/DAY/images/*.jpg beside labels/) and a
folder of images are read recursively (image files only, in name order); a video is sampled
evenly across its whole length, not its first seconds, so the frames see the scene change.
The frames are then split: every k-th one is held out for the agreement report and never
calibrates.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import List, Sequence

import cv2
import numpy as np

IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp', '.webp', '.tif', '.tiff')
ACCEPTED = ('a capture dataset directory (DIR/DAY/images/*.jpg), a folder of images '
            f'({", ".join(IMAGE_SUFFIXES)}) or a video file')


@dataclass
class FrameSet:
    """Frames of one source split into calibration and held-out (never calibrated on) frames."""

    source: str
    calibration: List[np.ndarray]
    held_out: List[np.ndarray]


def evenly(count: int, total: int) -> np.ndarray:
    """
    Return the indices of count items spread over total (all of them when total <= count).

        >>> evenly(3, 10).tolist()
        [0, 4, 9]
    """
    if total <= count:
        return np.arange(total)
    return np.unique(np.linspace(0, total - 1, count).round().astype(int))


def image_files(directory: Path) -> List[Path]:
    """Image files under directory, recursively, in path order (labels and the rest skipped)."""
    return sorted(p for p in directory.rglob('*')
                  if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def _read_images(paths: Sequence[Path]) -> List[np.ndarray]:
    frames = []
    for path in paths:
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise ValueError(f'calibration image {path} could not be decoded')
        frames.append(image)
    return frames


def _read_video(path: Path, count: int) -> List[np.ndarray]:
    """Return count frames spread over the video (decoded in order: seeking is unreliable)."""
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise ValueError(f'calibration source {path} is not a readable video; expected '
                         f'{ACCEPTED}')
    try:
        total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        wanted = set(evenly(count, total).tolist()) if total > 0 else None
        frames, index = [], 0
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            if wanted is None or index in wanted:
                frames.append(frame)
            index += 1
    finally:
        capture.release()
    if wanted is None:  # no frame count: sample what was decoded
        frames = [frames[i] for i in evenly(count, len(frames))]
    return frames


def load_frames(source: str, count: int) -> List[np.ndarray]:
    """Up to count BGR frames of source, spread evenly over it; ValueError naming the problem."""
    path = Path(source)
    if not path.exists():
        raise ValueError(f'calibration source {source} does not exist; expected {ACCEPTED}')
    if path.is_dir():
        files = image_files(path)
        if not files:
            raise ValueError(f'calibration source {source} holds no image files; expected '
                             f'{ACCEPTED}')
        frames = _read_images([files[i] for i in evenly(count, len(files))])
    else:
        frames = _read_video(path, count)
    if len(frames) < 2:
        raise ValueError(f'calibration source {source} gave {len(frames)} frame(s); at least '
                         '2 are needed (one to calibrate, one to check on)')
    return frames


def split_frames(source: str, frames: Sequence[np.ndarray],
                 held_out_every: int) -> FrameSet:
    """
    Hold out every held_out_every-th frame (at least one) for the report; the rest calibrate.

        >>> s = split_frames('x', list(range(10)), 3)
        >>> s.calibration, s.held_out
        ([0, 1, 3, 4, 6, 7, 9], [2, 5, 8])
    """
    if held_out_every < 2:
        raise ValueError(f'held_out_every must be >= 2, got {held_out_every}')
    held = set(range(held_out_every - 1, len(frames), held_out_every)) or {len(frames) - 1}
    return FrameSet(source, [f for i, f in enumerate(frames) if i not in held],
                    [f for i, f in enumerate(frames) if i in held])
