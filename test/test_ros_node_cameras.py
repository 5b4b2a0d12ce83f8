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
One node serving several cameras with one model, over real DDS.

Every frame carries its code in its pixels (helpers.frame_codes) and the model is a real ONNX
graph with a dynamic batch (onnx_graphs.frame_code_model) whose boxes have class = the code of
the frame they came from; camera k sends codes k * 1000 + i. So a box published on a camera's
topic names the frame it was found in: one on the wrong camera, or on another frame's message,
shows up as a wrong class id.
"""

from pathlib import Path
import threading

import cv2
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from helpers.frame_codes import read_index, stamp_index, write_video
from lifecycle_msgs.msg import Transition
from lifecycle_msgs.srv import ChangeState, GetState
import numpy as np
from onnx_graphs import frame_code_model
import pytest
from rcl_interfaces.msg import Log, ParameterEvent
from rclpy.parameter import Parameter
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from ros_harness import LATCHED_QOS, RELIABLE_QOS, SENSOR_QOS, wait_for
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Header, String
from std_srvs.srv import Trigger
from test_network_stream import camera, SECRET
from test_ros_node import _get, _set, _state, image_msg, start_node
from vision_msgs.msg import Detection2DArray, LabelInfo

from stream_infer.errors import ConfigurationError
from stream_infer.ros.node import StreamInferNode
from stream_infer.ros.parameters import startup_values

__all__ = ['camera']  # fixtures

EVENTS_QOS = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE,
                        durability=DurabilityPolicy.TRANSIENT_LOCAL)
CAMERAS = ['front', 'left', 'rear']


@pytest.fixture(scope='module')
def code_model(tmp_path_factory):
    return str(frame_code_model(tmp_path_factory.mktemp('m') / 'codes.onnx', batch='batch'))


def start_cameras(ros, model, name, namespace, cameras, activate=True, **params):
    return start_node(ros, model, name=name, namespace=namespace, activate=activate,
                      cameras=list(cameras), **params)


def coded_image(code, frame_id):
    """Return a bgr8 Image of the frame coded `code`, stamped sec = code."""
    return image_msg(stamp=(code, 0), frame_id=frame_id, pixels=stamp_index(code))


def codes_in(msg):
    return {int(d.results[0].hypothesis.class_id) for d in msg.detections}


def statuses(diags, node):
    """Return {status name: (level, values)} of node's newest /diagnostics message."""
    for msg in reversed(diags):
        found = {s.name: (s.level, {kv.key: kv.value for kv in s.values})
                 for s in msg.status if s.name.startswith(f'{node}: ')}
        if found:
            return found
    return {}


def events_of(collected):
    return [e.data for e in collected]


def test_topic_mode_each_camera_publishes_its_own_frames_headers_and_diagnostics(
        ros, code_model):
    ns, node_name = '/mc', 'si_multi'
    node = f'{ns}/{node_name}'
    diags = ros.collect(DiagnosticArray, '/diagnostics')
    got = {c: ros.collect(Detection2DArray, f'{ns}/{c}/detections') for c in CAMERAS}
    labels = {c: ros.collect(LabelInfo, f'{ns}/{c}/label_info', LATCHED_QOS) for c in CAMERAS}
    events = {c: ros.collect(String, f'{node}/{c}/stream_events', EVENTS_QOS)
              for c in CAMERAS}
    node_events = ros.collect(String, f'{node}/stream_events', EVENTS_QOS)
    start_cameras(ros, code_model, node_name, ns, CAMERAS, diagnostics_period=0.2)
    pubs = {c: ros.probe.create_publisher(Image, f'{ns}/{c}/image', SENSOR_QOS)
            for c in CAMERAS}
    sent = iter(range(1, 900))

    def publish_to_all():  # the same instant on every camera: frames share model runs
        i = next(sent)
        for k, c in enumerate(CAMERAS):
            pubs[c].publish(coded_image(k * 1000 + i, f'{c}_optical'))

    assert wait_for(lambda: all(len(got[c]) >= 8 for c in CAMERAS), timeout=60,
                    pump=publish_to_all, period=0.05), {c: len(got[c]) for c in CAMERAS}
    for k, c in enumerate(CAMERAS):
        for msg in got[c]:
            assert msg.header.frame_id == f'{c}_optical', 'the source image header'
            assert msg.header.stamp.sec // 1000 == k, f'{c}: a frame of another camera'
            assert codes_in(msg) == {msg.header.stamp.sec}, 'boxes of another frame'
            assert all(d.header.frame_id == f'{c}_optical' for d in msg.detections)
        assert wait_for(lambda: len(labels[c]) > 0) and labels[c][-1].threshold == \
            pytest.approx(0.3)
        assert wait_for(lambda: 'started' in events_of(events[c])), events_of(events[c])
    assert wait_for(lambda: 'started' in events_of(node_events))
    # No single-camera topics: only the cameras' own.
    assert ros.probe.count_publishers(f'{ns}/detections') == 0
    assert ros.probe.count_subscribers(f'{ns}/image') == 0
    assert all(ros.probe.count_subscribers(f'{ns}/{c}/image') == 1 for c in CAMERAS)

    # One /diagnostics entry per camera; a bad image on one camera is counted there only.
    bad = coded_image(5, 'left_optical')
    bad.data = bytes(bad.data)[:100]
    pubs['left'].publish(bad)
    names = {f'{node}: stream_infer {c}' for c in CAMERAS}

    def left_counted():
        found = statuses(diags, node)
        return set(found) == names and found[f'{node}: stream_infer left'][1][
            'bad_images_skipped'] == '1'

    assert wait_for(left_counted, timeout=20), statuses(diags, node)
    found = statuses(diags, node)
    for c in CAMERAS:
        level, values = found[f'{node}: stream_infer {c}']
        assert int(values['frames_processed']) >= 8 and values['source_state'] == 'connected'
        assert values['bad_images_skipped'] == ('1' if c == 'left' else '0')
        assert level == (DiagnosticStatus.WARN if c == 'left' else DiagnosticStatus.OK)


