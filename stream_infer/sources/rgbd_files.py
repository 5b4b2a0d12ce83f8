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
Recorded RGB-D data as a source: colour frames paired with aligned depth files, in order.

What a robotics user has after exporting a bag or a RealSense/ZED/OAK-D recording: the colour
as a folder of images (or one video, or one image) and the aligned depth as a folder of 16-bit
PNGs (16UC1, units of depth_scale: millimetres by default) or .npy arrays (float32/float64
metres, 32FC1; uint16 like a PNG). Pairing is by order: the i-th colour frame (files sorted by
name, numbers in names compared as numbers: frame_2 before frame_10; a video's frames in
order) goes with the i-th depth file sorted the same way. Different counts are refused when
the source opens (a video whose frame count is unknown fails at the first frame without a
pair). Files are read through the bounded regular-file reader (option_files), and a depth
file that is not a 16-bit single-channel PNG or a 2D .npy ends the source with one line
naming the file. `stream-infer COLOR --depth DEPTH --intrinsics fx,fy,cx,cy` reads it.

    >>> import os, tempfile, cv2, numpy as np
    >>> root = tempfile.mkdtemp()
    >>> os.mkdir(os.path.join(root, 'color')); os.mkdir(os.path.join(root, 'depth'))
    >>> for i in (1, 2, 10):
    ...     _ = cv2.imwrite(os.path.join(root, 'color', f'{i}.png'), np.zeros((4, 6, 3), np.uint8))
    ...     depth = np.full((4, 6), i, np.uint16)  # 16UC1: i mm
    ...     _ = cv2.imwrite(os.path.join(root, 'depth', f'd{i}.png'), depth)
    >>> source = RGBDFileSource(os.path.join(root, 'color'), os.path.join(root, 'depth'),
    ...                         (5.0, 5.0, 2.5, 1.5))
    >>> source.open(); [int(source.read().depth.depth[0, 0]) for _ in range(3)]
    [1, 2, 10]
"""

import io
import logging
import os
from pathlib import Path
import re
import struct
from typing import Any, List, Optional, Union

import numpy as np

from stream_infer.depth.image import DepthImage
from stream_infer.depth.intrinsics import as_intrinsics
from stream_infer.errors import ConfigurationError, SourceError
from stream_infer.option_files import check_regular_file, read_regular_file
from stream_infer.sources.base import FrameSource, IMAGE_SUFFIXES, now_raw, RawFrame, SourceState
from stream_infer.sources.image_decoding import (
    check_pixels, decode_image, DEFAULT_MAX_PIXELS, ImageDecodeError)
from stream_infer.sources.opencv import VideoFileSource

DEPTH_SUFFIXES = ('.png', '.npy')
ACCEPTED_DEPTH = ('a 16-bit single-channel PNG (16UC1, units of depth_scale) or a 2D .npy '
                  'array (float32/float64 metres, or uint16 like the PNG)')
HEADER_BYTES = 4096  # enough for a PNG's IHDR and a .npy header
_NUMBER = re.compile(r'(\d+)')
PathLike = Union[str, os.PathLike]


def natural_key(path: Path) -> list:
    """
    Sort key of a file name with its numbers compared as numbers.

        >>> sorted(['f10.png', 'f2.png', 'f1.png'], key=lambda n: natural_key(Path(n)))
        ['f1.png', 'f2.png', 'f10.png']
    """
    return [(0, int(part), '') if part.isdigit() else (1, 0, part)
            for part in _NUMBER.split(path.name) if part]


def list_files(path: PathLike, suffixes: tuple, what: str) -> List[Path]:
    """Return [path] for a file, else the folder's files with these suffixes, in name order."""
    path = Path(path)
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise SourceError(f'{what} {os.fspath(path)!r}: no such file or folder')
    files = sorted((p for p in path.iterdir() if p.suffix.lower() in suffixes
                    and not p.name.startswith('.')), key=natural_key)
    if not files:
        raise SourceError(f'{what} folder {os.fspath(path)!r} has no {"/".join(suffixes)} files')
    return files


PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'


def _png_header(head: bytes, max_pixels: int) -> None:
    """Check a PNG's IHDR: 16-bit (bit depth 16) grayscale (colour type 0), size in bounds."""
    if head[:8] != PNG_SIGNATURE or head[12:16] != b'IHDR' or len(head) < 26:
        raise ValueError('not a PNG')
    width, height = struct.unpack('>II', head[16:24])
    if head[24] != 16 or head[25] != 0:
        kind = PNG_COLOUR_TYPES.get(head[25], f'colour type {head[25]}')
        raise ValueError(f'a {head[24]}-bit {kind} PNG, not 16-bit single-channel')
    check_pixels(width, height, max_pixels, 'depth PNG')


