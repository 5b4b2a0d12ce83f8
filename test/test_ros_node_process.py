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
The node as users run it: a process with --ros-args and a params file, then a signal.

Also what the launch files hand it (launch_support's parameter layers, as launch_ros passes
them: --params-file in order), since `ros2 launch` itself is not installable here.
"""

import ast
import os
from pathlib import Path
import signal
import subprocess
import time

from ament_index_python.packages import get_package_prefix
import cv2
from diagnostic_msgs.msg import DiagnosticArray
from helpers.frame_codes import write_video
import numpy as np
from onnx_graphs import frame_code_model
import pytest
from rcl_interfaces.msg import Log, Parameter as ParameterMsg
from rcl_interfaces.srv import GetParameters, SetParameters
from rclpy.parameter import Parameter
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from ros_harness import constant_end2end_model, RELIABLE_QOS, wait_for
from sensor_msgs.msg import CompressedImage
from std_msgs.msg import String
from vision_msgs.msg import Detection2DArray

from stream_infer.bundled import bundled_clip_path
from stream_infer.ros import launch_support

ROOT = Path(__file__).resolve().parent.parent
# What rcl's /rosout publishers offer (transient local: a late subscriber gets the early lines).
ROSOUT_QOS = QoSProfile(depth=1000, reliability=ReliabilityPolicy.RELIABLE,
                        durability=DurabilityPolicy.TRANSIENT_LOCAL)
# The node's ~/stream_events: reliable, transient local, depth 10 (late joiners get them all).
EVENTS_QOS = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE,
                        durability=DurabilityPolicy.TRANSIENT_LOCAL)


def installed_node() -> str:
    """Return the stream_infer_node executable colcon installed (what `ros2 run` starts)."""
    path = Path(get_package_prefix('stream_infer')) / 'lib' / 'stream_infer' / 'stream_infer_node'
    assert path.is_file(), f'{path} missing: run colcon build (./dev.sh setup)'
    return str(path)


def core_log(rosout, words, level, name='proc_ns.stream_infer'):
    """Return True when /rosout carried a message with words from the node, at level."""
    return any(words in m.msg and m.name == name and m.level == level for m in rosout)


def _logs(rosout):
    return '\n'.join(f'{m.level} {m.name}: {m.msg}' for m in rosout)


@pytest.mark.parametrize('signum', [signal.SIGINT, signal.SIGTERM], ids=['SIGINT', 'SIGTERM'])
def test_node_process_params_file_and_clean_exit_on_signal(ros, tmp_path, signum):
    params = tmp_path / 'params.yaml'
    params.write_text(
        '/**:\n  ros__parameters:\n'
        f'    source: "{bundled_clip_path()}"\n'
        '    loop: true\n    confidence: 0.35\n    frame_id: test_cam\n'
        '    providers: [CoreMLExecutionProvider, CPUExecutionProvider]\n')
    got = ros.collect(Detection2DArray, '/proc_ns/detections', RELIABLE_QOS)
    events = ros.collect(String, '/proc_ns/stream_infer/stream_events', EVENTS_QOS)
    rosout = ros.collect(Log, '/rosout', ROSOUT_QOS)
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
        # The core's Python logging reaches /rosout under the node's name, right severity.
        assert wait_for(lambda: core_log(rosout, 'opened (', Log.INFO)), _logs(rosout)
        assert core_log(rosout, 'CoreMLExecutionProvider', Log.WARN), _logs(rosout)
        code, took = signal_and_wait(proc, signum)
    finally:
        if proc.poll() is None:
            proc.kill()
        log.close()
    print(f'{signal.Signals(signum).name} to exit: {took:.2f} s')
    assert_clean_exit(code, (tmp_path / 'node.log').read_text(), events)


def signal_and_wait(proc, *signums, gap: float = 0.1):
    """Send the signals gap s apart; return the exit code and seconds from the first to exit."""
    started = time.monotonic()
    for i, signum in enumerate(signums):
        if i:
            time.sleep(gap)
        proc.send_signal(signum)
    return proc.wait(timeout=15), time.monotonic() - started


def assert_clean_exit(code, text, events):
    """Exit status 0, no traceback, and `stopped` published while ROS was still up."""
    assert code == 0, text
    assert 'Traceback' not in text and 'terminate called' not in text, text
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
            code, took = signal_and_wait(proc, signal.SIGINT, signal.SIGTERM)
        finally:
            if proc.poll() is None:
                proc.kill()
            log.close()
        print(f'run {run}: SIGINT + SIGTERM to exit {took:.2f} s')
        assert_clean_exit(code, (tmp_path / f'{name}.log').read_text(), events)


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


# ------------------------------------------------------------------ start-up values
def run_node(*ros_args, timeout=60):
    """Run the installed node with --ros-args ros_args until it exits; return (status, output)."""
    done = subprocess.run([installed_node(), '--ros-args', *ros_args], capture_output=True,
                          text=True, timeout=timeout, env=dict(os.environ))
    return done.returncode, done.stdout + done.stderr


def params_file(tmp_path, text, name='params.yaml'):
    path = tmp_path / name
    path.write_text('/**:\n  ros__parameters:\n' + ''.join(f'    {line}\n'
                                                           for line in text.splitlines()))
    return str(path)


@pytest.mark.parametrize('given, line', [
    ('-p confidence:=1.5', 'confidence=1.5: expected a number in [0, 1]'),
    ('-p reconnect_delay:=0.0', 'reconnect_delay=0.0: expected a number > 0'),
    ('-p class_id_format:=bogus', "class_id_format='bogus': expected one of: index, name"),
    ('-p image_transport:=foo', "image_transport='foo': expected one of: raw, compressed"),
    ('-p max_detections:=0', 'max_detections=0: expected an integer in [1, 10000]'),
    ('-p confidence:=1', 'confidence=1: expected a number in [0, 1] (a double: write 1.0)'),
    ('file: confidence: 1.5', 'confidence=1.5: expected a number in [0, 1]'),
    ('file: layout: yolo',
     "layout='yolo': expected one of: auto, yolov8, yolov8-seg, yolov8-obb, yolov5, end2end"),
    ('file: reconnect_max_delay: 0.2',
     'reconnect_max_delay (0.2) must be >= reconnect_delay (0.5)'),
    ('file: classes: [true]', 'classes=[True]: expected a list of class names or indices'),
    ('file: confidence: [0.3', "Couldn't parse params file"),
    ('file: capture_rules: [sometimes]', "capture rule 'sometimes': unknown kind 'sometimes'"),
    ('-p capture_per_hour:=-1', 'capture_per_hour=-1: expected an integer >= 0'),
    ('-p cameras:=[front,rear] -p sources:=[a.mp4]',
     'sources has 1 entries for 2 cameras (front, rear): give one per camera, or none'),
    ('-p cameras:=[front-left]', "'front-left' is not a camera name: expected letters, digits"),
    ('file: cameras: [front, rear]\nsource: x.mp4',
     "source='x.mp4' is for a single camera; with cameras (front, rear) give sources"),
    ('file: sources: [0, 1]', "sources=['0', '1'] is for several cameras: set cameras"),
], ids=lambda v: v.replace('\n', ' ') if v.startswith(('-p', 'file')) else '')
def test_a_refused_start_up_value_is_one_line_and_exit_status_2(tmp_path, given, line):
    if given.startswith('file: '):
        args = ['--params-file', params_file(tmp_path, given[len('file: '):])]
    else:
        args = given.split()
    code, out = run_node(*args)
    assert code == 2, out
    errors = [text for text in out.splitlines() if 'cannot start:' in text]
    assert len(errors) == 1 and line in errors[0], out
    assert 'Traceback' not in out and len(out.splitlines()) <= 2, out  # (+ rcl's own line)


def test_start_up_and_ros2_param_set_refuse_with_the_same_text(ros, tmp_path):
    """The start-up lines above are what a runtime set of the same value answers."""
    proc = subprocess.Popen([installed_node(), '--ros-args', '-r', '__ns:=/same_text',
                             '-p', 'autostart:=false'], env=dict(os.environ),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        client = ros.probe.create_client(SetParameters, '/same_text/stream_infer/set_parameters')
        for name, value in [('class_id_format', 'bogus'), ('image_transport', 'foo'),
                            ('reconnect_max_delay', 0.2)]:
            request = SetParameters.Request(
                parameters=[Parameter(name, value=value).to_parameter_msg()])
            [result] = ros.call(client, request, timeout=30).results
            code, out = run_node('-p', f'{name}:={value}')
            assert not result.successful and code == 2
            assert f'cannot start: {result.reason}' in out, (result.reason, out)
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=15) == 0


# ------------------------------------------------------------------ launch files' layers
def launch_constants(name):
    """Return a launch file's ARGUMENTS and DEFAULTS (evaluated without launch_ros)."""
    path = ROOT / 'launch' / name
    tree = ast.parse(path.read_text())
    body = [n for n in tree.body if isinstance(n, ast.Assign) or (
        isinstance(n, ast.ImportFrom) and n.module.startswith('stream_infer'))]
    values = {}
    exec(compile(ast.Module(body=body, type_ignores=[]), str(path), 'exec'), values)
    return values