def test_source_mode_files_each_camera_its_frame_id_image_raw_and_own_end(
        ros, code_model, tmp_path):
    ns, node_name = '/mf', 'si_files'
    node = f'{ns}/{node_name}'
    front = write_video(tmp_path / 'front.avi', range(0, 6), fps=25.0)  # ends first
    rear = write_video(tmp_path / 'rear.avi', range(1000, 1200), fps=25.0)  # 8 s
    got = {c: ros.collect(Detection2DArray, f'{ns}/{c}/detections') for c in ('front', 'rear')}
    raw = {c: ros.collect(Image, f'{ns}/{c}/image_raw') for c in ('front', 'rear')}
    events = {c: ros.collect(String, f'{node}/{c}/stream_events', EVENTS_QOS)
              for c in ('front', 'rear')}
    node_events = ros.collect(String, f'{node}/stream_events', EVENTS_QOS)
    diags = ros.collect(DiagnosticArray, '/diagnostics')
    si = start_cameras(ros, code_model, node_name, ns, ['front', 'rear'],
                       sources=[str(front), str(rear)], frame_ids=['front_optical', ''],
                       publish_source_image=True, enforce_fps=True, diagnostics_period=0.2)
    assert wait_for(lambda: 'stopped: ended' in events_of(events['front']), timeout=30), \
        events_of(events['front'])
    rear_then = len(got['rear'])
    assert wait_for(lambda: len(got['rear']) > rear_then + 3), 'rear goes on after front ended'

    def front_ended_rear_running():  # both in one /diagnostics message
        found = statuses(diags, node)
        front_values = found.get(f'{node}: stream_infer front', (0, {}))[1]
        rear_values = found.get(f'{node}: stream_infer rear', (0, {}))[1]
        return front_values.get('stop_reason') == 'ended' and rear_values.get('running') == 'True'

    assert wait_for(front_ended_rear_running), statuses(diags, node)
    found = statuses(diags, node)
    level, values = found[f'{node}: stream_infer front']
    assert level == DiagnosticStatus.WARN and values['running'] == 'False', values
    assert 1 <= int(values['frames_processed']) <= 6, 'its own frames only'
    assert found[f'{node}: stream_infer rear'][0] == DiagnosticStatus.OK
    assert wait_for(lambda: 'stopped: ended' in events_of(events['rear']), timeout=30)
    assert wait_for(lambda: 'stopped: ended' in events_of(node_events))
    # (its last frame or two may be delivered after its source ended: order not asserted)
    assert sorted(events_of(events['front'])) == ['started', 'stopped: ended']
    for c, codes, frame_id in [('front', range(0, 6), 'front_optical'),
                               ('rear', range(1000, 1200), 'rear')]:
        assert got[c] and all(m.header.frame_id == frame_id for m in got[c])
        seen = [codes_in(m) for m in got[c]]
        assert all(len(s) == 1 and next(iter(s)) in codes for s in seen), (c, seen)
        order = [next(iter(s)) for s in seen]
        assert order == sorted(order), f'{c}: its frames in order'
        assert raw[c] and all(m.header.frame_id == frame_id for m in raw[c])
        assert all(read_index(_pixels(m)) in codes for m in raw[c])
    # Every camera ended, the node stays active; deactivate + activate plays them again.
    assert si._state == 'active'
    before = len(got['front'])
    si.trigger_deactivate()
    si.trigger_activate()
    assert wait_for(lambda: len(got['front']) > before)
    assert wait_for(lambda: events_of(events['front']).count('started') == 2)


