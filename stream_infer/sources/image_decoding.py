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
Encoded images from outside (compressed messages, image files) decoded safely.

Three things go wrong with images from outside, and each is refused here with one clear reason
(ImageDecodeError) instead of ending the process or flooding stderr:
- decompression bombs: an 875-byte JPEG or a 48 KB PNG can declare 65500x65500 or 20000x20000
  pixels, and a decoder would allocate gigabytes for it. The declared size is read from the
  header first (Pillow's lazy open parses headers only) and checked against max_pixels before
  any pixel is decoded;
- corrupt data: OpenCV's imdecode hands PNGs to libpng and JPEGs to libjpeg, whose default
  handlers print 'libpng error: IHDR: CRC error' / 'Corrupt JPEG data: ...' on stderr for every
  bad image, whatever OpenCV's log level. Pillow's decoders report the same problems as
  exceptions, so decoding goes through Pillow (a dependency of supervision already), which gives
  the same pixels for valid images;
- anything a decoder raises (unknown format, truncated data) becomes an ImageDecodeError.

Topic images keep their stored orientation (as image_transport's decoder does); image files
follow their EXIF orientation (as cv2.imread does).

    >>> import cv2, numpy as np
    >>> png = cv2.imencode('.png', np.zeros((2, 3, 3), np.uint8))[1].tobytes()
    >>> decode_image(png).shape
    (2, 3, 3)
    >>> try:
    ...     decode_image(png, max_pixels=5)
    ... except ImageDecodeError as exc:
    ...     print(exc)
    PNG image declares 3x2 = 6 pixels, more than the limit of 5 (max_image_pixels); refused...
"""

import io
import os
from typing import Optional

import cv2
import numpy as np

from stream_infer.errors import StreamInferError
from stream_infer.options import DecodeOptions

FORMATS = ('JPEG', 'PNG', 'BMP', 'GIF', 'WEBP', 'TIFF', 'PPM')  # Pillow's names
ACCEPTED_FORMATS = 'JPEG, PNG, BMP, GIF, WebP, TIFF, PNM (PPM/PGM/PBM)'
DEFAULT_MAX_PIXELS = DecodeOptions().max_image_pixels
_HIGH_BIT_MODES = {'I;16': 8, 'I;16B': 8, 'I;16L': 8, 'I': 24}  # right shift to 8 bits


class ImageDecodeError(StreamInferError, ValueError):
    """An encoded image that is refused (too large, corrupt, or not an accepted format)."""


def check_pixels(width: int, height: int, max_pixels: int, what: str = 'image') -> None:
    """Raise ImageDecodeError when width x height exceeds max_pixels (or is not positive)."""
    if width <= 0 or height <= 0:
        raise ImageDecodeError(f'{what} declares {width}x{height}: width and height must be > 0')
    if width * height > max_pixels:
        raise ImageDecodeError(
            f'{what} declares {width}x{height} = {width * height} pixels, more than the limit '
            f'of {max_pixels} (max_image_pixels); refused before decoding')


def _open_lazily(data: bytes):
    """Return a Pillow image with only its header parsed (no pixels), or raise ValueError."""
    from PIL import Image
    Image.init()
    prefix = data[:16]
    for name in FORMATS:
        factory, accept = Image.OPEN.get(name, (None, None))
        if factory is None or (accept is not None and not accept(prefix)):
            continue
        # The plugin's own open parses headers only; Image.open() would also run Pillow's
        # process-wide decompression-bomb check, which warns on stderr: ours replaces it.
        return factory(io.BytesIO(data), None)
    raise ValueError(f'not an accepted image format (data starts {bytes(prefix[:8])!r}); '
                     f'accepted: {ACCEPTED_FORMATS}')


def _to_bgr(image) -> np.ndarray:
    """BGR uint8 (H, W, 3) of a loaded Pillow image, as cv2.IMREAD_COLOR would give it."""
    mode = image.mode
    if mode in _HIGH_BIT_MODES:
        pixels = np.asarray(image)
        gray = (pixels.astype(np.uint32) >> _HIGH_BIT_MODES[mode]).astype(np.uint8)
        return cv2.cvtColor(np.ascontiguousarray(gray), cv2.COLOR_GRAY2BGR)
    if mode == 'L':
        return cv2.cvtColor(np.asarray(image), cv2.COLOR_GRAY2BGR)
    if mode == 'RGB':
        return cv2.cvtColor(np.asarray(image), cv2.COLOR_RGB2BGR)
    if mode == 'RGBA' or 'transparency' in image.info:  # alpha is dropped, as OpenCV does
        rgba = np.asarray(image if mode == 'RGBA' else image.convert('RGBA'))
        return cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGR)
    return cv2.cvtColor(np.asarray(image.convert('RGB')), cv2.COLOR_RGB2BGR)  # P, CMYK, 1...


def decode_image(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS,
                 exif_orientation: bool = False, what: str = 'image') -> np.ndarray:
    """
    Decode an encoded image into a BGR uint8 array; ImageDecodeError says why not.

    The declared size is checked against max_pixels before any pixel is decoded.
    exif_orientation: rotate as the EXIF orientation tag says (image files).
    """
    data = bytes(data)
    if not data:
        raise ImageDecodeError(f'cannot decode {what}: no data; accepted: {ACCEPTED_FORMATS}')
    try:
        image = _open_lazily(data)
        check_pixels(image.width, image.height, max_pixels, f'{image.format} {what}')
        image.load()
        if exif_orientation:
            from PIL import ImageOps
            image = ImageOps.exif_transpose(image)
        return _to_bgr(image)
    except ImageDecodeError:
        raise
    except Exception as exc:  # noqa: BLE001 - decoders raise many types for bad data
        reason = str(exc) if type(exc) is ValueError else f'{type(exc).__name__}: {exc}'
        raise ImageDecodeError(f'cannot decode {what} ({len(data)} bytes): {reason}') from None


def declared_size(data: bytes) -> Optional[tuple]:
    """
    Return (format, width, height) as the header declares them, without decoding; None if not.

        >>> import cv2, numpy as np
        >>> declared_size(cv2.imencode('.jpg', np.zeros((4, 6, 3), np.uint8))[1].tobytes())
        ('JPEG', 6, 4)
    """
    try:
        image = _open_lazily(bytes(data))
    except Exception:  # noqa: BLE001 - not an image we can read the header of
        return None
    return image.format, image.width, image.height


def quiet_opencv_logs() -> None:
    """
    Stop OpenCV's and FFmpeg's own log lines on stderr (the process reports problems itself).

    OpenCV's: '[ERROR] imdecode_ ... can't read header', '[ WARN] ... Stream timeout
    triggered'; FFmpeg's (through OpenCV): '[tcp @ 0x...] Connection to tcp://... failed'. For
    processes that report bad input and lost streams themselves (the CLI and the ROS node log
    each reconnect with its reason): a process-wide setting, so the core never calls it by
    itself. FFmpeg's level is read once, by the process's first FFmpeg open, so call this
    before opening any stream; an OPENCV_FFMPEG_LOGLEVEL set in the environment is kept.
    """
    os.environ.setdefault('OPENCV_FFMPEG_LOGLEVEL', '-8')  # AV_LOG_QUIET
    try:
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
    except AttributeError:  # an OpenCV build without the logging module
        cv2.setLogLevel(0)


__all__ = ['ACCEPTED_FORMATS', 'DEFAULT_MAX_PIXELS', 'ImageDecodeError', 'check_pixels',
           'declared_size', 'decode_image', 'quiet_opencv_logs']
