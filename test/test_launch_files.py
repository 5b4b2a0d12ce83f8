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
The launch files under the real `ros2 launch`, checked with the real `ros2` commands.

Each test starts `ros2 launch stream_infer ...` in a process of its own (its own session, so a
test can send SIGINT to the launch process alone, as Ctrl-C reaches it) and reads the node's
state back with `ros2 param get`, `ros2 lifecycle ...` or a real subscription. The node of
`video.launch.py` with a params file and typed arguments is shared by the last tests, which
also run the doc pages' commands (test_doc_commands.py) and end it with SIGINT. Everything
skips, saying why, where launch_ros or the `ros2` executable is missing.
"""

from pathlib import Path
import re
import time

from launch_tools import ENV_READY, Launch, ros2, stop_daemon
import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(ENV_READY is not True, reason=str(ENV_READY))
NO_CAMERA = '/dev/stream_infer_test_no_camera'


@pytest.fixture(scope='module', autouse=True)
def daemon():
    """Stop the ros2 daemon the CLI calls started (it outlives them)."""
    yield
    stop_daemon()


def params_file(path, **values):
    """Write a params file for any node (/**) with these values."""
    import yaml
    path.write_text(yaml.safe_dump({'/**': {'ros__parameters': values}}))
    return str(path)


def param(node, name, namespace=''):
    """Return `ros2 param get` of one parameter, as the command prints it."""
    done = ros2('param', 'get', f'{namespace}/{node}', name)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.strip()


def test_arguments_and_description_s_and_p():
    shown = ros2('launch', 'stream_infer', 'video.launch.py', '-s')
    assert shown.returncode == 0, shown.stderr
    for argument in ('source', 'loop', 'enforce_fps', 'params_file', 'namespace', 'log_level'):
        assert f"'{argument}':" in shown.stdout, argument
    described = ros2('launch', 'stream_infer', 'video.launch.py', '-p')
    assert described.returncode == 0, described.stderr
    # What doc/launch.md says -p shows: the arguments and the node's command line.
    assert 'DeclareLaunchArgument' in described.stdout
    assert re.search(r"ExecuteProcess\(cmd=\[ExecInPkg\(pkg='stream_infer', "
                     r"exec='stream_infer_node'\)", described.stdout), described.stdout
    multi = ros2('launch', 'stream_infer', 'multi_camera.launch.py', '-p')
    assert multi.returncode == 0 and 'OpaqueFunction' in multi.stdout, multi.stdout


def test_webcam_without_a_camera_is_one_line_and_status_1(tmp_path):
    run = Launch(tmp_path, 'webcam.launch.py', f'device:={NO_CAMERA}')
    code, text = run.wait(timeout=60)
    assert code == 1, text
    errors = [line for line in text.splitlines() if 'ERROR' in line]
    assert len(errors) == 1, text
    assert f'no camera at {NO_CAMERA} (does not exist)' in errors[0]
    assert 'process started' not in text and 'Traceback' not in text


def test_a_refused_value_gives_the_lines_the_doc_shows(tmp_path):
    run = Launch(tmp_path, 'video.launch.py', 'confidence:=1.5')
    code, text = run.wait(timeout=90)
    assert code == 1, text
    errors = [line for line in text.splitlines() if 'ERROR' in line]
    assert len(errors) == 3, text
    assert 'cannot start: confidence=1.5: expected a number in [0, 1]' in errors[0]
    assert 'process has died' in errors[1] and 'exit code 2' in errors[1]
    assert errors[2].endswith('/stream_infer exited with status 2 (its error is logged above); '
                              'the launch ends with it')
    assert 'Traceback' not in text


def test_video_params_file_autostart_false_lifecycle_and_debug_of_the_node_only(tmp_path):
    mine = params_file(tmp_path / 'mine.yaml', loop=False, enforce_fps=False, confidence=0.35)
    run = Launch(tmp_path, 'video.launch.py', f'params_file:={mine}', 'autostart:=false',
                 'log_level:=debug', 'namespace:=lc')
    try:
        run.wait_for_node('/lc/stream_infer')
        # The params file beats the launch file's own default (loop: true).
        assert param('stream_infer', 'loop', '/lc') == 'Boolean value is: False'
        assert param('stream_infer', 'enforce_fps', '/lc') == 'Boolean value is: False'
        assert param('stream_infer', 'confidence', '/lc') == 'Double value is: 0.35'
        assert 'unconfigured' in ros2('lifecycle', 'get', '/lc/stream_infer').stdout
        for transition in ('configure', 'activate'):
            done = ros2('lifecycle', 'set', '/lc/stream_infer', transition)
            assert 'Transitioning successful' in done.stdout, done.stdout + done.stderr
        assert ros2('lifecycle', 'get', '/lc/stream_infer').stdout.startswith('active')
    finally:
        code, text = run.stop()
    assert code == 0 and 'Traceback' not in text, text
    debug = re.findall(r'\[DEBUG\] \[[\d.]+\] \[([^\]]+)\]', text)
    assert debug and set(debug) == {'lc.stream_infer'}, (set(debug), text[-3000:])


def test_topic_params_file_transport_and_reliability_and_an_undeclared_argument(tmp_path):
    mine = params_file(tmp_path / 'mine.yaml', image_transport='compressed',
                       image_reliability='reliable')
    run = Launch(tmp_path, 'topic.launch.py', f'params_file:={mine}', 'namespace:=tm',
                 'class_id_format:=name')
    try:
        run.wait_for_node('/tm/stream_infer')
        assert param('stream_infer', 'image_transport', '/tm') == 'String value is: compressed'
        assert param('stream_infer', 'image_reliability', '/tm') == 'String value is: reliable'
        assert param('stream_infer', 'class_id_format', '/tm') == 'String value is: index'
        info = ros2('topic', 'info', '-v', '/camera/image_raw/compressed').stdout
        assert 'Node name: stream_infer' in info and 'RELIABLE' in info, info
    finally:
        code, text = run.stop()
    assert code == 0, text
    [warning] = [line for line in text.splitlines() if 'WARNING' in line and 'class_id' in line]
    assert 'class_id_format:=name is no argument of this launch file' in warning
    assert 'params_file:=my.yaml' in warning


@pytest.mark.parametrize('shared', ['true', 'false'])
def test_multi_camera_both_modes_publish_the_same_topics_and_frame_ids(ros, tmp_path, shared):
    from vision_msgs.msg import Detection2DArray
    from stream_infer.bundled import bundled_clip_path
    clip = bundled_clip_path()
    # New subscriptions per run: an exited process's messages can still sit in old ones.
    got = {camera: ros.collect(Detection2DArray, f'/mc{shared}/{camera}/detections')
           for camera in ('front', 'rear')}
    run = Launch(tmp_path, 'multi_camera.launch.py', f'sources:={clip},{clip}',
                 'namespaces:=front,rear', f'shared_model:={shared}', f'namespace:=mc{shared}',
                 'loop:=true')
    try:
        assert run.wait_until(lambda: all(len(m) >= 2 for m in got.values()), timeout=90), \
            run.text()
    finally:
        code, text = run.stop()
    assert code == 0 and 'Traceback' not in text, text
    started = re.findall(r'process started with pid \[(\d+)\]', text)
    assert len(started) == (1 if shared == 'true' else 2), text
    assert not [pid for pid in started if Path(f'/proc/{pid}').exists()], 'a node outlived it'
    for camera, messages in got.items():
        assert {m.header.frame_id for m in messages} == {camera}, (shared, camera)


# ------------------------------------------ one node shared by the last tests (ended by SIGINT)
@pytest.fixture(scope='module')
def video_node(tmp_path_factory):
    """video.launch.py with a params file, then typed arguments overriding three of its values."""
    tmp = tmp_path_factory.mktemp('video_node')
    mine = params_file(tmp / 'mine.yaml', loop=False, enforce_fps=False, confidence=0.35,
                       capture_directory=str(tmp / 'captured'))
    run = Launch(tmp, 'video.launch.py', f'params_file:={mine}', 'loop:=true',
                 'enforce_fps:=true', 'confidence:=0.4')
    try:
        run.wait_for_line('stream started')
        yield run
    finally:
        run.stop()


def test_typed_arguments_beat_the_params_file(video_node):
    assert param('stream_infer', 'loop') == 'Boolean value is: True'
    assert param('stream_infer', 'enforce_fps') == 'Boolean value is: True'
    assert param('stream_infer', 'confidence') == 'Double value is: 0.4'
    assert param('stream_infer', 'capture_directory').endswith('captured')  # the file's


def test_doc_commands_run_as_printed(video_node, tmp_path):
    from test_doc_commands import check_doc_commands
    check_doc_commands(tmp_path)


def test_sigint_to_ros2_launch_ends_every_node_publishes_stopped_no_traceback(ros, video_node):
    from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
    from std_msgs.msg import String
    events = ros.collect(String, '/stream_infer/stream_events', QoSProfile(
        depth=10, reliability=ReliabilityPolicy.RELIABLE,
        durability=DurabilityPolicy.TRANSIENT_LOCAL))
    assert video_node.wait_until(lambda: any(e.data == 'started' for e in events), timeout=30)
    pids = [int(p) for p in re.findall(r'process started with pid \[(\d+)\]', video_node.text())]
    assert pids, video_node.text()
    code, text = video_node.stop()
    assert code == 0, text
    assert 'Traceback' not in text and 'Caught exception' not in text, text
    for pid in pids:
        assert not Path(f'/proc/{pid}').exists(), f'node process {pid} still there'
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not any(e.data.startswith('stopped') for e in events):
        time.sleep(0.05)
    assert [e.data for e in events][-1] == 'stopped: stopped', [e.data for e in events]
