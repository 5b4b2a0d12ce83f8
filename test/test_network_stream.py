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
A real network camera: an MJPEG-over-HTTP server in its own process on 127.0.0.1.

The server is killed and restarted mid-run, or stalls, and the engine must report the loss,
reconnect and carry on. The URL carries credentials, which must never reach logs or stats.
"""

import logging
from pathlib import Path
import socket
import subprocess
import sys
import threading
import time

from helpers.frame_codes import read_index
import numpy as np
import pytest

from stream_infer.errors import SourceError
from stream_infer.options import ReconnectPolicy
from stream_infer.sources.credentials import with_credentials
from stream_infer.stream import InferenceStream

SERVER = Path(__file__).resolve().parent / 'helpers' / 'mjpeg_server.py'
SECRET = 's3cr3t-Pa55'


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


class Camera:
    """The MJPEG server process (start, kill, restart on the same port)."""

    def __init__(self, port: int, *extra: str) -> None:
        self.port = port
        self.extra = extra
        self.process = None

    def start(self, start_index: int = 0) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(SERVER), '--port', str(self.port), '--fps', '30',
             '--user', 'viewer', '--password', SECRET, '--start-index', str(start_index),
             *self.extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.process.stdout.readline()
        assert line.startswith('READY'), line + self.process.stderr.read()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)

    @property
    def url(self) -> str:
        return f'http://viewer:{SECRET}@127.0.0.1:{self.port}/stream.mjpg'


@pytest.fixture
def camera():
    cams = []

    def make(*extra):
        cam = Camera(free_port(), *extra)
        cams.append(cam)
        return cam
    yield make
    for cam in cams:
        cam.kill()


def index_model(frame):
    return np.array([[1.0, 1.0, 20.0, 20.0, 0.9, read_index(frame)]])


def wait_until(predicate, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


class Recorder:
    """Collects the indices of predicted frames and the source's state changes."""

    def __init__(self, stream):
        self.indices = []
        self.states = []
        self.lock = threading.Lock()
        stream.on_result(self.on_result)
        stream.on_source_state(lambda state, message: self.states.append((state, message)))

    def on_result(self, result):
        with self.lock:
            self.indices.append(read_index(result.frame.image))


def assert_no_secret(caplog, stream):
    assert SECRET not in caplog.text
    assert SECRET not in repr(stream.stats()) and SECRET not in stream.source_description
    assert 'viewer:' not in caplog.text


def test_server_killed_and_restarted_engine_reconnects(camera, caplog):
    caplog.set_level(logging.DEBUG)
    cam = camera()
    cam.start(start_index=0)
    stream = InferenceStream(cam.url, index_model, reconnect_delay=0.05,
                             reconnect_max_delay=0.3, read_timeout=2.0, open_timeout=2.0)
    rec = Recorder(stream)
    stream.start()
    assert wait_until(lambda: len(rec.indices) >= 10), rec.states
    assert stream.stats().source_state == 'connected'
    cam.kill()
    assert wait_until(lambda: stream.stats().source_state == 'reconnecting'), rec.states
    time.sleep(0.5)  # a few failed attempts while the camera is down
    cam.start(start_index=5000)
    assert wait_until(lambda: sum(i >= 5000 for i in rec.indices) >= 10), rec.states
    stats = stream.stats()
    assert stream.stop()
    assert stats.connection_losses >= 1 and stats.reconnects >= 1
    states = [s for s, _ in rec.states]
    assert 'reconnecting' in states and states.count('connected') >= 2
    before = [i for i in rec.indices if i < 5000]
    after = [i for i in rec.indices if i >= 5000]
    assert before == sorted(before) and after == sorted(after) and len(after) >= 10
    assert 'reconnected' in caplog.text and 'reconnect attempt' in caplog.text
    assert_no_secret(caplog, stream)


def test_stalled_stream_is_detected_and_reopened(camera, caplog):
    caplog.set_level(logging.INFO)
    cam = camera('--stall-after', '20')
    cam.start()
    stream = InferenceStream(cam.url, index_model, reconnect_delay=0.05,
                             reconnect_max_delay=0.2, read_timeout=0.5)
    rec = Recorder(stream)
    stream.start()
    assert wait_until(lambda: stream.stats().reconnects >= 1 and len(rec.indices) > 25), \
        rec.states
    stream.stop()
    assert stream.stats().connection_losses >= 1
    assert_no_secret(caplog, stream)


def test_gives_up_after_max_attempts(camera, caplog):
    caplog.set_level(logging.INFO)
    cam = camera()
    cam.start()
    stream = InferenceStream(cam.url, index_model, reconnect_delay=0.05,
                             reconnect_max_delay=0.1, reconnect_attempts=2, open_timeout=1.0)
    rec = Recorder(stream)
    stops = []
    stream.on_stop(stops.append)
    stream.start()
    assert wait_until(lambda: len(rec.indices) >= 3)
    cam.kill()
    assert stream.wait(15)
    assert stops and stops[0].stop_reason == 'failed'
    assert stream.stats().source_state == 'failed'
    assert 'gave up after 2 reconnect attempts' in caplog.text
    assert_no_secret(caplog, stream)


