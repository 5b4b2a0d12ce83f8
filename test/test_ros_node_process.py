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
import pytest
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from ros_harness import RELIABLE_QOS, RosHarness, wait_for
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