def _pixels(msg):
    return np.frombuffer(bytes(msg.data), np.uint8).reshape(msg.height, msg.width, 3)


def _transition(ros, client, transition_id):
    return ros.call(client, ChangeState.Request(
        transition=Transition(id=transition_id))).success


def test_lifecycle_cycles_camera_changes_and_the_checks_a_start_up_makes(ros, code_model):
    ns, node_name = '/mcl', 'si_cycle'
    node = f'{ns}/{node_name}'
    si = start_cameras(ros, code_model, node_name, ns, ['a', 'b'], activate=False)
    change = ros.probe.create_client(ChangeState, f'{node}/change_state')
    get = ros.probe.create_client(GetState, f'{node}/get_state')
    events = {c: ros.collect(String, f'{node}/{c}/stream_events', EVENTS_QOS)
              for c in ('a', 'b', 'c')}
    got = {c: ros.collect(Detection2DArray, f'{ns}/{c}/detections') for c in ('a', 'b', 'c')}
    pubs = {c: ros.probe.create_publisher(Image, f'{ns}/{c}/image', SENSOR_QOS)
            for c in ('a', 'b', 'c')}
    # A runtime set is refused with the line a start-up with the same values gets.
    for values in [{'sources': ['x.mp4']}, {'cameras': ['a', 'a']}, {'cameras': ['9a']},
                   {'source': 'x.mp4'}]:
        [result] = _set(ros, node[1:], **values)
        with pytest.raises(ConfigurationError) as info:
            startup_values({'cameras': ['a', 'b'], **values})
        assert not result.successful and result.reason == str(info.value), values
    baseline = None
    cameras = ['a', 'b']
    for cycle in range(3):
        if _state(ros, get) == 'unconfigured':
            assert _transition(ros, change, Transition.TRANSITION_CONFIGURE)
        assert _transition(ros, change, Transition.TRANSITION_ACTIVATE)
        assert _state(ros, get) == 'active'
        [refused] = _set(ros, node[1:], cameras=['a'])
        assert not refused.successful and 'cannot change while active' in refused.reason
        for k, c in enumerate(cameras):
            code = 1000 * k + 10 * cycle + 1
            assert wait_for(lambda: any(m.header.stamp.sec == code for m in got[c]),
                            pump=lambda: pubs[c].publish(coded_image(code, c)), period=0.1), \
                (cycle, c)
        assert _transition(ros, change, Transition.TRANSITION_DEACTIVATE)
        for c in cameras:
            assert wait_for(lambda: events_of(events[c])[-1:] == ['stopped: stopped']), \
                events_of(events[c])
        if cycle == 0:  # while inactive: a third camera (its publishers made at activate)
            assert _set(ros, node[1:], cameras=['a', 'b', 'c'])[0].successful
            cameras = ['a', 'b', 'c']
            assert _get(ros, node[1:], 'cameras') == cameras
            continue
        assert _transition(ros, change, Transition.TRANSITION_CLEANUP)
        assert _state(ros, get) == 'unconfigured'
        threads = threading.active_count()
        baseline = threads if baseline is None else baseline
        assert threads <= baseline, f'threads grew from {baseline} to {threads} in cycle {cycle}'
    assert [e for e in events_of(events['c']) if e == 'started'] == ['started'] * 2
    assert si.get_parameter('cameras').value == ['a', 'b', 'c']


def test_per_camera_credentials_file_and_a_camera_down_at_activation(
        ros, code_model, camera, tmp_path):
    ns, node_name = '/mn', 'si_net'
    node = f'{ns}/{node_name}'
    cam = camera()  # its server is not running yet
    secret_file = tmp_path / 'camera.credentials'
    secret_file.write_text(f'viewer:{SECRET}\n')
    secret_file.chmod(0o600)
    clip = write_video(tmp_path / 'file.avi', range(2000, 2050), fps=25.0)
    param_events = ros.collect(ParameterEvent, '/parameter_events', RELIABLE_QOS)
    diags = ros.collect(DiagnosticArray, '/diagnostics')
    got = {c: ros.collect(Detection2DArray, f'{ns}/{c}/detections') for c in ('net', 'file')}
    start_cameras(ros, code_model, node_name, ns, ['net', 'file'],
                  sources=[f'http://127.0.0.1:{cam.port}/stream.mjpg', str(clip)],
                  source_credentials_files=[str(secret_file), ''], loop=True,
                  reconnect_delay=0.1, reconnect_max_delay=0.5, diagnostics_period=0.2)

    def net_state():
        return statuses(diags, node).get(f'{node}: stream_infer net', (0, {}))[1].get(
            'source_state')

    assert wait_for(lambda: net_state() == 'reconnecting'), statuses(diags, node)
    assert wait_for(lambda: len(got['file']) >= 5), 'the file camera goes on meanwhile'
    assert not got['net']
    cam.start(start_index=5000)
    assert wait_for(lambda: len(got['net']) >= 3, timeout=30), statuses(diags, node)
    assert wait_for(lambda: net_state() == 'connected')
    assert all(codes_in(m) <= set(range(5000, 6000)) for m in got['net'])
    assert all(codes_in(m) <= set(range(2000, 2050)) for m in got['file'])
    assert SECRET not in str(_get(ros, node[1:], 'sources'))
    assert param_events and not any(SECRET in str(e) for e in param_events)
    assert not any(SECRET in str(m) for m in diags)


