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
What every frame source shares: the frame containers, the states, the base class, redaction.

Every source hands out RawFrames (image + capture timestamps + meta); the engine numbers them
into Frames. Blocking I/O lives in the sources so the engine's threads can stay simple: a
source's read() returns the next frame, or None when there will be no more (ended, gave up, or
interrupted). Descriptions never contain URL credentials (redact).

    >>> redact('rtsp://admin:secret@10.0.0.5/stream?token=abc')
    'rtsp://***@10.0.0.5/stream?token=***'
"""

from dataclasses import dataclass
from enum import StrEnum
import logging
import re
import threading
import time
from typing import Any, Callable, NamedTuple, Optional

import cv2
import numpy as np

LOG = logging.getLogger('stream_infer.sources')


class SourceState(StrEnum):
    """Where a source is, as reported in Stats.source_state and to state listeners."""

    CONNECTING = 'connecting'
    CONNECTED = 'connected'
    RECONNECTING = 'reconnecting'
    ENDED = 'ended'  # no more frames (end of file, iterator exhausted, single image done)
    STOPPED = 'stopped'  # closed, or never opened
    FAILED = 'failed'  # gave up (reconnect attempts spent, a bad frame from an iterator)


URL_SCHEMES = ('rtsp', 'rtsps', 'rtmp', 'rtmps', 'http', 'https', 'udp', 'tcp', 'rtp', 'srt')
IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp', '.webp', '.tif', '.tiff', '.ppm', '.pgm')
ACCEPTED = ("a camera index (0), device (/dev/video0) or 'webcam', a video file, an image "
            f"file, an {'/'.join(URL_SCHEMES[:6])} URL, an iterable of BGR frames, a single BGR "
            'image array, or None for push mode (put_frame)')

_USERINFO = re.compile(r'(?<=://)[^/@\s]*@')
_SECRET_QUERY = re.compile(
    r'(?i)([?&;](?:pass|passwd|password|pwd|token|key|secret|auth|signature|sig)=)[^&;#\s]*')


def redact(text: str) -> str:
    """Hide URL credentials (user:password@ and secret-looking query values) in text."""
    return _SECRET_QUERY.sub(r'\1***', _USERINFO.sub('***@', str(text)))


class RawFrame(NamedTuple):
    """A frame as a source captured it, before the engine numbers it."""

    image: np.ndarray
    timestamp: float  # capture time, seconds of the source's clock (time.time() by default)
    monotonic: float  # time.monotonic() at capture, for ages
    meta: Any = None
    depth: Any = None  # a stream_infer.depth.DepthImage aligned to image, or None


@dataclass(frozen=True)
class Frame:
    """
    One numbered frame: the image, its id, capture timestamps and the caller's meta.

    image is BGR uint8 (H, W, 3) and shared by every consumer: copy it before drawing on it.
    timestamp is the capture time in seconds of the stream's clock (time.time() unless the
    stream was given clock=; in push mode the caller's stamp);
    monotonic is time.monotonic() when the frame entered the engine (ages are measured from it);
    meta is handed back untouched (e.g. the ROS header of the image message);
    depth is the aligned DepthImage that came with the frame (None: 2D only).
    """

    image: np.ndarray
    frame_id: int
    timestamp: float
    monotonic: float
    meta: Any = None
    depth: Any = None

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    @property
    def height(self) -> int:
        return int(self.image.shape[0])


def as_bgr(image: Any) -> np.ndarray:
    """Return image as BGR uint8 (H, W, 3); gray and BGRA are converted, others refused."""
    if not isinstance(image, np.ndarray):
        raise ValueError(f'a frame must be a numpy array (BGR uint8, H x W x 3), got '
                         f'{type(image).__name__}')
    if image.dtype != np.uint8:
        raise ValueError(f'a frame must be uint8 (BGR 0..255), got dtype {image.dtype}')
    if image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 1):
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    elif image.ndim == 3 and image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f'a frame must be H x W x 3 (BGR), or H x W gray, or H x W x 4 BGRA; '
                         f'got shape {image.shape}')
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f'a frame must not be empty, got shape {image.shape}')
    return image


StateListener = Callable[[SourceState, str], None]


class FrameSource:
    """
    Base class of frame sources.

    Subclasses set description (safe to log), live (True when frames keep coming on their own
    clock, so stale ones are dropped rather than waited for), fps and frame_count when known,
    and implement _open, _read and _close. read() returns None at the end of the stream.
    clock: None stamps captured frames with the wall clock; a callable returning seconds (e.g.
    a ROS node's clock, which may be simulated time) stamps them with it instead.
    """

    description = 'source'
    live = False
    kind = 'source'
    transport = ''  # network streams: how they are carried (rtsp: tcp, udp or auto)
    stamps_frames = True  # read() may restamp frames with clock (False: the caller stamps them)

    def __init__(self) -> None:
        self.fps: Optional[float] = None
        self.frame_count: Optional[int] = None
        self.state = SourceState.STOPPED
        self.losses = 0  # connection losses (failed reads, stalls)
        self.reconnects = 0  # successful recoveries
        self.skipped = 0  # frames the source itself dropped (pacing lag, push replaced)
        self.last_error = ''  # the last warning or error it reported (redacted), for health
        self.listener: Optional[StateListener] = None
        self.clock: Optional[Callable[[], float]] = None
        self._interrupt = threading.Event()

    def __repr__(self) -> str:
        return f'<{type(self).__name__} {self.description}>'

    def set_state(self, state: SourceState, message: str = '', level: int = logging.INFO) -> None:
        """Record a new state, log it (redacted) and tell the listener."""
        self.state = state
        if message:
            LOG.log(level, '%s: %s', self.description, redact(message))
            if level >= logging.WARNING:
                self.last_error = redact(message)
        listener = self.listener
        if listener is not None:
            listener(state, redact(message))

    def open(self) -> None:  # noqa: A003 - the natural name, as in io
        """
        Open the source; raise SourceError (clear message) when it cannot be opened.

        A source that waits for its device or server (CaptureSource with wait_for_source)
        stays 'connecting' and connects on its first read instead.
        """
        self._interrupt.clear()
        self.losses = self.reconnects = self.skipped = 0
        self.last_error = ''
        self.set_state(SourceState.CONNECTING)
        if self._open() is False:
            return  # it connects on its first read (CaptureSource with wait_for_source)
        self._set_opened()

    def _set_opened(self, bare: str = '') -> None:
        """State CONNECTED, saying what was opened (bare: the message when nothing is known)."""
        details = self._details()
        self.set_state(SourceState.CONNECTED, f'opened ({details})' if details else bare)

    def read(self) -> Optional[RawFrame]:
        """Return the next frame, or None when there are no more (state says why)."""
        if self._interrupt.is_set():
            return None
        raw = self._read()
        clock = self.clock
        if raw is not None and clock is not None and self.stamps_frames:
            raw = raw._replace(timestamp=float(clock()))  # taken right after the capture
        return raw

    def interrupt(self) -> None:
        """Make a blocked read() return soon (None); used by the engine's stop()."""
        self._interrupt.set()

    def close(self) -> None:
        """Release the device, file or connection; safe to call twice."""
        self._close()
        if self.state not in (SourceState.ENDED, SourceState.FAILED):
            self.set_state(SourceState.STOPPED)

    @property
    def interrupted(self) -> bool:
        return self._interrupt.is_set()

    def _details(self) -> str:
        parts = []
        if self.fps:
            parts.append(f'{self.fps:g} fps')
        if self.frame_count:
            parts.append(f'{self.frame_count} frames')
        return ', '.join(parts)

    def _open(self) -> Optional[bool]:
        """Open; raise SourceError when impossible; return False to connect on first read."""
        raise NotImplementedError

    def _read(self) -> Optional[RawFrame]:
        raise NotImplementedError

    def _close(self) -> None:
        pass


def now_raw(image: np.ndarray, meta: Any = None) -> RawFrame:
    """Return a RawFrame captured now (wall clock for stamps, monotonic for ages)."""
    return RawFrame(image, time.time(), time.monotonic(), meta)
