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
Sources that need no device: a Python iterable, a single image, and push (put()).

    >>> import numpy as np
    >>> source = IteratorSource([np.zeros((4, 4, 3), np.uint8)])
    >>> source.open(); source.read().image.shape, source.read(), source.state
    ((4, 4, 3), None, <SourceState.ENDED: 'ended'>)
"""

import logging
import os
from pathlib import Path
import threading
import time
from typing import Any, Iterable, Iterator, Optional, Union

import numpy as np

from stream_infer.depth.image import as_depth_image, DepthImage, RGBDFrame
from stream_infer.errors import SourceError
from stream_infer.sources.base import (
    ACCEPTED, as_bgr, FrameSource, now_raw, RawFrame, SourceState)
from stream_infer.sources.image_decoding import decode_image, DEFAULT_MAX_PIXELS, ImageDecodeError


class IteratorSource(FrameSource):
    """
    Frames from a Python iterable or generator; every frame is processed (not live).

    An item is a BGR image, or an RGBDFrame (image, depth, intrinsics): a frame with depth.
    """

    kind = 'iterator'
    description = 'iterator'

    def __init__(self, frames: Iterable[np.ndarray]) -> None:
        super().__init__()
        self._frames = frames
        self._iterator: Optional[Iterator[np.ndarray]] = None

    def _open(self) -> None:
        self._iterator = iter(self._frames)

    def _read(self) -> Optional[RawFrame]:
        try:
            item = next(self._iterator)
        except StopIteration:
            self.set_state(SourceState.ENDED, 'iterator exhausted')
            return None
        try:
            if isinstance(item, tuple):  # (image, depth[, intrinsics]): an RGBDFrame
                pair = RGBDFrame(*item)
                return now_raw(as_bgr(pair.image))._replace(
                    depth=as_depth_image(pair.depth, pair.intrinsics))
            return now_raw(as_bgr(item))
        except (TypeError, ValueError) as exc:
            self.set_state(SourceState.FAILED, f'bad frame from the iterator: {exc}',
                           logging.ERROR)
            return None


class ImageSource(FrameSource):
    """
    A single image (file or array): one frame, then the end.

    Files are decoded safely (image_decoding): a header declaring more than max_pixels pixels
    is refused before decoding, and a corrupt file is a SourceError, not stderr noise.
    """

    kind = 'image'

    def __init__(self, image: Union[str, os.PathLike, np.ndarray],
                 max_pixels: int = DEFAULT_MAX_PIXELS) -> None:
        super().__init__()
        self.max_pixels = max_pixels
        self._path = None if isinstance(image, np.ndarray) else Path(image)
        self._array = image if isinstance(image, np.ndarray) else None
        self.description = f'image {self._path}' if self._path else 'image array'
        self._pending: Optional[np.ndarray] = None

    def _open(self) -> None:
        if self._path is not None:
            if not self._path.is_file():
                raise SourceError(f'image file not found: {self._path}; accepted: {ACCEPTED}')
            try:
                self._pending = decode_image(self._path.read_bytes(), self.max_pixels,
                                             exif_orientation=True, what='image file')
            except (ImageDecodeError, OSError) as exc:
                raise SourceError(f'cannot decode image file {self._path}: {exc}') from None
        else:
            try:
                self._pending = as_bgr(self._array)
            except ValueError as exc:
                raise SourceError(str(exc)) from None
        self.frame_count = 1

    def _read(self) -> Optional[RawFrame]:
        image, self._pending = self._pending, None
        if image is None:
            self.set_state(SourceState.ENDED, 'single image done')
            return None
        return now_raw(image)


class PushSource(FrameSource):
    """
    Frames put from outside (e.g. a ROS image callback) with put(); live: the newest one wins.

    put() never blocks: a frame not yet taken is replaced by the newer one and counted in
    skipped. meta is handed back untouched with the frame.
    """

    kind = 'push'
    description = 'push (put_frame)'
    live = True
    stamps_frames = False  # put() stamps: the caller's timestamp, else the clock's now

    def __init__(self) -> None:
        super().__init__()
        self._cond = threading.Condition()
        self._pending: Optional[RawFrame] = None
        self._closed = True

    def _open(self) -> None:
        with self._cond:
            self._pending = None
            self._closed = False

    def put(self, image: np.ndarray, timestamp: Optional[float] = None, meta: Any = None,
            depth: Optional[DepthImage] = None) -> bool:
        """Hand over a frame (and its depth); returns False when the source is not open."""
        image = as_bgr(image)
        if timestamp is None:
            timestamp = (self.clock or time.time)()
        raw = RawFrame(image, float(timestamp), time.monotonic(), meta, depth)
        with self._cond:
            if self._closed:
                return False
            if self._pending is not None:
                self.skipped += 1
            self._pending = raw
            self._cond.notify()
        return True

    def _read(self) -> Optional[RawFrame]:
        with self._cond:
            while self._pending is None:
                if self._closed or self._interrupt.is_set():
                    return None
                self._cond.wait(0.1)
            raw, self._pending = self._pending, None
            return raw

    def interrupt(self) -> None:
        super().interrupt()
        with self._cond:
            self._cond.notify_all()

    def _close(self) -> None:
        with self._cond:
            self._closed = True
            self._pending = None
            self._cond.notify_all()