def test_compressed_topics_per_camera_follow_remapping(ros, code_model):
    """Camera front's image/compressed remapped to a driver's topic; rear keeps its own."""
    ns = '/mcc'
    overrides = [Parameter('model', value=code_model),
                 Parameter('cameras', value=['front', 'rear']),
                 Parameter('image_transport', value='compressed')]
    node = ros.add(StreamInferNode(
        'si_jpeg', namespace=ns, context=ros.context, parameter_overrides=overrides,
        cli_args=['--ros-args', '-r', 'front/image/compressed:=/drivers/front/jpeg']))
    node.trigger_configure()
    node.trigger_activate()
    got = {c: ros.collect(Detection2DArray, f'{ns}/{c}/detections') for c in ('front', 'rear')}
    pubs = {'front': ros.probe.create_publisher(CompressedImage, '/drivers/front/jpeg',
                                                SENSOR_QOS),
            'rear': ros.probe.create_publisher(CompressedImage, f'{ns}/rear/image/compressed',
                                               SENSOR_QOS)}
    for k, c in enumerate(('front', 'rear')):
        code = 1000 * k + 7
        msg = CompressedImage(format='jpeg', header=Header(frame_id=f'{c}_optical'))
        msg.header.stamp.sec = code
        msg.data = cv2.imencode('.jpg', stamp_index(code))[1].tobytes()
        assert wait_for(lambda: any(m.header.stamp.sec == code for m in got[c]),
                        pump=lambda: pubs[c].publish(msg), period=0.1), c
        [out] = [m for m in got[c] if m.header.stamp.sec == code][:1]
        assert out.header.frame_id == f'{c}_optical' and codes_in(out) == {code}
    assert ros.probe.count_subscribers(f'{ns}/front/image/compressed') == 0


def test_credentials_in_sources_are_warned_about_once_naming_the_per_camera_files(ros, code_model):
    logs = ros.collect(Log, '/rosout', RELIABLE_QOS)
    start_cameras(ros, code_model, 'si_warn', '/mw', ['a', 'b'], activate=False)
    for password in ('pw-first', 'pw-second'):
        url = f'rtsp://viewer:{password}@127.0.0.1:1/stream'
        assert _set(ros, 'mw/si_warn', sources=['', url])[0].successful

    def lines():
        return [m.msg for m in logs if m.name == 'mw.si_warn' and 'carries credentials' in m.msg]

    assert wait_for(lambda: lines())
    assert not wait_for(lambda: len(lines()) > 1, timeout=1.0)
    assert 'parameter sources carries' in lines()[0]
    assert 'source_credentials_files' in lines()[0] and 'pw-' not in lines()[0]


def test_capture_with_several_cameras_names_each_camera_and_saves_one_frame_each(
        ros, code_model, tmp_path):
    ns, node_name = '/mcap', 'si_multi_cap'
    cameras = ['front', 'rear']
    diags = ros.collect(DiagnosticArray, '/diagnostics')
    got = {c: ros.collect(Detection2DArray, f'{ns}/{c}/detections') for c in cameras}
    start_cameras(ros, code_model, node_name, ns, cameras, diagnostics_period=0.2,
                  capture_directory=str(tmp_path / 'hard'), capture_rules=[])
    pubs = {c: ros.probe.create_publisher(Image, f'{ns}/{c}/image', SENSOR_QOS)
            for c in cameras}
    for k, c in enumerate(cameras):
        code = k * 1000 + 7
        assert wait_for(lambda: any(m.header.stamp.sec == code for m in got[c]), timeout=30,
                        pump=lambda: pubs[c].publish(coded_image(code, c)), period=0.1)
    client = ros.probe.create_client(Trigger, f'{ns}/{node_name}/capture')
    answer = ros.call(client, Trigger.Request())
    assert answer.success, answer.message
    images = answer.message.split(', ')
    assert len(images) == 2
    assert sorted(read_index(cv2.imread(path)) for path in images) == [7, 1007]
    assert sorted(Path(path).name.split('_')[1] for path in images) == cameras
    node = f'{ns}/{node_name}'
    assert wait_for(lambda: any(name.endswith('capture') and values.get('capture.saved') == '2'
                                for name, (_, values) in statuses(diags, node).items())), \
        statuses(diags, node)
