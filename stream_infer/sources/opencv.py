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
Sources read with OpenCV: video files, and live captures that reconnect with backoff.

Video files play paced (like a camera) or as fast as possible; live captures are camera devices
and network streams.

    >>> from stream_infer.bundled import bundled_clip_path
    >>> source = VideoFileSource(bundled_clip_path())
    >>> source.open(); frame = source.read(); source.close()
    >>> frame.image.shape
    (576, 768, 3)
"""

import logging
import os
from pathlib import Path
import socket
import time
from typing import Optional, Tuple, Union
from urllib.parse import urlsplit

import cv2
import numpy as np

from stream_infer.errors import SourceError
from stream_infer.options import ReconnectPolicy
from stream_infer.sources.base import (
    ACCEPTED, FrameSource, LOG, now_raw, RawFrame, redact, SourceState)
from stream_infer.sources.ffmpeg_options import ffmpeg_options, open_network_capture


def fps_of(cap: 'cv2.VideoCapture') -> Optional[float]:
    """Return the capture's frame rate, or None when it does not say (or says nonsense)."""
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
        self.fps = fps_of(cap)
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
            self.set_state(SourceState.ENDED, 'end of file')
            return None
        self._index += 1
        return now_raw(image)

    def _close(self) -> None:
        self._first = None
        if self._cap is not None:
            self._cap.release()
            self._cap = None


DEFAULT_PORTS = {'http': 80, 'https': 443, 'rtsp': 554, 'rtsps': 322, 'rtmp': 1935,
                 'rtmps': 443}  # schemes served over TCP, whose server can be probed cheaply


def tcp_address(url: str) -> Optional[Tuple[str, int]]:
    """
    Return (host, port) of a URL served over TCP, or None (UDP schemes, no host, bad port).

        >>> tcp_address('rtsp://user:pw@10.0.0.5/stream'), tcp_address('udp://0.0.0.0:5000')
        (('10.0.0.5', 554), None)
    """
    try:
        parts = urlsplit(url)
        port = parts.port or DEFAULT_PORTS.get(parts.scheme.lower())
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if not parts.hostname or port is None or (scheme not in DEFAULT_PORTS and scheme != 'tcp'):
        return None
    return parts.hostname, port


def tcp_accepts(address: Tuple[str, int], timeout: float) -> bool:
    """Return True when a TCP connection to address succeeds within timeout (then closed)."""
    try:
        with socket.create_connection(address, timeout=timeout):
            return True
    except OSError:
        return False


