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
IP cameras for real: H.264 over RTSP from gst-rtsp-server in its own process on 127.0.0.1.

TCP and UDP transports, Basic and Digest authentication with a credentials file, a server
killed and restarted (with another resolution), a server that keeps the session but stops
sending, and stop()/start() racing a capture thread blocked in a stalled read. Each frame
carries its index and send time (helpers.frame_codes.read_code). Skipped, naming the Debian
packages, where the system python has no GStreamer RTSP server.
"""

import logging
import os
from pathlib import Path
import subprocess
import sys
import threading

from helpers.frame_codes import read_code
from helpers.rtsp_camera import missing_packages, RtspCamera
import numpy as np
from onnx_graphs import frame_code_model
import pytest
from test_network_stream import wait_until

from stream_infer.errors import SourceError, UsageError
from stream_infer.options import ReconnectPolicy
from stream_infer.sources.credentials import with_credentials
from stream_infer.sources.ffmpeg_options import avformat_major, FFMPEG5_AVFORMAT
from stream_infer.stream import InferenceStream

pytestmark = pytest.mark.skipif(bool(missing_packages()), reason=missing_packages() or 'ok')
SECRET = 'rtsp-s3cr3t:pw'


def one_box(frame):
    return np.array([[1.0, 1.0, 20.0, 20.0, 0.9, 0.0]])


@pytest.fixture
def rtsp_camera():
    cams = []

    def make(**options):
        cam = RtspCamera(**options)
        cams.append(cam)
        return cam
    yield make
    for cam in cams:
        cam.kill()


class Frames:
    """Collects (index, shape) of delivered frames and the source's state changes."""

    def __init__(self, stream):
        self.items = []
        self.states = []
        self.lock = threading.Lock()
        stream.on_result(self.on_result)
        stream.on_source_state(lambda state, message: self.states.append((state, message)))

    def on_result(self, result):
        with self.lock:
            self.items.append((read_code(result.frame.image)[0], result.frame.image.shape))

    def count(self):
        with self.lock:
            return len(self.items)

    def indices(self):
        with self.lock:
            return [index for index, _ in self.items]


def stream_of(url, **policy):
    policy.setdefault('initial_delay', 0.1)
    policy.setdefault('max_delay', 0.5)
    return InferenceStream(url, model=one_box, track=False,
                           reconnect=ReconnectPolicy(**policy))


@pytest.mark.parametrize('transport', ['tcp', 'udp'])
def test_h264_over_each_transport_plays_in_order_and_says_its_transport(rtsp_camera, transport):
    cam = rtsp_camera(protocols=transport).start()  # the server offers this transport only
    stream = stream_of(cam.url(), rtsp_transport=transport)
    frames = Frames(stream)
    with stream:
        assert wait_until(lambda: frames.count() >= 25), stream.stats()
        stats = stream.stats()
    indices = frames.indices()
    assert all(b > a for a, b in zip(indices, indices[1:])), indices  # decoded, in order
    assert stats.transport == transport and stats.source_state == 'connected'
    assert {shape for _, shape in frames.items} == {(240, 320, 3)}


def test_the_other_transport_only_is_a_clear_open_error(rtsp_camera):
    cam = rtsp_camera(protocols='tcp').start()
    stream = stream_of(cam.url(), rtsp_transport='udp', open_timeout=5.0, read_timeout=2.0)
    with pytest.raises(SourceError, match='cannot open rtsp://127.0.0.1'):
        stream.start()