def launched_parameters(ros, tmp_path, launch_file, typed, user_file=None, names=()):
    """
    Start the node as `ros2 launch stream_infer <launch_file> <typed>` would; get names.

    The params files in launch_ros's order: the file's DEFAULTS, params_file (or none), the
    file's fixed values (TOPIC_MODE), the typed arguments; arguments not typed are ''.
    """
    constants = launch_constants(launch_file)
    arguments = {**constants['ARGUMENTS'], **launch_support.COMMON_ARGUMENTS}
    values = {name: default for name, (default, _) in arguments.items()}
    values.update(typed)
    files = [launch_support.write_params_file(constants.get('DEFAULTS', {})),
             launch_support.params_file_path(values['params_file'] if user_file is None
                                             else user_file),
             launch_support.write_params_file(constants.get('TOPIC_MODE', {})),
             launch_support.arguments_file(values)]
    namespace = f'/layers_{len(list(tmp_path.iterdir()))}'
    args = ['-r', f'__ns:={namespace}', '-p', 'autostart:=false']  # (a file, then) nothing runs
    for path in files:
        args += ['--params-file', path]
    proc = subprocess.Popen([installed_node(), '--ros-args', *args], env=dict(os.environ),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        client = ros.probe.create_client(GetParameters, f'{namespace}/stream_infer/get_parameters')
        response = ros.call(client, GetParameters.Request(names=list(names)), timeout=30)
        return {name: Parameter.from_parameter_msg(ParameterMsg(name=name, value=value)).value
                for name, value in zip(names, response.values)}
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=15)