class CaptureSource(FrameSource):
    """
    A camera (index) or a network stream (URL) read with OpenCV, reconnecting with backoff.

    A failed read or a stall (no data for read_timeout, network only) counts as a loss; the
    source then reopens after policy.delay(attempt) seconds until it succeeds or
    policy.max_attempts is spent (state 'failed', read() returns None). With
    policy.wait_for_source, a first open that fails is retried the same way (a camera or
    stream that is not up yet at boot). While a TCP stream waits between attempts its server
    is probed every policy.probe_interval: once it accepts connections again (after having
    refused them), the next attempt starts at once instead of after the rest of the backoff.
    Network streams are opened with FFmpeg options from the policy (ffmpeg_options); transport
    says which (rtsp: tcp, udp or auto; else the URL's scheme).
    """

    live = True

    def __init__(self, target: Union[int, str], policy: Optional[ReconnectPolicy] = None) -> None:
        super().__init__()
        self.target = target
        self.policy = policy or ReconnectPolicy()
        if isinstance(target, int):
            self.kind = 'camera'
            self.description = f'camera {target}'
            self._probe_address = None
        else:
            self.kind = 'network'
            self.description = redact(target)
            self._probe_address = tcp_address(target)
            scheme = urlsplit(target).scheme.lower()
            self.transport = (self.policy.rtsp_transport if scheme in ('rtsp', 'rtsps')
                              else scheme)
        self._cap: Optional[cv2.VideoCapture] = None
        self._server_was_down = False  # a probe saw the server refuse since the last attempt
        self._failure = ''  # why the last connect failed, when known

    def _new_capture(self) -> 'cv2.VideoCapture':
        if self.kind == 'camera':
            return cv2.VideoCapture(self.target)
        policy = self.policy
        params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, int(policy.open_timeout * 1000),
                  cv2.CAP_PROP_READ_TIMEOUT_MSEC, int(policy.read_timeout * 1000)]
        options = ffmpeg_options(self.target, policy.rtsp_transport, policy.rtsp_low_latency,
                                 policy.read_timeout)
        return open_network_capture(self.target, options, params)

    def _connect(self) -> bool:
        started = time.monotonic()
        cap = self._new_capture()
        if not cap.isOpened():
            cap.release()
            self._failure = self._why_not(time.monotonic() - started)
            return False
        self._cap = cap
        self.fps = fps_of(cap)
        self._server_was_down = False
        return True

    def _why_not(self, took: float = 0.0) -> str:
        """Say why an open failed, probing a TCP server to tell down, silent and refusing."""
        if self.kind == 'camera':
            return 'no camera at that index, or it is busy'
        address, timeout = self._probe_address, self.policy.read_timeout
        if address is None:
            return 'unreachable, refused, wrong credentials, or not a video stream'
        if not tcp_accepts(address, timeout=min(timeout, 1.0)):
            return f'nothing accepts connections on {address[0]}:{address[1]} (server down?)'
        if took >= 0.9 * min(timeout, self.policy.open_timeout):
            return (f'the server accepts connections but sent no stream within {took:.1f} s '
                    '(read_timeout)')
        return 'the server refused the stream: wrong path or credentials, or not a video stream'

    def _open(self) -> Optional[bool]:
        if self.policy.wait_for_source:
            return False  # the capture thread's first read connects (and retries)
        if not self._connect():
            raise SourceError(f'cannot open {self.description} ({self._failure}); '
                              f'accepted: {ACCEPTED}')
        return None

    def _release(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None

    def _read(self) -> Optional[RawFrame]:
        while not self._interrupt.is_set():
            if self._cap is not None:
                started = time.monotonic()
                ok, image = self._cap.read()
                if ok and image is not None:
                    return now_raw(image)
                if self._interrupt.is_set():
                    break
                self._release()
                self.losses += 1
                reason = self._loss_reason(time.monotonic() - started)
            elif self.state == SourceState.CONNECTING:  # wait_for_source: the first open
                if self._connect():
                    self._set_opened('opened')
                    continue
                reason = f'cannot open yet ({self._failure})'
            else:
                reason = 'not connected'
            if not self._reconnect(reason):
                return None
        return None

    def _loss_reason(self, took: float) -> str:
        timeout = self.policy.read_timeout
        if self.kind == 'network' and took >= 0.9 * timeout:
            return f'stream stalled: no frame for {took:.1f} s (read_timeout {timeout:g} s)'
        return 'stream lost (connection closed, or a frame could not be read)'

    def _reconnect(self, reason: str) -> bool:
        policy = self.policy
        attempt = 0
        while policy.max_attempts is None or attempt < policy.max_attempts:
            delay = policy.delay(attempt)
            self.set_state(SourceState.RECONNECTING, f'{reason}; reconnect attempt '
                           f'{attempt + 1} in {delay:.2f} s', logging.WARNING)
            if not self._wait(delay):
                return False
            if self._connect():
                self.reconnects += 1
                self.set_state(SourceState.CONNECTED,
                               f'reconnected after {attempt + 1} attempt(s)')
                return True
            attempt += 1
            reason = f'cannot reopen ({self._failure})'

        self.set_state(SourceState.FAILED, f'gave up after {attempt} reconnect attempts',
                       logging.ERROR)
        return False

    def _wait(self, delay: float) -> bool:
        """
        Wait up to delay seconds before the next attempt; False when interrupted.

        A TCP stream's server is probed every probe_interval meanwhile: when it accepts a
        connection after having refused one, the wait ends early. A server that accepts but
        whose stream still fails to open is not retried faster than the backoff.
        """
        address = self._probe_address
        if address is None:
            return not self._interrupt.wait(delay)
        interval = self.policy.probe_interval
        deadline = time.monotonic() + delay
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return True
            if self._interrupt.wait(min(interval, remaining)):
                return False
            if tcp_accepts(address, timeout=interval):
                if self._server_was_down:
                    self._server_was_down = False
                    return True
            else:
                self._server_was_down = True

    def _close(self) -> None:
        self._release()
