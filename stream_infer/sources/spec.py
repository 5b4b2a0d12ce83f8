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
open_source: what a user typed or passed (index, path, URL, array, iterable) -> a FrameSource.

    >>> open_source('rtsp://user:pw@cam/stream').description
    'rtsp://***@cam/stream'
    >>> open_source(None).kind
    'push'
    >>> open_source('/dev/video2').description
    'camera /dev/video2'
"""

import os
from pathlib import Path
import re
from typing import Any, Optional

import numpy as np

from stream_infer.errors import SourceError
from stream_infer.options import ReconnectPolicy
from stream_infer.sources.base import ACCEPTED, FrameSource, IMAGE_SUFFIXES, redact, URL_SCHEMES
from stream_infer.sources.memory import ImageSource, IteratorSource, PushSource
from stream_infer.sources.opencv import CaptureSource, VideoFileSource


_V4L2_DEVICE = re.compile(r'/dev/video(\d+)')


def camera_device_index(path: str) -> Optional[int]:
    """Return N when path is the V4L2 device /dev/videoN or a link to it (/dev/v4l/by-id/...)."""
    match = _V4L2_DEVICE.fullmatch(os.path.realpath(path))
    return int(match.group(1)) if match else None


def _camera_device(text: str, reconnect: Optional[ReconnectPolicy]) -> CaptureSource:
    """Open a camera device path by its index (OpenCV's V4L2 backend), described by the path."""
    source = CaptureSource(camera_device_index(text), reconnect)
    real = os.path.realpath(text)
    source.description = f'camera {text}' + ('' if real == text else f' ({real})')
    return source


def _is_url(text: str) -> bool:
    scheme, sep, _ = text.partition('://')
    return bool(sep) and scheme.lower() in URL_SCHEMES


def open_source(spec: Any, *, enforce_fps: bool = False, loop: bool = False,
                reconnect: Optional[ReconnectPolicy] = None) -> FrameSource:
    """
    Build (not open) the FrameSource for spec; raise SourceError naming what is accepted.

    spec: None (push mode), a FrameSource, a camera index (int, '0') or 'webcam', a URL, a
    video or image file path, a BGR image array, or an iterable of frames.
    """
    if spec is None:
        return PushSource()
    if isinstance(spec, FrameSource):
        return spec
    if isinstance(spec, bool):
        raise SourceError(f'bad source {spec!r}; accepted: {ACCEPTED}')
    if isinstance(spec, (int, np.integer)):
        if spec < 0:
            raise SourceError(f'camera index must be >= 0, got {spec}; accepted: {ACCEPTED}')
        return CaptureSource(int(spec), reconnect)
    if isinstance(spec, np.ndarray):
        return ImageSource(spec)
    if isinstance(spec, (str, os.PathLike)):
        text = os.fspath(spec)
        if isinstance(spec, str):
            stripped = text.strip()
            if stripped.lower() == 'webcam':
                return CaptureSource(0, reconnect)
            if stripped.isdigit():
                return CaptureSource(int(stripped), reconnect)
            if _is_url(stripped):
                return CaptureSource(stripped, reconnect)
            if '://' in stripped:
                raise SourceError(f'unsupported URL scheme in {redact(stripped)!r}; accepted: '
                                  f'{ACCEPTED}')
        if camera_device_index(text) is not None:
            return _camera_device(text, reconnect)
        path = Path(text)
        if not path.exists():
            raise SourceError(f'source not found: {redact(text)!r} is not an existing file; '
                              f'accepted: {ACCEPTED}')
        if path.is_dir():
            raise SourceError(f'source {text!r} is a directory; accepted: {ACCEPTED}')
        if not path.is_file():
            raise SourceError(f'source {text!r} is not a regular file (a device, pipe or '
                              'socket); cameras are /dev/videoN (or a /dev/v4l/ link to one) or '
                              f'their index N; accepted: {ACCEPTED}')
        if path.suffix.lower() in IMAGE_SUFFIXES:
            return ImageSource(path)
        return VideoFileSource(path, enforce_fps=enforce_fps, loop=loop)
    if isinstance(spec, (bytes, dict)):
        raise SourceError(f'bad source of type {type(spec).__name__}; accepted: {ACCEPTED}')
    if hasattr(spec, '__iter__') or hasattr(spec, '__next__'):
        return IteratorSource(spec)
    raise SourceError(f'bad source of type {type(spec).__name__}; accepted: {ACCEPTED}')
