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
FFmpeg's demuxer options for one network capture, handed to OpenCV at open time.

OpenCV takes FFmpeg options only from the environment variable OPENCV_FFMPEG_CAPTURE_OPTIONS
('key;value|key;value'), read by each cv2.VideoCapture open: a process-wide setting. So every
network open of this package goes through open_network_capture, which sets the variable to
this capture's options right around the cv2.VideoCapture call and puts the previous value back
after the last open using it. Opens with the same options (the cameras of one node) run at
once; an open with other options waits until those are done (each open is bounded by
open_timeout, a silent server by read_timeout), so no capture is opened with another's
options. A value the user set in the environment is kept and appended after ours (FFmpeg
takes the last value of a key, so the user's win).

    >>> rtsp = ffmpeg_options('rtsp://cam/s', 'tcp', low_latency=False, read_timeout=5.0)
    >>> rtsp['rtsp_transport'], rtsp.get('timeout', rtsp.get('stimeout'))  # stimeout: FFmpeg 4
    ('tcp', '5000000')
    >>> ffmpeg_options('http://cam/s.mjpg', 'tcp', low_latency=True, read_timeout=2.0)
    {'timeout': '2000000'}
    >>> format_options({'rtsp_transport': 'udp', 'fflags': 'nobuffer'})
    'rtsp_transport;udp|fflags;nobuffer'
"""

import functools
import os
import re
import threading
from typing import Dict, Optional, Sequence
from urllib.parse import urlsplit

import cv2

ENV = 'OPENCV_FFMPEG_CAPTURE_OPTIONS'
RTSP_SCHEMES = ('rtsp', 'rtsps')
TIMEOUT_SCHEMES = ('rtsp', 'rtsps', 'http', 'https')  # FFmpeg's socket I/O 'timeout' option
# Low latency, RTSP: probe only what the SDP already says (no second of frames buffered while
# FFmpeg estimates the frame rate), hand out each frame as it is decoded, and keep the RTP
# reordering queue (UDP) to 100 ms. Not fflags=nobuffer: it discards the packets read while
# probing, the session's first key frame among them, so the first frame waits for the next
# key frame (a whole GOP; measured: 2.1 s instead of 0.4 s with a 2 s GOP).
# FFmpeg before 5.0 (libavformat 58, e.g. in the opencv-python 4.6 wheels) read RTSP's
# 'timeout' as how long to *listen* for an incoming connection (the open then fails); its
# socket timeout was 'stimeout'. 5.0 renamed stimeout to timeout.
FFMPEG5_AVFORMAT = 59
LOW_LATENCY = {'flags': 'low_delay', 'probesize': '32768', 'analyzeduration': '500000',
               'fpsprobesize': '0', 'max_delay': '100000'}


class _SharedEnvironment:
    """One value of ENV at a time, shared by the opens that want that same value."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._value: Optional[str] = None
        self._users = 0
        self._previous: Optional[str] = None

    def acquire(self, options: Dict[str, str]) -> None:
        with self._changed:
            while self._users and self._value != format_options(options):
                self._changed.wait()
            if not self._users:
                self._previous = os.environ.get(ENV)
                value = format_options(options)
                merged = '|'.join(part for part in (value, self._previous) if part)
                if merged:
                    os.environ[ENV] = merged
                self._value = value
            self._users += 1

    def release(self) -> None:
        with self._changed:
            self._users -= 1
            if not self._users:
                if self._previous is None:
                    os.environ.pop(ENV, None)
                else:
                    os.environ[ENV] = self._previous
                self._value = None
                self._changed.notify_all()


_ENVIRONMENT = _SharedEnvironment()


def ffmpeg_options(url: str, rtsp_transport: str, low_latency: bool,
                   read_timeout: float) -> Dict[str, str]:
    """
    Return FFmpeg's options for url: RTSP transport and low-latency probing, socket timeout.

    The socket timeout (read_timeout, in microseconds for FFmpeg) makes a server that accepts
    the connection and then sends nothing fail the open after read_timeout instead of hanging
    until open_timeout.
    """
    scheme = urlsplit(url).scheme.lower()
    options: Dict[str, str] = {}
    if scheme in RTSP_SCHEMES:
        if rtsp_transport != 'auto':
            options['rtsp_transport'] = rtsp_transport
        if low_latency:
            options.update(LOW_LATENCY)
    if scheme in TIMEOUT_SCHEMES:
        old_rtsp = scheme in RTSP_SCHEMES and avformat_major() < FFMPEG5_AVFORMAT
        options['stimeout' if old_rtsp else 'timeout'] = str(int(read_timeout * 1_000_000))
    return options


@functools.lru_cache(maxsize=1)
def avformat_major() -> int:
    """Return the major version of OpenCV's libavformat (FFmpeg); unknown: assume current."""
    found = re.search(r'avformat:\s+YES \((\d+)\.', cv2.getBuildInformation())
    return int(found.group(1)) if found else FFMPEG5_AVFORMAT


def format_options(options: Dict[str, str]) -> str:
    """Return options in OpenCV's 'key;value|key;value' form."""
    return '|'.join(f'{key};{value}' for key, value in options.items())


def open_network_capture(url: str, options: Dict[str, str],
                         params: Sequence[int]) -> 'cv2.VideoCapture':
    """Open url with FFmpeg and options (see the module's docstring); the caller checks it."""
    _ENVIRONMENT.acquire(options)
    try:
        return cv2.VideoCapture(url, cv2.CAP_FFMPEG, list(params))
    finally:
        _ENVIRONMENT.release()


__all__ = ['ENV', 'LOW_LATENCY', 'ffmpeg_options', 'format_options', 'open_network_capture']