@pytest.mark.parametrize('auth', ['basic', 'digest'])
def test_authentication_with_the_credentials_file_and_the_secret_nowhere(
        rtsp_camera, tmp_path, caplog, auth):
    cam = rtsp_camera(auth=auth, user='viewer', password=SECRET).start()
    secrets = tmp_path / 'camera.credentials'
    secrets.write_text(f'viewer:{SECRET}\n')
    secrets.chmod(0o600)
    caplog.set_level(logging.INFO)
    stream = stream_of(with_credentials(cam.url(), secrets))
    frames = Frames(stream)
    with stream:
        assert wait_until(lambda: frames.count() >= 10), stream.stats()
    wrong = tmp_path / 'wrong.credentials'
    wrong.write_text('viewer:not-it\n')
    with pytest.raises(SourceError) as refused:
        stream_of(with_credentials(cam.url(), wrong)).start()
    assert 'the server refused the stream: wrong path or credentials' in str(refused.value)
    assert SECRET not in caplog.text and 'not-it' not in caplog.text
    assert SECRET not in str(refused.value) and 'not-it' not in str(refused.value)
    assert SECRET not in repr(stream.stats())


@pytest.mark.parametrize('transport', ['tcp', 'udp'])
def test_a_restarted_server_with_another_resolution_is_reconnected_to(
        rtsp_camera, caplog, transport):
    cam = rtsp_camera().start()
    caplog.set_level(logging.INFO)
    stream = stream_of(cam.url(), rtsp_transport=transport, read_timeout=2.0)
    frames = Frames(stream)
    with stream:
        assert wait_until(lambda: frames.count() >= 10)
        cam.kill()
        assert wait_until(lambda: stream.stats().source_state == 'reconnecting')
        before = frames.count()
        cam.start(width=640, height=480)
        assert wait_until(lambda: any(shape == (480, 640, 3) for _, shape in frames.items))
        assert wait_until(lambda: frames.count() >= before + 10)
        stats = stream.stats()
    assert stats.reconnects == 1 and stats.connection_losses == 1 and stats.running
    shapes = [shape for _, shape in frames.items]
    first_new = shapes.index((480, 640, 3))
    assert set(shapes[:first_new]) == {(240, 320, 3)} and set(shapes[first_new:]) == {
        (480, 640, 3)}
    assert 'reconnected after' in caplog.text
    assert stats.transport == transport
    assert ('nothing accepts connections on 127.0.0.1' in stats.last_error  # a failed attempt
            or 'stream lost (connection closed' in stats.last_error  # udp: the RTSP socket
            or 'stalled' in stats.last_error), stats.last_error  # udp: no more packets


@pytest.mark.parametrize('transport', ['tcp', 'udp'])
def test_a_server_that_keeps_the_session_but_stops_sending_is_a_stall(
        rtsp_camera, caplog, transport):
    cam = rtsp_camera().start()
    stream = stream_of(cam.url(), rtsp_transport=transport, read_timeout=1.0)
    frames = Frames(stream)
    with stream:
        assert wait_until(lambda: frames.count() >= 5)
        cam.command('stall')  # the session stays open, RTCP flows, no frames
        assert wait_until(lambda: stream.stats().connection_losses >= 1)
        stats = stream.stats()
        # FFmpeg 4 (the opencv-python 4.6 wheel of the apt-like leg) ends such a read itself,
        # before read_timeout: the same loss and reconnect, named a lost stream.
        said = 'stalled' if avformat_major() >= FFMPEG5_AVFORMAT else 'stream lost'
        assert said in stats.last_error
        if said == 'stalled':
            assert 'stalled: no frame for' in stats.last_error
            assert '(read_timeout 1 s)' in stats.last_error
        before = frames.count()
        cam.command('resume')
        assert wait_until(lambda: frames.count() >= before + 5)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(said in line and 'reconnect attempt 1' in line for line in warnings)


