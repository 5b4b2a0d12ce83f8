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
Frame sources: camera, video file, network URL, iterator, single image, and push.

Every source hands out RawFrames (image + capture timestamps + meta); the engine numbers them.
Blocking I/O lives here so the engine's threads can stay simple: a source's read() returns the
next frame, or None when there will be no more (ended, gave up, or interrupted). Live and
network sources reconnect with exponential backoff inside read(), reporting each loss and
recovery through their state listener. Descriptions never contain URL credentials.
"""

from dataclasses import dataclass
import logging
import os
from pathlib import Path
import re
import threading
import time
from typing import Any, Callable, Iterable, Iterator, NamedTuple, Optional, Union

import cv2
import numpy as np

from stream_infer.errors import SourceError

LOG = logging.getLogger('stream_infer.sources')

# Source states, as reported in Stats.source_state and to state listeners.
CONNECTING = 'connecting'
CONNECTED = 'connected'
RECONNECTING = 'reconnecting'
ENDED = 'ended'
STOPPED = 'stopped'
FAILED = 'failed'
SOURCE_STATES = (CONNECTING, CONNECTED, RECONNECTING, ENDED, STOPPED, FAILED)

URL_SCHEMES = ('rtsp', 'rtsps', 'rtmp', 'rtmps', 'http', 'https', 'udp', 'tcp', 'rtp', 'srt')
IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp', '.webp', '.tif', '.tiff', '.ppm', '.pgm')
ACCEPTED = ("a camera index (0) or 'webcam', a video file, an image file, an "
            f"{'/'.join(URL_SCHEMES[:6])} URL, an iterable of BGR frames, a single BGR "
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
    timestamp: float  # wall-clock capture time (time.time()), for stamping
    monotonic: float  # time.monotonic() at capture, for ages
    meta: Any = None


@dataclass(frozen=True)
class Frame:
    """
    One numbered frame: the image, its id, capture timestamps and the caller's meta.

    image is BGR uint8 (H, W, 3) and shared by every consumer: copy it before drawing on it.
    timestamp is wall-clock seconds (time.time(), or the caller's stamp in push mode);
    monotonic is time.monotonic() when the frame entered the engine (ages are measured from it);
    meta is handed back untouched (e.g. the ROS header of the image message).
    """

    image: np.ndarray
    frame_id: int
    timestamp: float
    monotonic: float
    meta: Any = None

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    @property
    def height(self) -> int:
        return int(self.image.shape[0])


@dataclass(frozen=True)
class ReconnectPolicy:
    """
    How live and network sources recover from failures and stalls.

    The delay before attempt k is initial_delay * 2**k, capped at max_delay; max_attempts None
    means forever. open_timeout and read_timeout (seconds) bound network opens and reads: a read
    that gets no data for read_timeout is a stall and triggers a reconnect.
    """

    initial_delay: float = 0.5
    max_delay: float = 5.0
    max_attempts: Optional[int] = None
    open_timeout: float = 10.0
    read_timeout: float = 5.0

    def __post_init__(self) -> None:
        for name in ('initial_delay', 'max_delay', 'open_timeout', 'read_timeout'):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not value > 0:
                raise ValueError(f'{name} must be a number > 0 (seconds), got {value!r}')
        if self.max_delay < self.initial_delay:
            raise ValueError(f'max_delay ({self.max_delay}) must be >= initial_delay '
                             f'({self.initial_delay})')
        if self.max_attempts is not None and (
                not isinstance(self.max_attempts, int) or self.max_attempts < 1):
            raise ValueError(f'max_attempts must be an int >= 1 or None (forever), got '
                             f'{self.max_attempts!r}')

    def delay(self, attempt: int) -> float:
        """Seconds to wait before reconnect attempt number attempt (0-based)."""
        return min(self.max_delay, self.initial_delay * (2.0 ** min(attempt, 60)))


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


StateListener = Callable[[str, str], None]


class FrameSource:
    """
    Base class of frame sources.

    Subclasses set description (safe to log), live (True when frames keep coming on their own
    clock, so stale ones are dropped rather than waited for), fps and frame_count when known,
    and implement _open, _read and _close. read() returns None at the end of the stream.
    """

    description = 'source'
    live = False
    kind = 'source'

    def __init__(self) -> None:
        self.fps: Optional[float] = None
        self.frame_count: Optional[int] = None
        self.state = STOPPED
        self.losses = 0  # connection losses (failed reads, stalls)
        self.reconnects = 0  # successful recoveries
        self.skipped = 0  # frames the source itself dropped (pacing lag, push replaced)
        self.listener: Optional[StateListener] = None
        self._interrupt = threading.Event()

    def __repr__(self) -> str:
        return f'<{type(self).__name__} {self.description}>'

    def set_state(self, state: str, message: str = '', level: int = logging.INFO) -> None:
        """Record a new state, log it (redacted) and tell the listener."""
        self.state = state
        if message:
            LOG.log(level, '%s: %s', self.description, redact(message))
        listener = self.listener
        if listener is not None:
            listener(state, redact(message))

    def open(self) -> None:  # noqa: A003 - the natural name, as in io
        """Open the source; raise SourceError (clear message) when it cannot be opened."""
        self._interrupt.clear()
        self.losses = self.reconnects = self.skipped = 0
        self.set_state(CONNECTING)
        self._open()
        self.set_state(CONNECTED, f'opened ({self._details()})' if self._details() else '')

    def read(self) -> Optional[RawFrame]:
        """Return the next frame, or None when there are no more (state says why)."""
        if self._interrupt.is_set():
            return None
        return self._read()

    def interrupt(self) -> None:
        """Make a blocked read() return soon (None); used by the engine's stop()."""
        self._interrupt.set()

    def close(self) -> None:
        """Release the device, file or connection; safe to call twice."""
        self._close()
        if self.state not in (ENDED, FAILED):
            self.set_state(STOPPED)

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

    def _open(self) -> None:
        raise NotImplementedError

    def _read(self) -> Optional[RawFrame]:
        raise NotImplementedError

    def _close(self) -> None:
        pass


def _now_raw(image: np.ndarray, meta: Any = None) -> RawFrame:
    return RawFrame(image, time.time(), time.monotonic(), meta)


def _fps_of(cap: 'cv2.VideoCapture') -> Optional[float]:
    fps = cap.get(cv2.CAP_PROP_FPS)
    return float(fps) if fps and np.isfinite(fps) and 0 < fps < 1000 else None


class VideoFileSource(FrameSource):
    """
    A video file read with OpenCV.

    enforce_fps=True plays it in real time at the file's frame rate, like a live camera: it is
    'live', so frames the model cannot keep up with are dropped, and when reading itself falls
    behind the schedule the source skips frames (counted). enforce_fps=False reads every frame
    as fast as the consumer takes them (nothing dropped). loop=True starts again at the end.
    """

    kind = 'file'

    def __init__(self, path: Union[str, os.PathLike], enforce_fps: bool = False,
                 loop: bool = False) -> None:
        super().__init__()
        self.path = Path(path)
        self.description = f'file {self.path}'
        self.enforce_fps = bool(enforce_fps)
        self.loop = bool(loop)
        self.live = self.enforce_fps
        self._cap: Optional[cv2.VideoCapture] = None
        self._first: Optional[np.ndarray] = None
        self._t0 = 0.0
        self._index = 0  # frames of the file consumed (read or skipped) since _t0

    def _open(self) -> None:
        if not self.path.is_file():
            raise SourceError(f'video file not found: {self.path}; accepted: {ACCEPTED}')
        if not os.access(self.path, os.R_OK):
            raise SourceError(f'video file not readable (permissions): {self.path}')
        cap = cv2.VideoCapture(str(self.path))
        ok, first = cap.read() if cap.isOpened() else (False, None)
        if not ok:
            cap.release()
            raise SourceError(f'cannot decode video file {self.path}: OpenCV could not read a '
                              'frame from it (not a video, corrupt, or an unsupported codec)')
        self.fps = _fps_of(cap)
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        self.frame_count = count if count > 0 else None
        if self.enforce_fps and self.fps is None:
            LOG.warning('%s: frame rate unknown; enforce_fps plays it at 30 fps', self.description)
        self._cap = cap
        self._first = first  # checked above; handed out by the first read
        self._t0 = 0.0
        self._index = 0

    def _restart(self) -> tuple:
        """Seek back to the first frame (reopening when the container cannot seek)."""
        self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
        ok, image = self._cap.read()
        if not ok:
            self._cap.release()
            self._cap = cv2.VideoCapture(str(self.path))
            ok, image = self._cap.read()
        self._t0, self._index = time.monotonic(), 0
        return ok, image

    def _pace(self, cap: 'cv2.VideoCapture') -> bool:
        """Wait for the next frame's due time; skip frames when behind. False: interrupted."""
        period = 1.0 / (self.fps or 30.0)
        now = time.monotonic()
        if self._t0 == 0.0:
            self._t0 = now
        due = self._t0 + self._index * period
        if now < due:
            return not self._interrupt.wait(due - now)
        for _ in range(int((now - due) / period)):  # a live camera would have replaced these
            if not cap.grab():
                break
            self._index += 1
            self.skipped += 1
        return True

    def _read(self) -> Optional[RawFrame]:
        cap = self._cap
        if cap is None:
            return None
        if self.enforce_fps and not self._pace(cap):
            return None
        if self._first is not None:
            ok, image, self._first = True, self._first, None
        else:
            ok, image = cap.read()
        if not ok and self.loop and not self._interrupt.is_set():
            ok, image = self._restart()
        if not ok:
            self.set_state(ENDED, 'end of file')
            return None
        self._index += 1
        return _now_raw(image)

    def _close(self) -> None:
        self._first = None
        if self._cap is not None:
            self._cap.release()
            self._cap = None


class CaptureSource(FrameSource):
    """
    A camera (index) or a network stream (URL) read with OpenCV, reconnecting with backoff.

    A failed read or a stall (no data for read_timeout, network only) counts as a loss; the
    source then reopens after policy.delay(attempt) seconds until it succeeds or
    policy.max_attempts is spent (state 'failed', read() returns None).
    """

    live = True

    def __init__(self, target: Union[int, str], policy: Optional[ReconnectPolicy] = None) -> None:
        super().__init__()
        self.target = target
        self.policy = policy or ReconnectPolicy()
        if isinstance(target, int):
            self.kind = 'camera'
            self.description = f'camera {target}'
        else:
            self.kind = 'network'
            self.description = redact(target)
        self._cap: Optional[cv2.VideoCapture] = None

    def _new_capture(self) -> 'cv2.VideoCapture':
        if self.kind == 'camera':
            return cv2.VideoCapture(self.target)
        params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, int(self.policy.open_timeout * 1000),
                  cv2.CAP_PROP_READ_TIMEOUT_MSEC, int(self.policy.read_timeout * 1000)]
        return cv2.VideoCapture(self.target, cv2.CAP_FFMPEG, params)

    def _connect(self) -> bool:
        cap = self._new_capture()
        if not cap.isOpened():
            cap.release()
            return False
        self._cap = cap
        self.fps = _fps_of(cap)
        return True

    def _open(self) -> None:
        if not self._connect():
            what = ('no camera at that index, or it is busy' if self.kind == 'camera'
                    else 'unreachable, refused, wrong credentials, or not a video stream')
            raise SourceError(f'cannot open {self.description} ({what}); accepted: {ACCEPTED}')

    def _release(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None

    def _read(self) -> Optional[RawFrame]:
        while not self._interrupt.is_set():
            if self._cap is not None:
                ok, image = self._cap.read()
                if ok and image is not None:
                    return _now_raw(image)
                if self._interrupt.is_set():
                    break
                self._release()
                self.losses += 1
            if not self._reconnect():
                return None
        return None

    def _reconnect(self) -> bool:
        policy = self.policy
        attempt = 0
        while policy.max_attempts is None or attempt < policy.max_attempts:
            delay = policy.delay(attempt)
            self.set_state(RECONNECTING, f'stream lost or stalled; reconnect attempt '
                           f'{attempt + 1} in {delay:.2f} s', logging.WARNING)
            if self._interrupt.wait(delay):
                return False
            if self._connect():
                self.reconnects += 1
                self.set_state(CONNECTED, f'reconnected after {attempt + 1} attempt(s)')
                return True
            attempt += 1
        self.set_state(FAILED, f'gave up after {attempt} reconnect attempts', logging.ERROR)
        return False

    def _close(self) -> None:
        self._release()


class IteratorSource(FrameSource):
    """Frames from a Python iterable or generator; every frame is processed (not live)."""

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
            image = next(self._iterator)
        except StopIteration:
            self.set_state(ENDED, 'iterator exhausted')
            return None
        try:
            return _now_raw(as_bgr(image))
        except ValueError as exc:
            self.set_state(FAILED, f'bad frame from the iterator: {exc}', logging.ERROR)
            return None


class ImageSource(FrameSource):
    """A single image (file or array): one frame, then the end."""

    kind = 'image'

    def __init__(self, image: Union[str, os.PathLike, np.ndarray]) -> None:
        super().__init__()
        self._path = None if isinstance(image, np.ndarray) else Path(image)
        self._array = image if isinstance(image, np.ndarray) else None
        self.description = f'image {self._path}' if self._path else 'image array'
        self._pending: Optional[np.ndarray] = None

    def _open(self) -> None:
        if self._path is not None:
            if not self._path.is_file():
                raise SourceError(f'image file not found: {self._path}; accepted: {ACCEPTED}')
            image = cv2.imread(str(self._path), cv2.IMREAD_COLOR)
            if image is None:
                raise SourceError(f'cannot decode image file {self._path} (not an image, or '
                                  'a format OpenCV cannot read)')
            self._pending = image
        else:
            try:
                self._pending = as_bgr(self._array)
            except ValueError as exc:
                raise SourceError(str(exc)) from None
        self.frame_count = 1

    def _read(self) -> Optional[RawFrame]:
        image, self._pending = self._pending, None
        if image is None:
            self.set_state(ENDED, 'single image done')
            return None
        return _now_raw(image)


class PushSource(FrameSource):
    """
    Frames put from outside (e.g. a ROS image callback) with put(); live: the newest one wins.

    put() never blocks: a frame not yet taken is replaced by the newer one and counted in
    skipped. meta is handed back untouched with the frame.
    """

    kind = 'push'
    description = 'push (put_frame)'
    live = True

    def __init__(self) -> None:
        super().__init__()
        self._cond = threading.Condition()
        self._pending: Optional[RawFrame] = None
        self._closed = True

    def _open(self) -> None:
        with self._cond:
            self._pending = None
            self._closed = False

    def put(self, image: np.ndarray, timestamp: Optional[float] = None, meta: Any = None) -> bool:
        """Hand over a frame; returns False when the source is not open (frame ignored)."""
        image = as_bgr(image)
        raw = RawFrame(image, time.time() if timestamp is None else float(timestamp),
                       time.monotonic(), meta)
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
        path = Path(text)
        if not path.exists():
            raise SourceError(f'source not found: {redact(text)!r} is not an existing file; '
                              f'accepted: {ACCEPTED}')
        if path.is_dir():
            raise SourceError(f'source {text!r} is a directory; accepted: {ACCEPTED}')
        if path.suffix.lower() in IMAGE_SUFFIXES:
            return ImageSource(path)
        return VideoFileSource(path, enforce_fps=enforce_fps, loop=loop)
    if isinstance(spec, (bytes, dict)):
        raise SourceError(f'bad source of type {type(spec).__name__}; accepted: {ACCEPTED}')
    if hasattr(spec, '__iter__') or hasattr(spec, '__next__'):
        return IteratorSource(spec)
    raise SourceError(f'bad source of type {type(spec).__name__}; accepted: {ACCEPTED}')