def test_launch_arguments_win_only_when_typed_else_the_params_file_holds(ros, tmp_path):
    mine = params_file(tmp_path, 'enforce_fps: false\nloop: false\nimage_transport: compressed\n'
                                 'image_reliability: reliable\nconfidence: 0.45\nclasses: []\n'
                                 f'source: "{bundled_clip_path()}"', name='my.yaml')
    names = ['enforce_fps', 'loop', 'source', 'confidence', 'image_transport',
             'image_reliability', 'use_sim_time', 'classes']
    got = launched_parameters(ros, tmp_path, 'video.launch.py', {'params_file': mine}, names=names)
    assert (got['enforce_fps'], got['loop'], got['confidence']) == (False, False, 0.45)
    assert got['source'] == str(bundled_clip_path()) and got['classes'] == []
    got = launched_parameters(ros, tmp_path, 'video.launch.py', {}, names=names)
    assert (got['enforce_fps'], got['loop'], got['confidence']) == (True, True, 0.3)  # DEFAULTS
    got = launched_parameters(ros, tmp_path, 'video.launch.py', {
        'params_file': mine, 'enforce_fps': 'true', 'confidence': '0.6', 'use_sim_time': 'true',
        'source': '/dev/video3'}, names=names)
    assert (got['enforce_fps'], got['loop'], got['confidence']) == (True, False, 0.6)
    assert got['use_sim_time'] is True and got['source'] == '/dev/video3'
    got = launched_parameters(ros, tmp_path, 'topic.launch.py', {'params_file': mine},
                              names=names)
    assert (got['image_transport'], got['image_reliability'], got['source']) == (
        'compressed', 'reliable', '')  # topic mode whatever the file says
    got = launched_parameters(ros, tmp_path, 'topic.launch.py', {
        'params_file': mine, 'transport': 'raw', 'reliability': 'best_effort'}, names=names)
    assert (got['image_transport'], got['image_reliability']) == ('raw', 'best_effort')
    got = launched_parameters(ros, tmp_path, 'webcam.launch.py', {'device': '/dev/video2'},
                              names=['source', 'autostart'])
    assert got == {'source': '/dev/video2', 'autostart': False}