PNG_COLOUR_TYPES = {0: 'gray', 2: 'RGB', 3: 'palette', 4: 'gray+alpha', 6: 'RGBA'}


def _npy_header(buffer: io.BytesIO, size: int, max_pixels: int) -> tuple:
    """Return (shape, dtype) of a .npy's header, checked against the file's size."""
    version = np.lib.format.read_magic(buffer)
    read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                   else np.lib.format.read_array_header_2_0)
    shape, _, dtype = read_header(buffer)  # the header only: nothing allocated yet
    if dtype.kind + str(dtype.itemsize) not in ('f4', 'f8', 'u2'):
        raise ValueError(f'a {dtype} array; accepted dtypes: float32, float64, uint16')
    if len(shape) not in (2, 3) or (len(shape) == 3 and shape[2] != 1):
        raise ValueError(f'an array of shape {shape}, not H x W')
    check_pixels(shape[1], shape[0], max_pixels, 'depth array')
    if size - buffer.tell() != shape[0] * shape[1] * dtype.itemsize:
        raise ValueError(f'truncated: the header declares {shape} {dtype}, the file has '
                         f'{size - buffer.tell()} bytes of data')
    return shape, dtype


def _depth_png(data: bytes, max_pixels: int) -> np.ndarray:
    from PIL import PngImagePlugin
    _png_header(data[:32], max_pixels)
    image = PngImagePlugin.PngImageFile(io.BytesIO(data))
    pixels = np.asarray(image)  # mode I;16 (or I, 32-bit, from older Pillow)
    return pixels.astype(np.uint16, copy=False)


def _depth_npy(data: bytes, max_pixels: int) -> np.ndarray:
    shape, dtype = _npy_header(io.BytesIO(data), len(data), max_pixels)
    array = np.load(io.BytesIO(data), allow_pickle=False)
    return array.reshape(shape[:2]).astype(dtype.newbyteorder('='), copy=False)


def _depth_error(path: PathLike, exc: Exception) -> SourceError:
    reason = str(exc) if isinstance(exc, ValueError) else f'{type(exc).__name__}: {exc}'
    return SourceError(f'depth file {os.fspath(path)!r}: {reason}; accepted: {ACCEPTED_DEPTH}')


def _max_bytes(max_pixels: int) -> int:
    return max_pixels * 8 + (1 << 16)


def check_depth_file(path: PathLike, max_pixels: int = DEFAULT_MAX_PIXELS) -> None:
    """Check a depth file's header only (type, size, dtype); SourceError names what is wrong."""
    info = check_regular_file(path, 'depth file', ACCEPTED_DEPTH, SourceError,
                              _max_bytes(max_pixels))
    try:
        with open(path, 'rb') as f:  # a regular file (just checked): its head only
            head = f.read(HEADER_BYTES)
        if Path(path).suffix.lower() == '.npy':
            _npy_header(io.BytesIO(head), info.st_size, max_pixels)
        else:
            _png_header(head, max_pixels)
    except Exception as exc:  # noqa: BLE001 - OSError, numpy's header errors, ours
        raise _depth_error(path, exc) from None