def test_restart_is_refused_while_the_old_capture_thread_owns_the_source(rtsp_camera):
    """Issue 22 (6): the old run's thread, blocked in a stalled read, must not wreck a new run."""
    cam = rtsp_camera().start()
    stream = stream_of(cam.url(), rtsp_transport='tcp', read_timeout=5.0)
    frames = Frames(stream)
    stream.start()
    assert wait_until(lambda: frames.count() >= 5)
    cam.command('stall')
    threading.Event().wait(0.5)  # the capture thread is now inside FFmpeg's read
    assert stream.stop(timeout=0.1) is False  # it cannot interrupt the native read
    assert wait_until(lambda: not stream.running)  # the run is over, its capture thread not
    with pytest.raises(UsageError, match='previous run is not over'):
        stream.start()
    cam.command('resume')
    assert stream.stop(timeout=10.0) is True  # waits for the old thread
    stream.start()
    try:
        assert wait_until(lambda: frames.count() >= 30)
        threading.Event().wait(1.0)
        stats = stream.stats()
        assert stats.running and stats.source_state == 'connected' and not stats.stop_reason
    finally:
        assert stream.stop(timeout=5.0)


def test_a_stop_during_a_slow_start_stops_that_start(rtsp_camera):
    """Issue 22 (6): stop() reads the run under the lock; it never returns True before it."""
    cam = rtsp_camera().start()
    stream = stream_of(cam.url(), rtsp_transport='tcp', rtsp_low_latency=False)  # ~1 s open
    opening = threading.Event()
    stream.on_source_state(lambda state, message: opening.set() if state == 'connecting'
                           else None)
    starter = threading.Thread(target=stream.start)
    starter.start()
    assert opening.wait(10)
    assert stream.stop(timeout=15.0) is True
    assert not stream.running and stream.stats().stop_reason == 'stopped'
    starter.join(10)
    threading.Event().wait(0.5)
    assert not stream.running
    short = stream_of(cam.url(), rtsp_transport='tcp', rtsp_low_latency=False)
    opening.clear()
    short.on_source_state(lambda state, message: opening.set() if state == 'connecting'
                          else None)
    starter = threading.Thread(target=short.start)
    starter.start()
    assert opening.wait(10)
    assert short.stop(timeout=0.05) is False  # the open goes on: too short to wait for it
    starter.join(15)
    assert short.wait(10) and short.stats().stop_reason == 'stopped'
    assert short.stop(timeout=5.0) is True


def test_cli_stderr_has_only_our_lines_through_a_dead_and_a_restarting_server(
        rtsp_camera, tmp_path):
    """Issue 23 (4), issue 18: no FFmpeg or OpenCV line ([tcp @ 0x...], [ WARN:...]) on stderr."""
    root = Path(__file__).resolve().parent.parent
    model = frame_code_model(tmp_path / 'codes.onnx', batch=1)
    cam = rtsp_camera()  # down when the CLI starts
    env = dict(os.environ, PYTHONPATH=f'{root}{os.pathsep}{os.environ.get("PYTHONPATH", "")}')
    env.pop('OPENCV_FFMPEG_LOGLEVEL', None)
    cli = subprocess.Popen(
        [sys.executable, '-m', 'stream_infer.cli', cam.url(), '--model', str(model),
         '--json', '-', '--max-frames', '40', '--wait-for-source', '--reconnect-delay', '0.2',
         '--reconnect-max-delay', '0.5', '--rtsp-transport', 'tcp', '--no-track'],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=root, env=env)
    try:
        threading.Event().wait(1.5)  # a few refused attempts
        cam.start()
        for _ in range(10):
            assert cli.stdout.readline(), 'the CLI ended before frames came'
        cam.kill()
        threading.Event().wait(1.0)
        cam.start()
        out, err = cli.communicate(timeout=120)
    finally:
        if cli.poll() is None:
            cli.kill()
            cli.communicate()
    assert cli.returncode == 0, err
    lines = [line for line in err.splitlines() if line.strip()]
    ours = ('stream-infer: ', 'frames ', 'detections: ', 'model: ')  # logging, progress, summary
    assert lines and all(line.startswith(ours) or ' frames from rtsp://' in line
                         for line in lines), err
    assert sum('reconnect attempt' in line for line in lines) >= 2, err
    assert any('nothing accepts connections' in line for line in lines), err
    assert '[tcp @' not in err and 'WARN:' not in err and '\x1b[' not in err
