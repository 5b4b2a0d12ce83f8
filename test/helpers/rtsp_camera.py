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
Drive helpers/rtsp_server.py from a test or benchmark: start, stall, resume, kill, restart.

The server needs the system python's GStreamer (rtsp_server.py's docstring names the Debian
packages); missing_packages() says what is missing, for a skip with the reason.
"""

from pathlib import Path
import socket
import subprocess
from typing import Optional

SERVER = Path(__file__).resolve().parent / 'rtsp_server.py'
SYSTEM_PYTHON = '/usr/bin/python3'
APT_PACKAGES = ('python3-gi', 'gir1.2-gst-rtsp-server-1.0', 'gstreamer1.0-plugins-base',
                'gstreamer1.0-plugins-good', 'gstreamer1.0-plugins-ugly')
_CHECK = """
import gi
gi.require_version('Gst', '1.0'); gi.require_version('GstRtspServer', '1.0')
gi.require_version('GstVideo', '1.0')
from gi.repository import Gst, GstRtspServer, GstVideo
Gst.init(None)
missing = [e for e in ('appsrc', 'videoconvert', 'x264enc', 'rtph264pay')
           if Gst.ElementFactory.find(e) is None]
print(' '.join(missing))
"""
_missing: Optional[str] = None


def missing_packages() -> str:
    """Return '' when the RTSP server can run, else what is missing (for pytest.skip)."""
    global _missing
    if _missing is None:
        try:
            done = subprocess.run([SYSTEM_PYTHON, '-c', _CHECK], capture_output=True,
                                  text=True, timeout=60)
            lacking = done.stdout.strip() if done.returncode == 0 else \
                (done.stderr.strip().splitlines() or ['python3-gi'])[-1]
        except (OSError, subprocess.TimeoutExpired) as exc:
            lacking = f'{SYSTEM_PYTHON}: {exc}'
        _missing = '' if not lacking else (
            f'no GStreamer RTSP server on the system python ({lacking}); install the Debian '
            f'packages: apt-get install -y {" ".join(APT_PACKAGES)}')
    return _missing


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


class RtspCamera:
    """One rtsp_server.py process on a fixed port (so a restart is the same camera)."""

    def __init__(self, port: Optional[int] = None, **options: object) -> None:
        self.port = port or free_port()
        self.options = dict(options)
        self.process: Optional[subprocess.Popen] = None

    def start(self, **changes: object) -> 'RtspCamera':
        """Start (again), with changed options (e.g. width=640); wait until it listens."""
        self.options.update(changes)
        args = [SYSTEM_PYTHON, str(SERVER), '--port', str(self.port)]
        for name, value in self.options.items():
            flag = '--' + name.replace('_', '-')
            args += [flag] if value is True else [f'--no-{flag[2:]}'] if value is False \
                else [flag, str(value)]
        self.process = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True)
        line = self.process.stdout.readline()
        if not line.startswith('READY'):
            self.kill()
            raise RuntimeError(f'rtsp_server.py did not start: {line!r} '
                               f'{self.process.stderr.read()}')
        return self

    def command(self, text: str) -> None:
        """Send 'stall' or 'resume'; wait for the server's acknowledgement."""
        self.process.stdin.write(text + '\n')
        self.process.stdin.flush()
        answer = self.process.stdout.readline()
        if answer.strip() != f'OK {text}':
            raise RuntimeError(f'rtsp_server.py answered {answer!r} to {text!r}')

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr) \
                if self.process is not None else ():
            stream.close()

    def url(self, path: str = '/stream', credentials: str = '') -> str:
        return f'rtsp://{credentials + "@" if credentials else ""}127.0.0.1:{self.port}{path}'