def read_depth_file(path: PathLike, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Return the depth array of a .png (uint16) or .npy file; SourceError names what is wrong."""
    data = read_regular_file(path, 'depth file', ACCEPTED_DEPTH, SourceError,
                             _max_bytes(max_pixels))
    try:
        if Path(path).suffix.lower() == '.npy':
            return _depth_npy(data, max_pixels)
        return _depth_png(data, max_pixels)
    except Exception as exc:  # noqa: BLE001 - decoders raise many types for bad data
        raise _depth_error(path, exc) from None


class RGBDFileSource(FrameSource):
    """
    Colour frames (image folder, video or image) with the depth files of a folder, in order.

    intrinsics: K of the depth images (fx, fy, cx, cy, or a 3x3 K / its 9 values), in their
    pixels; uint16 depth is scaled by the stream's depth_scale. Every pair is processed (not
    live); loop=True starts again at the first pair.
    """

    kind = 'rgbd files'

    def __init__(self, color: PathLike, depth: PathLike, intrinsics: Any, loop: bool = False,
                 max_pixels: int = DEFAULT_MAX_PIXELS) -> None:
        super().__init__()
        self.intrinsics = as_intrinsics(intrinsics)
        if self.intrinsics is None:
            raise ValueError('depth needs intrinsics: fx, fy, cx, cy of the depth images')
        self.color, self.depth_path = Path(color), Path(depth)
        self.loop, self.max_pixels = bool(loop), int(max_pixels)
        self.description = f'rgbd {self.color} + depth {self.depth_path}'
        self._video: Optional[VideoFileSource] = None
        self._colors: List[Path] = []
        self._depths: List[Path] = []
        self._index = 0

    def _open(self) -> None:
        self._depths = list_files(self.depth_path, DEPTH_SUFFIXES, 'depth')
        for path in self._depths:  # headers only: a wrong or broken file is refused at once
            check_depth_file(path, self.max_pixels)
        if self.color.is_file() and self.color.suffix.lower() not in IMAGE_SUFFIXES:
            self._video = VideoFileSource(self.color)
            self._video.open()
            self.fps, count = self._video.fps, self._video.frame_count
        else:
            self._colors = list_files(self.color, IMAGE_SUFFIXES, 'colour')
            for path in self._colors:
                check_regular_file(path, 'colour image', 'an image file', SourceError,
                                   _max_bytes(self.max_pixels))
            count = len(self._colors)
        if count is not None and count != len(self._depths):
            self._close()
            raise SourceError(f'{count} colour frames in {os.fspath(self.color)!r} but '
                              f'{len(self._depths)} depth files in '
                              f'{os.fspath(self.depth_path)!r}: they pair by order, so the '
                              'counts must match')
        self.frame_count = len(self._depths)
        self._index = 0

    def _next_color(self) -> Optional[np.ndarray]:
        if self._video is not None:
            raw = self._video.read()
            return None if raw is None else raw.image
        if self._index >= len(self._colors):
            return None
        path = self._colors[self._index]
        data = read_regular_file(path, 'colour image', 'an image file', SourceError,
                                 _max_bytes(self.max_pixels))
        try:
            return decode_image(data, self.max_pixels, exif_orientation=True,
                                what=f'colour image {path}')
        except ImageDecodeError as exc:
            raise SourceError(str(exc)) from None

    def _read(self) -> Optional[RawFrame]:
        try:
            image = self._next_color()
            if image is None and self.loop and self._index and not self.interrupted:
                self._restart()
                image = self._next_color()
            if image is None:
                if self._index < len(self._depths):
                    self.set_state(SourceState.FAILED, f'the colour video ended after '
                                   f'{self._index} frames but there are {len(self._depths)} '
                                   'depth files', logging.ERROR)
                else:
                    self.set_state(SourceState.ENDED, f'all {self._index} pairs read')
                return None
            if self._index >= len(self._depths):
                self.set_state(SourceState.FAILED, f'the colour video has more frames than '
                               f'the {len(self._depths)} depth files', logging.ERROR)
                return None
            depth = read_depth_file(self._depths[self._index], self.max_pixels)
            frame = DepthImage(depth, self.intrinsics, meta=self._depths[self._index].name)
        except (SourceError, ValueError) as exc:
            self.set_state(SourceState.FAILED, str(exc), logging.ERROR)
            return None
        self._index += 1
        return now_raw(image)._replace(depth=frame)

    def _restart(self) -> None:
        self._index = 0
        if self._video is not None:
            self._video.close()
            self._video.open()

    def interrupt(self) -> None:
        super().interrupt()
        if self._video is not None:
            self._video.interrupt()

    def _close(self) -> None:
        if self._video is not None:
            self._video.close()
            self._video = None


def command_line_source(sources: List[str], depth: str, intrinsics: Optional[str],
                        loop: bool = False, enforce_fps: bool = False) -> RGBDFileSource:
    """
    Return the source of `stream-infer COLOR --depth DEPTH --intrinsics FX,FY,CX,CY`.

    Raises ConfigurationError (one line, naming the flag) for anything it cannot take.
    """
    if intrinsics is None or len(sources) != 1 or enforce_fps:
        raise ConfigurationError('--depth takes one SOURCE (a folder of colour images, a video '
                                 'or an image), needs --intrinsics FX,FY,CX,CY and reads every '
                                 'pair (no --enforce-fps)')
    try:
        return RGBDFileSource(sources[0], depth, [float(v) for v in intrinsics.split(',')],
                              loop=loop)
    except ValueError as exc:
        raise ConfigurationError(f'--intrinsics {intrinsics!r}: expected FX,FY,CX,CY (pixels) '
                                 f'or the 9 values of K, row-major ({exc})') from None


__all__ = ['ACCEPTED_DEPTH', 'RGBDFileSource', 'check_depth_file', 'command_line_source',
           'list_files', 'natural_key', 'read_depth_file']