def test_unreachable_url_is_a_clear_source_error_without_the_secret(caplog):
    caplog.set_level(logging.DEBUG)
    url = f'http://viewer:{SECRET}@127.0.0.1:{free_port()}/stream.mjpg'
    stream = InferenceStream(url, index_model, open_timeout=1.0)
    with pytest.raises(SourceError, match='cannot open http://\\*\\*\\*@127.0.0.1') as info:
        stream.start()
    assert SECRET not in str(info.value)
    assert_no_secret(caplog, stream)


def test_a_stream_down_at_start_is_waited_for_with_the_same_backoff(camera, caplog):
    caplog.set_level(logging.INFO)
    cam = camera()  # not started yet: nothing listens on its port
    policy = ReconnectPolicy(initial_delay=0.05, max_delay=0.3, open_timeout=1.0,
                             read_timeout=2.0, wait_for_source=True)
    stream = InferenceStream(cam.url, index_model, reconnect=policy)
    rec = Recorder(stream)
    stream.start()  # does not raise, does not wait for the server
    assert wait_until(lambda: sum(s == 'reconnecting' for s, _ in rec.states) >= 2), rec.states
    assert stream.running and rec.indices == []
    cam.start(start_index=7000)
    assert wait_until(lambda: len(rec.indices) >= 5), rec.states
    assert stream.stop()
    assert all(i >= 7000 for i in rec.indices)
    assert [s for s, _ in rec.states][-2:] == ['connected', 'stopped']
    assert 'cannot open yet' in caplog.text and 'reconnect attempt 2' in caplog.text
    assert_no_secret(caplog, stream)


def test_a_returning_server_is_reconnected_to_long_before_the_backoff_ends(camera, caplog):
    """The backoff is 30 s; probing the server's port reconnects as soon as it is back."""
    caplog.set_level(logging.INFO)
    cam = camera()
    cam.start(start_index=0)
    policy = ReconnectPolicy(initial_delay=30.0, max_delay=30.0, probe_interval=0.1,
                             open_timeout=2.0, read_timeout=2.0)
    stream = InferenceStream(cam.url, index_model, reconnect=policy)
    rec = Recorder(stream)
    stream.start()
    assert wait_until(lambda: len(rec.indices) >= 5), rec.states
    cam.kill()
    assert wait_until(lambda: stream.stats().source_state == 'reconnecting'), rec.states
    time.sleep(0.5)  # the probes see the port closed
    cam.start(start_index=9000)
    assert wait_until(lambda: any(i >= 9000 for i in rec.indices), timeout=15.0), rec.states
    assert stream.stop()
    assert 'reconnect attempt 1 in 30.00 s' in caplog.text and 'reconnected after 1' in caplog.text
    assert_no_secret(caplog, stream)


def test_a_camera_that_is_not_there_yet_is_retried_and_stops_promptly():
    policy = ReconnectPolicy(initial_delay=0.05, max_delay=0.1, wait_for_source=True)
    stream = InferenceStream(63, index_model, reconnect=policy)  # no /dev/video63 here
    rec = Recorder(stream)
    stream.start()
    assert wait_until(lambda: sum(s == 'reconnecting' for s, _ in rec.states) >= 3), rec.states
    assert stream.stop(timeout=2.0)
    assert rec.indices == [] and stream.stats().reconnects == 0


def test_credentials_from_a_file_open_the_protected_stream(camera, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    cam = camera()
    cam.start(start_index=300)
    secret_file = tmp_path / 'camera.credentials'
    secret_file.write_text(f'viewer:{SECRET}\n')
    plain_url = f'http://127.0.0.1:{cam.port}/stream.mjpg'
    stream = InferenceStream(with_credentials(plain_url, secret_file), index_model)
    rec = Recorder(stream)
    stream.start()
    assert wait_until(lambda: len(rec.indices) >= 3), rec.states
    assert stream.stop()
    assert_no_secret(caplog, stream)
    with pytest.raises(SourceError, match='cannot open'):  # without them: refused (401)
        InferenceStream(plain_url, index_model, open_timeout=2.0).start()
    wrong = tmp_path / 'wrong.credentials'
    wrong.write_text('viewer:not-the-password')
    with pytest.raises(SourceError, match='cannot open'):
        InferenceStream(with_credentials(plain_url, wrong), index_model, open_timeout=2.0).start()
    with pytest.raises(SourceError, match="credentials file='.*missing': no such file"):
        with_credentials(plain_url, tmp_path / 'missing')
    with pytest.raises(SourceError, match='already carries credentials'):
        with_credentials(cam.url, secret_file)
    (tmp_path / 'bad').write_text('no separator here')
    with pytest.raises(SourceError, match="expected one line 'user:password'"):
        with_credentials(plain_url, tmp_path / 'bad')