def test_multi_camera_launch_one_shared_node_or_one_each_publish_the_same_topics(ros, tmp_path):
    """What multi_camera.launch.py starts in each mode (params files in launch_ros's order)."""
    model = str(frame_code_model(tmp_path / 'codes.onnx', batch='batch'))
    front = write_video(tmp_path / 'front.avi', range(0, 200), fps=25.0)
    rear = write_video(tmp_path / 'rear.avi', range(1000, 1200), fps=25.0)
    codes = {'front': range(0, 200), 'rear': range(1000, 1200)}
    events = {path: ros.collect(String, path, EVENTS_QOS) for path in (
        '/lm/stream_infer/front/stream_events', '/lm/front/stream_infer/stream_events')}
    typed = {'loop': 'true', 'model': model, 'namespace': '/lm', 'sources': f'{front},{rear}',
             'namespaces': 'front,rear'}
    for shared, processes, events_topic in [
            ('true', 1, '/lm/stream_infer/front/stream_events'),
            ('false', 2, '/lm/front/stream_infer/stream_events')]:
        plan = launch_support.multi_camera_nodes(typed['sources'], typed['namespaces'], shared,
                                                 typed['namespace'])
        assert len(plan) == processes
        # New subscriptions per mode: detections of the previous mode's exited process can
        # still sit in an old subscription's queue and reach its callback after a clear().
        got = {c: ros.collect(Detection2DArray, f'/lm/{c}/detections', RELIABLE_QOS)
               for c in codes}
        procs = []
        try:
            for index, (namespace, fixed) in enumerate(plan):
                files = [launch_support.write_params_file(
                    launch_support.camera_defaults(namespace, fixed)),
                         launch_support.params_file_path(''),
                         launch_support.write_params_file(fixed),
                         launch_support.arguments_file(typed)]
                args = ['-r', f'__ns:={namespace}']
                for path in files:
                    args += ['--params-file', path]
                log = (tmp_path / f'{shared}{index}.log').open('w')
                procs.append(subprocess.Popen([installed_node(), '--ros-args', *args],
                                              stdout=log, stderr=subprocess.STDOUT,
                                              env=dict(os.environ)))
            assert wait_for(lambda: all(len(got[c]) >= 5 for c in codes), timeout=60), \
                [(tmp_path / f'{shared}{i}.log').read_text() for i in range(len(procs))]
            for camera, collected in got.items():
                assert all(m.header.frame_id == camera  # both modes: the camera's name
                           for m in collected), (shared, {m.header.frame_id for m in collected})
                assert all(int(d.results[0].hypothesis.class_id) in codes[camera]
                           for m in collected for d in m.detections), camera
            assert wait_for(lambda: any(e.data == 'started' for e in events[events_topic]))
            for proc in procs:
                proc.send_signal(signal.SIGINT)
            assert [proc.wait(timeout=15) for proc in procs] == [0] * processes
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()
