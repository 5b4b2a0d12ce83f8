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

"""The node as users run it: a process with --ros-args and a params file, then a signal."""

import os
from pathlib import Path
import signal
import subprocess
import time

from ament_index_python.packages import get_package_prefix
import cv2
from diagnostic_msgs.msg import DiagnosticArray
import numpy as np
import pytest
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from ros_harness import constant_end2end_model, RELIABLE_QOS, RosHarness, wait_for
from sensor_msgs.msg import CompressedImage
from std_msgs.msg import String
from vision_msgs.msg import Detection2DArray

from stream_infer.bundled import bundled_clip_path

ROOT = Path(__file__).resolve().parent.parent
# The node's ~/stream_events: reliable, transient local, depth 10 (late joiners get them all).
EVENTS_QOS = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE,
                        durability=DurabilityPolicy.TRANSIENT_LOCAL)


def installed_node() -> str:
    """Return the stream_infer_node executable colcon installed (what `ros2 run` starts)."""
    path = Path(get_package_prefix('stream_infer')) / 'lib' / 'stream_infer' / 'stream_infer_node'
    assert path.is_file(), f'{path} missing: run colcon build (./dev.sh setup)'
    return str(path)


@pytest.fixture
def ros():
    harness = RosHarness()
    yield harness
    harness.close()


@pytest.mark.parametrize('signum', [signal.SIGINT, signal.SIGTERM], ids=['SIGINT', 'SIGTERM'])
def test_node_process_params_file_and_clean_exit_on_signal(ros, tmp_path, signum):
    params = tmp_path / 'params.yaml'
    params.write_text(
        '/**:\n  ros__parameters:\n'
        f'    source: "{bundled_clip_path()}"\n'
        '    loop: true\n    confidence: 0.35\n    frame_id: test_cam\n')
    got = ros.collect(Detection2DArray, '/proc_ns/detections', RELIABLE_QOS)
    events = ros.collect(String, '/proc_ns/stream_infer/stream_events', EVENTS_QOS)
    log = (tmp_path / 'node.log').open('w')
    proc = subprocess.Popen(
        [installed_node(), '--ros-args', '-r', '__ns:=/proc_ns', '--params-file', str(params),
         '-p', 'enforce_fps:=true'],
        stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ))
    try:
        assert wait_for(lambda: len(got) >= 3 or proc.poll() is not None, timeout=60), \
            (tmp_path / 'node.log').read_text()
        assert proc.poll() is None, (tmp_path / 'node.log').read_text()
        assert all(m.header.frame_id == 'test_cam' for m in got)
        assert any(len(m.detections) > 0 for m in got), 'no person found in the clip'
        scores = [d.results[0].hypothesis.score for m in got for d in m.detections]
        assert min(scores) >= 0.35
        assert wait_for(lambda: any(e.data.startswith('started') for e in events))
        started = time.monotonic()
        proc.send_signal(signum)
        code = proc.wait(timeout=15)
        took = time.monotonic() - started
    finally:
        if proc.poll() is None:
            proc.kill()
        log.close()
    text = (tmp_path / 'node.log').read_text()
    print(f'{signal.Signals(signum).name} to exit: {took:.2f} s')
    assert code == 0, text
    assert 'Traceback' not in text, text
    # The stream was stopped while ROS was still up: subscribers saw it end.
    assert wait_for(lambda: any(e.data.startswith('stopped') for e in events)), text


def start_process(tmp_path, name, *params):
    """Start stream_infer_node with -p params; its output goes to tmp_path/name.log."""
    log = (tmp_path / f'{name}.log').open('w')
    args = [installed_node(), '--ros-args', '-r', f'__ns:=/{name}']
    for param in params:
        args += ['-p', param]
    return subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ)), log


def test_double_signal_during_shutdown_exits_cleanly_and_publishes_stopped(ros, tmp_path):
    """SIGINT then SIGTERM 0.1 s later, as process managers and ros2 launch escalate."""
    model = constant_end2end_model(tmp_path / 'const.onnx', [[8, 8, 24, 40, 0.9, 0]])
    for run in range(3):
        name = f'sig{run}'
        events = ros.collect(String, f'/{name}/stream_infer/stream_events', EVENTS_QOS)
        proc, log = start_process(tmp_path, name, f'source:={bundled_clip_path()}',
                                  'loop:=true', f'model:={model}', 'layout:=end2end')
        try:
            assert wait_for(lambda: any(e.data == 'started' for e in events)
                            or proc.poll() is not None, timeout=60)
            started = time.monotonic()
            proc.send_signal(signal.SIGINT)
            time.sleep(0.1)
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(timeout=15)
            took = time.monotonic() - started
        finally:
            if proc.poll() is None:
                proc.kill()
            log.close()
        text = (tmp_path / f'{name}.log').read_text()
        print(f'run {run}: SIGINT + SIGTERM to exit {took:.2f} s')
        assert code == 0, text
        assert 'Traceback' not in text and 'terminate called' not in text, text
        assert wait_for(lambda: any(e.data == 'stopped' for e in events)), text


def _damaged_images():
    png = bytearray(cv2.imencode('.png', np.full((64, 64, 3), 90, np.uint8))[1].tobytes())
    png[29] ^= 0xff  # IHDR CRC: 'libpng error: IHDR: CRC error' from OpenCV
    rng = np.random.default_rng(3)
    jpeg = bytearray(cv2.imencode('.jpg', rng.integers(0, 255, (96, 128, 3), np.uint8))[1])
    for i in rng.integers(300, len(jpeg), 10):
        jpeg[i] ^= 0xff  # 'Corrupt JPEG data: ...' from libjpeg via OpenCV
    return [bytes(png), bytes(jpeg), b'BM' + bytes(60), b'\x89PNG\r\n\x1a\n' + bytes(40)]


def test_bad_images_leave_only_the_nodes_own_throttled_line_on_stderr(ros, tmp_path):
    model = constant_end2end_model(tmp_path / 'const.onnx', [[8, 8, 24, 40, 0.9, 0]])
    diags = ros.collect(DiagnosticArray, '/diagnostics')
    got = ros.collect(Detection2DArray, '/noise/detections', RELIABLE_QOS)
    proc, log = start_process(tmp_path, 'noise', f'model:={model}', 'layout:=end2end',
                              'image_transport:=compressed', 'diagnostics_period:=0.2')
    pub = ros.probe.create_publisher(CompressedImage, '/noise/image/compressed', RELIABLE_QOS)
    damaged = _damaged_images()

    def skipped():
        for msg in reversed(diags):
            for status in msg.status:
                if 'noise' in status.name:
                    return {kv.key: kv.value for kv in status.values}['bad_images_skipped']
        return '-1'

    try:
        assert wait_for(lambda: skipped() == '0' or proc.poll() is not None, timeout=60)
        sent = iter(range(100000))

        def publish_damaged():  # the node keeps the newest image: go on until 40 were seen
            pub.publish(CompressedImage(format='jpeg', data=damaged[next(sent) % len(damaged)]))

        assert wait_for(lambda: int(skipped()) >= 40, timeout=60, pump=publish_damaged,
                        period=0.02), skipped()
        good = CompressedImage(format='jpeg')
        good.header.stamp.sec = 77
        good.data = cv2.imencode('.jpg', np.full((64, 64, 3), 90, np.uint8))[1].tobytes()
        assert wait_for(lambda: any(m.header.stamp.sec == 77 for m in got),
                        pump=lambda: pub.publish(good), period=0.1)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        log.close()
    text = (tmp_path / 'noise.log').read_text()
    print(f'{skipped()} bad images skipped; node output:\n{text}')
    for noise in ('libpng', 'Corrupt JPEG', 'imdecode', '[ERROR:', '[ WARN:'):
        assert noise not in text, noise
    assert 1 <= text.count('skipped a bad image') <= 3, text  # throttled to one per 5 s
