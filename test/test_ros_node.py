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
The lifecycle node over real DDS: topics, headers, parameters, lifecycle services, diagnostics.

The model is a real ONNX graph that always outputs three known boxes (64x64 input pixels), so
every published box can be checked exactly: images are 128x128, so boxes come back doubled.
"""

import logging
import threading
import time

from builtin_interfaces.msg import Time
import cv2
from diagnostic_msgs.msg import DiagnosticArray
from helpers.frame_codes import write_video
from lifecycle_msgs.msg import Transition
from lifecycle_msgs.srv import ChangeState, GetState
import numpy as np
import pytest
from rcl_interfaces.msg import Log, Parameter as ParameterMsg, ParameterType, ParameterValue
from rcl_interfaces.srv import (
    GetParameters, ListParameters, SetParameters, SetParametersAtomically)
from rclpy.lifecycle import TransitionCallbackReturn
from rclpy.parameter import Parameter
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from ros_harness import (
    constant_end2end_model, LATCHED_QOS, RELIABLE_QOS, SENSOR_QOS, wait_for)
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Header, String
from vision_msgs.msg import Detection2DArray, LabelInfo

from stream_infer.errors import ConfigurationError
from stream_infer.ros.log_bridge import RosLogHandler
from stream_infer.ros.node import StreamInferNode

ROWS = [[8, 8, 24, 40, 0.9, 0], [40, 4, 60, 20, 0.5, 1], [2, 44, 20, 62, 0.42, 1]]
EXPECTED_CENTERS = [(32.0, 48.0), (100.0, 24.0), (22.0, 106.0)]  # doubled, original pixels
EXPECTED_SIZES = [(32.0, 64.0), (40.0, 32.0), (36.0, 36.0)]
NAMES = ['person', 'cup']
BGR = np.dstack([np.full((128, 128), v, np.uint8) for v in (30, 90, 200)])
ROSOUT_QOS = QoSProfile(depth=1000, reliability=ReliabilityPolicy.RELIABLE,
                        durability=DurabilityPolicy.TRANSIENT_LOCAL)
EVENTS_QOS = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE,
                        durability=DurabilityPolicy.TRANSIENT_LOCAL)
WARN = b'\x01'  # diagnostic_msgs/DiagnosticStatus.WARN


@pytest.fixture(scope='module')
def model_path(tmp_path_factory):
    return constant_end2end_model(tmp_path_factory.mktemp('m') / 'const.onnx', ROWS,
                                  names=NAMES)


def start_node(ros, model_path, name='stream_infer', activate=True, namespace='', **params):
    overrides = [Parameter('model', value=model_path), Parameter('layout', value='end2end')]
    overrides += [Parameter(k, value=v) for k, v in params.items()]
    node = ros.add(StreamInferNode(name, namespace=namespace, context=ros.context,
                                   parameter_overrides=overrides))
    if activate:
        node.trigger_configure()
        node.trigger_activate()
    return node


def image_msg(encoding='bgr8', stamp=(100, 5), frame_id='cam_optical', pixels=BGR):
    conv = {'bgr8': None, 'rgb8': cv2.COLOR_BGR2RGB, 'mono8': cv2.COLOR_BGR2GRAY,
            'rgba8': cv2.COLOR_BGR2RGBA, 'bgra8': cv2.COLOR_BGR2BGRA}[encoding]
    data = pixels if conv is None else cv2.cvtColor(pixels, conv)
    msg = Image(height=data.shape[0], width=data.shape[1], encoding=encoding,
                step=data.shape[1] * (data.shape[2] if data.ndim == 3 else 1))
    msg.header = Header(frame_id=frame_id)
    msg.header.stamp.sec, msg.header.stamp.nanosec = stamp
    msg.data = data.tobytes()
    return msg


def publish_until(ros, pub, msg, got, predicate, timeout=20.0):
    return wait_for(lambda: predicate(got), timeout=timeout, pump=lambda: pub.publish(msg),
                    period=0.1)


def with_stamp(sec):
    return lambda got: any(m.header.stamp.sec == sec for m in got)


def by_stamp(got, sec):
    return next(m for m in got if m.header.stamp.sec == sec)


def test_detections_keep_the_source_header_and_original_pixels(ros, model_path):
    start_node(ros, model_path)
    got = ros.collect(Detection2DArray, 'detections')
    pub = ros.probe.create_publisher(Image, 'image', SENSOR_QOS)
    for i, encoding in enumerate(['bgr8', 'rgb8', 'mono8', 'rgba8', 'bgra8']):
        sec = 200 + i
        msg = image_msg(encoding, stamp=(sec, 123), frame_id=f'frame_{encoding}')
        assert publish_until(ros, pub, msg, got, with_stamp(sec)), f'{encoding}: no detections'
        out = by_stamp(got, sec)
        assert out.header.frame_id == f'frame_{encoding}' and out.header.stamp.nanosec == 123
        assert len(out.detections) == 3
        for det, center, size, row in zip(out.detections, EXPECTED_CENTERS, EXPECTED_SIZES,
                                          ROWS):
            assert det.header.frame_id == f'frame_{encoding}'
            assert det.header.stamp.sec == sec
            assert (det.bbox.center.position.x, det.bbox.center.position.y) == \
                pytest.approx(center)
            assert (det.bbox.size_x, det.bbox.size_y) == pytest.approx(size)
            assert det.results[0].hypothesis.class_id == str(row[5])
            assert det.results[0].hypothesis.score == pytest.approx(row[4], abs=1e-6)


def test_tracker_ids_become_stable_and_distinct(ros, model_path):
    start_node(ros, model_path)
    got = ros.collect(Detection2DArray, 'detections')
    pub = ros.probe.create_publisher(Image, 'image', SENSOR_QOS)
    for sec in range(300, 312):
        assert publish_until(ros, pub, image_msg(stamp=(sec, 0)), got, with_stamp(sec))
    ids = [[d.id for d in by_stamp(got, sec).detections] for sec in (309, 310, 311)]
    assert all(i != '' for i in ids[-1]) and len(set(ids[-1])) == 3
    assert ids[0] == ids[1] == ids[2]


def test_compressed_transport(ros, model_path):
    start_node(ros, model_path, image_transport='compressed')
    got = ros.collect(Detection2DArray, 'detections')
    pub = ros.probe.create_publisher(CompressedImage, 'image/compressed', SENSOR_QOS)
    for i, (fmt, ext) in enumerate([('jpeg', '.jpg'), ('png', '.png')]):
        msg = CompressedImage(format=fmt)
        msg.header.stamp.sec, msg.header.frame_id = 400 + i, 'cam'
        msg.data = cv2.imencode(ext, BGR)[1].tobytes()
        assert publish_until(ros, pub, msg, got, with_stamp(400 + i)), fmt
        out = by_stamp(got, 400 + i)
        assert out.header.frame_id == 'cam' and len(out.detections) == 3
        assert out.detections[0].bbox.size_x == pytest.approx(32.0)


def test_label_info_reaches_a_late_subscriber(ros, model_path):
    node = start_node(ros, model_path)
    assert wait_for(lambda: node.count_subscribers('label_info') == 0, timeout=5)
    got = ros.collect(LabelInfo, 'label_info', LATCHED_QOS)
    assert wait_for(lambda: len(got) > 0), 'LabelInfo not received by a late subscriber'
    assert [(c.class_id, c.class_name) for c in got[0].class_map] == [(0, 'person'), (1, 'cup')]
    assert got[0].threshold == pytest.approx(0.3)


def _set(ros, node_name, **values):
    """Set values together (atomically) through the real service; return [the one result]."""
    client = ros.probe.create_client(SetParametersAtomically,
                                     f'/{node_name}/set_parameters_atomically')
    req = SetParametersAtomically.Request(
        parameters=[Parameter(k, value=v).to_parameter_msg() for k, v in values.items()])
    return [ros.call(client, req).result]


def _get(ros, node_name, name):
    client = ros.probe.create_client(GetParameters, f'/{node_name}/get_parameters')
    value = ros.call(client, GetParameters.Request(names=[name])).values[0]
    return Parameter.from_parameter_msg(ParameterMsg(name=name, value=value)).value


def test_parameters_apply_from_the_next_frame_or_are_rejected_with_a_reason(ros, model_path):
    start_node(ros, model_path)
    got = ros.collect(Detection2DArray, 'detections')
    pub = ros.probe.create_publisher(Image, 'image', SENSOR_QOS)
    assert publish_until(ros, pub, image_msg(stamp=(500, 0)), got, with_stamp(500))
    assert len(by_stamp(got, 500).detections) == 3

    [result] = _set(ros, 'stream_infer', confidence=0.6)
    assert result.successful
    assert publish_until(ros, pub, image_msg(stamp=(501, 0)), got, with_stamp(501))
    assert [d.results[0].hypothesis.score for d in by_stamp(got, 501).detections] == \
        pytest.approx([0.9])

    [result] = _set(ros, 'stream_infer', classes=['cup'], confidence=0.3)
    assert result.successful
    assert publish_until(ros, pub, image_msg(stamp=(502, 0)), got, with_stamp(502))
    assert {d.results[0].hypothesis.class_id for d in by_stamp(got, 502).detections} == {'1'}

    [result] = _set(ros, 'stream_infer', class_id_format='name', classes=[''])
    assert result.successful
    assert publish_until(ros, pub, image_msg(stamp=(503, 0)), got, with_stamp(503))
    assert [d.results[0].hypothesis.class_id for d in by_stamp(got, 503).detections] == [
        'person', 'cup', 'cup']

    for bad, words in [({'confidence': 1.5}, ''), ({'classes': ['giraffe']}, 'giraffe'),
                       ({'image_transport': 'compressed'}, 'deactivate'),
                       ({'model': '/tmp/other.onnx'}, 'cleanup'),
                       ({'class_id_format': 'uuid'}, 'one of')]:
        [result] = _set(ros, 'stream_infer', **bad)
        assert not result.successful, bad
        assert words in result.reason and result.reason, (bad, result.reason)
    assert _get(ros, 'stream_infer', 'confidence') == pytest.approx(0.3)
    assert _get(ros, 'stream_infer', 'image_transport') == 'raw'


def _transition(ros, client, transition_id):
    return ros.call(client, ChangeState.Request(
        transition=Transition(id=transition_id))).success


def _state(ros, client):
    return ros.call(client, GetState.Request()).current_state.label


def test_lifecycle_services_bad_model_and_repeated_cycles(ros, model_path, tmp_path):
    bad = tmp_path / 'missing.onnx'
    node = start_node(ros, model_path, name='si_lifecycle', activate=False, namespace='/lc')
    change = ros.probe.create_client(ChangeState, '/lc/si_lifecycle/change_state')
    get = ros.probe.create_client(GetState, '/lc/si_lifecycle/get_state')
    events = ros.collect(String, '/lc/si_lifecycle/stream_events', LATCHED_QOS)
    assert _set(ros, 'lc/si_lifecycle', model=str(bad))[0].successful
    assert not _transition(ros, change, Transition.TRANSITION_CONFIGURE)
    assert _state(ros, get) == 'unconfigured'
    assert _set(ros, 'lc/si_lifecycle', model=model_path)[0].successful

    got = ros.collect(Detection2DArray, '/lc/detections')
    pub = ros.probe.create_publisher(Image, '/lc/image', SENSOR_QOS)
    baseline = None
    for cycle in range(3):
        assert _transition(ros, change, Transition.TRANSITION_CONFIGURE)
        assert _transition(ros, change, Transition.TRANSITION_ACTIVATE)
        assert _state(ros, get) == 'active'
        sec = 600 + cycle
        assert publish_until(ros, pub, image_msg(stamp=(sec, 0)), got, with_stamp(sec))
        assert _transition(ros, change, Transition.TRANSITION_DEACTIVATE)
        assert _state(ros, get) == 'inactive'
        assert _transition(ros, change, Transition.TRANSITION_CLEANUP)
        assert _state(ros, get) == 'unconfigured'
        threads = threading.active_count()
        baseline = threads if baseline is None else baseline
        assert threads <= baseline, f'threads grew from {baseline} to {threads} in cycle {cycle}'
    assert any(e.data.startswith('started') for e in events)
    assert node.get_parameter('model').value == model_path


def _diag_values(msgs, node_name):
    for msg in reversed(msgs):
        for status in msg.status:
            if node_name in status.name:
                return {kv.key: kv.value for kv in status.values}, status
    return None, None


def test_malformed_images_are_counted_and_skipped_annotated_only_when_subscribed(
        ros, model_path):
    start_node(ros, model_path, diagnostics_period=0.2)
    got = ros.collect(Detection2DArray, 'detections')
    diags = ros.collect(DiagnosticArray, '/diagnostics')
    pub = ros.probe.create_publisher(Image, 'image', RELIABLE_QOS)

    wrong_step = image_msg(stamp=(700, 0))
    wrong_step.step = 10
    truncated = image_msg(stamp=(701, 0))
    truncated.data = bytes(truncated.data)[:1000]
    unknown = image_msg(stamp=(702, 0))
    unknown.encoding = '16UC3'
    empty = image_msg(stamp=(703, 0))
    empty.height = 0
    for count, bad in enumerate((wrong_step, truncated, unknown, empty), start=1):
        # The subscription keeps only the newest image (sensor-data QoS): one at a time.
        pub.publish(bad)
        assert wait_for(lambda: (_diag_values(diags, 'stream_infer')[0] or {}).get(
            'bad_images_skipped') == str(count)), _diag_values(diags, 'stream_infer')[0]
    values, status = _diag_values(diags, 'stream_infer')
    assert status.level == status.WARN and '4 bad images' in status.message
    assert '16UC3' in values['last_bad_image'] or 'empty' in values['last_bad_image']

    assert publish_until(ros, pub, image_msg(stamp=(710, 0)), got, with_stamp(710))
    assert not any(m.header.stamp.sec in (700, 701, 702, 703) for m in got)
    for key in ('execution_provider', 'source_state'):
        assert key in values
    assert values['model_precision'] == 'float'  # an INT8 file says how it was calibrated
    assert _diag_values(diags, 'stream_infer')[0]['annotated_published'] == '0'

    annotated = ros.collect(Image, 'annotated')
    assert publish_until(ros, pub, image_msg(stamp=(711, 0)), annotated, with_stamp(711))
    out = by_stamp(annotated, 711)
    assert (out.width, out.height, out.encoding, out.header.frame_id) == (
        128, 128, 'bgr8', 'cam_optical')
    drawn = np.frombuffer(out.data, np.uint8).reshape(128, 128, 3)
    assert not np.array_equal(drawn, BGR), 'annotated image has nothing drawn on it'
    assert wait_for(lambda: int(_diag_values(diags, 'stream_infer')[0].get(
        'annotated_published', 0)) > 0)


def test_a_publisher_with_incompatible_qos_is_reported_not_silently_ignored(ros, model_path):
    start_node(ros, model_path, diagnostics_period=0.2, image_reliability='reliable')
    diags = ros.collect(DiagnosticArray, '/diagnostics')
    got = ros.collect(Detection2DArray, 'detections')
    pub = ros.probe.create_publisher(Image, 'image', SENSOR_QOS)  # best effort: can't match
    assert wait_for(lambda: (_diag_values(diags, 'stream_infer')[0] or {}).get(
        'input_incompatible_publishers') == '1', pump=lambda: pub.publish(image_msg()),
        period=0.1), _diag_values(diags, 'stream_infer')[0]
    values, status = _diag_values(diags, 'stream_infer')
    assert status.level == status.WARN and 'incompatible QoS' in status.message
    assert values['input_messages_lost'] == '0'
    assert got == []


def test_rapid_deactivate_activate_cycles_never_stop_the_executor(ros, model_path):
    """Deactivate destroys the subscription while the executor spins (an rclpy race)."""
    node = start_node(ros, model_path, name='si_cycles', namespace='/cy')
    change = ros.probe.create_client(ChangeState, '/cy/si_cycles/change_state')
    pub = ros.probe.create_publisher(Image, '/cy/image', SENSOR_QOS)
    stop = threading.Event()

    def pump():
        while not stop.is_set():
            pub.publish(image_msg())
            time.sleep(0.005)

    pumper = threading.Thread(target=pump, daemon=True)
    pumper.start()
    try:
        for _ in range(25):
            assert _transition(ros, change, Transition.TRANSITION_DEACTIVATE)
            assert _transition(ros, change, Transition.TRANSITION_ACTIVATE)
    finally:
        stop.set()
        pumper.join(2.0)
    assert ros.spin_error is None, ros.spin_error
    assert node._state == 'active'


def _engine_threads():
    return [t.name for t in threading.enumerate() if t.name.startswith('stream_infer-')]


def test_destroying_an_active_node_stops_its_engine_threads(ros, model_path):
    node = start_node(ros, model_path, name='si_destroy', namespace='/de')
    got = ros.collect(Detection2DArray, '/de/detections')
    pub = ros.probe.create_publisher(Image, '/de/image', SENSOR_QOS)
    assert publish_until(ros, pub, image_msg(stamp=(800, 0)), got, with_stamp(800))
    assert len(_engine_threads()) == 3, _engine_threads()  # capture, infer, deliver
    ros.destroy(node)
    assert wait_for(lambda: not _engine_threads(), timeout=10), _engine_threads()


def test_annotated_compressed_is_a_jpeg_drawn_only_for_subscribers(ros, model_path):
    start_node(ros, model_path, diagnostics_period=0.2)
    diags = ros.collect(DiagnosticArray, '/diagnostics')
    pub = ros.probe.create_publisher(Image, 'image', SENSOR_QOS)
    got = ros.collect(Detection2DArray, 'detections')
    assert publish_until(ros, pub, image_msg(stamp=(900, 0)), got, with_stamp(900))
    assert wait_for(lambda: (_diag_values(diags, 'stream_infer')[0] or {}).get(
        'annotated_compressed_published') == '0')
    jpegs = ros.collect(CompressedImage, 'annotated/compressed')
    raws = ros.collect(Image, 'annotated')
    assert publish_until(ros, pub, image_msg(stamp=(901, 0)), jpegs, with_stamp(901))
    out = by_stamp(jpegs, 901)
    assert out.format == 'bgr8; jpeg compressed bgr8' and out.header.frame_id == 'cam_optical'
    drawn = cv2.imdecode(np.frombuffer(out.data, np.uint8), cv2.IMREAD_COLOR)
    assert drawn.shape == (128, 128, 3)
    assert np.abs(drawn.astype(int) - BGR).max() > 100, 'nothing drawn on the JPEG'
    assert wait_for(lambda: with_stamp(901)(raws)), 'the raw annotated image (same frame)'
    jpeg_of_raw = by_stamp(raws, 901)
    raw = np.frombuffer(jpeg_of_raw.data, np.uint8).reshape(128, 128, 3)
    assert np.abs(raw.astype(int) - drawn).mean() < 8  # one drawing, two encodings


def _set_service(ros, node_name, *params):
    """ros2 param set / load: SetParameters with these messages; return the results."""
    client = ros.probe.create_client(SetParameters, f'/{node_name}/set_parameters')
    return ros.call(client, SetParameters.Request(parameters=list(params))).results


def test_setting_the_current_values_succeeds_in_any_state(ros, model_path):
    """What `ros2 param load` of the node's own `ros2 param dump` sends, while active."""
    node = start_node(ros, model_path, name='si_load', namespace='/ld')
    lister = ros.probe.create_client(ListParameters, '/ld/si_load/list_parameters')
    names = list(ros.call(lister, ListParameters.Request()).result.names)
    getter = ros.probe.create_client(GetParameters, '/ld/si_load/get_parameters')
    values = ros.call(getter, GetParameters.Request(names=names)).values
    results = _set_service(ros, 'ld/si_load', *[
        ParameterMsg(name=n, value=v) for n, v in zip(names, values)])
    failed = {n: r.reason for n, r in zip(names, results) if not r.successful}
    # Only rclpy's own read-only parameter refuses (every rclpy node does).
    assert set(failed) <= {'start_type_description_service'}, failed
    assert {'source', 'model', 'image_transport', 'providers'} <= set(names) - set(failed)
    assert node._state == 'active'
    [changed] = _set_service(ros, 'ld/si_load', Parameter(
        'image_transport', value='compressed').to_parameter_msg())
    assert not changed.successful and 'deactivate' in changed.reason


def test_classes_accepts_an_empty_array_of_any_type_and_indices(ros, model_path):
    start_node(ros, model_path)
    got = ros.collect(Detection2DArray, 'detections')
    pub = ros.probe.create_publisher(Image, 'image', SENSOR_QOS)

    def classes(sec):
        assert publish_until(ros, pub, image_msg(stamp=(sec, 0)), got, with_stamp(sec))
        return [d.results[0].hypothesis.class_id for d in by_stamp(got, sec).detections]

    [indices] = _set_service(ros, 'stream_infer', ParameterMsg(
        name='classes', value=ParameterValue(type=ParameterType.PARAMETER_INTEGER_ARRAY,
                                             integer_array_value=[1])))
    assert indices.successful and _get(ros, 'stream_infer', 'classes') == ['1']
    assert classes(950) == ['1', '1']
    for array_type in (ParameterType.PARAMETER_BOOL_ARRAY, ParameterType.PARAMETER_INTEGER_ARRAY,
                       ParameterType.PARAMETER_STRING_ARRAY):
        [result] = _set_service(ros, 'stream_infer', ParameterMsg(
            name='classes', value=ParameterValue(type=array_type)))  # ros2 param set ... "[]"
        assert result.successful, (array_type, result.reason)
        assert _get(ros, 'stream_infer', 'classes') == []
        assert classes(951 + array_type) == ['0', '1', '1'], array_type  # all classes again
        _set_service(ros, 'stream_infer', Parameter('classes', value=['cup']).to_parameter_msg())
    [wrong] = _set_service(ros, 'stream_infer', ParameterMsg(name='classes', value=ParameterValue(
        type=ParameterType.PARAMETER_BOOL_ARRAY, bool_array_value=[True])))
    assert not wrong.successful


def test_start_up_values_are_checked_like_runtime_sets(ros, model_path):
    with pytest.raises(ConfigurationError, match=r'confidence=1.5: expected a number in \[0, 1\]'):
        start_node(ros, model_path, name='si_bad', activate=False, confidence=1.5)
    with pytest.raises(ConfigurationError, match="class_id_format='uuid': expected one of"):
        start_node(ros, model_path, name='si_bad', activate=False, class_id_format='uuid')
    node = start_node(ros, model_path, name='si_ok', activate=False, classes=['0'])
    assert node.get_parameter('classes').value == ['0']


def test_incompatible_qos_hint_names_the_parameter_and_the_launch_argument(ros, model_path):
    rosout = ros.collect(Log, '/rosout', ROSOUT_QOS)
    start_node(ros, model_path, name='si_qos', namespace='/qos', image_reliability='reliable')
    pub = ros.probe.create_publisher(Image, '/qos/image', SENSOR_QOS)

    def hinted():
        return [m.msg for m in rosout if m.name == 'qos.si_qos' and 'incompatible' in m.msg]

    assert wait_for(lambda: hinted(), pump=lambda: pub.publish(image_msg()), period=0.1)
    [message] = hinted()[:1]
    assert 'parameter image_reliability to best_effort' in message
    assert '-p image_reliability:=best_effort' in message
    assert 'launch argument reliability:=best_effort of topic.launch.py' in message


def test_a_source_that_ends_is_reported_and_the_node_stays_active(ros, model_path, tmp_path):
    clip = write_video(tmp_path / 'short.avi', range(12), fps=50.0)
    rosout = ros.collect(Log, '/rosout', ROSOUT_QOS)
    events = ros.collect(String, '/end/si_end/stream_events', EVENTS_QOS)
    diags = ros.collect(DiagnosticArray, '/diagnostics')
    start_node(ros, model_path, name='si_end', namespace='/end', source=str(clip), loop=False,
               enforce_fps=False, diagnostics_period=0.2)
    assert wait_for(lambda: 'stopped: ended' in [e.data for e in events]), events
    assert wait_for(lambda: _diag_level(diags, 'si_end') == WARN), _diag_values(diags, 'si_end')
    values, status = _diag_values(diags, 'si_end')
    assert 'source ended' in status.message and 'stream stopped (ended)' in status.message
    assert values['stop_reason'] == 'ended'
    get = ros.probe.create_client(GetState, '/end/si_end/get_state')
    assert _state(ros, get) == 'active'  # documented: active, nothing to process
    assert any(m.level == Log.WARN and 'stopped (ended)' in m.msg for m in rosout)
    change = ros.probe.create_client(ChangeState, '/end/si_end/change_state')
    assert _transition(ros, change, Transition.TRANSITION_DEACTIVATE)
    assert _transition(ros, change, Transition.TRANSITION_ACTIVATE)  # plays it again
    assert wait_for(lambda: [e.data for e in events].count('stopped: ended') == 2), events


def _diag_level(diags, node_name):
    status = _diag_values(diags, node_name)[1]
    return None if status is None else status.level


def _seconds(stamp):
    return stamp.sec + stamp.nanosec * 1e-9


def test_use_sim_time_stamps_frames_the_node_opens_and_diagnostics_need_no_clock(
        ros, model_path, tmp_path):
    clip = write_video(tmp_path / 'loop.avi', range(30), fps=25.0)
    diags = ros.collect(DiagnosticArray, '/diagnostics')
    got = ros.collect(Detection2DArray, '/sim/detections')
    start_node(ros, model_path, name='si_sim', namespace='/sim', source=str(clip), loop=True,
               enforce_fps=True, diagnostics_period=0.2, use_sim_time=True)
    # No /clock yet: sim time is 0, so are the stamps; diagnostics flow on a steady timer.
    assert wait_for(lambda: len(got) >= 3)
    assert all(_seconds(m.header.stamp) == 0.0 for m in got[:3])
    assert wait_for(lambda: _diag_values(diags, 'si_sim')[0] is not None)
    clock = ros.probe.create_publisher(Clock, '/clock', 10)
    sim_now = [5000.0]

    def tick():
        sim_now[0] += 0.05
        whole = int(sim_now[0])
        clock.publish(Clock(clock=Time(sec=whole, nanosec=int((sim_now[0] - whole) * 1e9))))

    assert wait_for(lambda: got and _seconds(got[-1].header.stamp) > 5000.0, pump=tick,
                    period=0.05)
    stamp = _seconds(got[-1].header.stamp)
    assert 5000.0 < stamp <= sim_now[0] + 1e-6, (stamp, sim_now[0])  # sim time, not wall
    assert abs(stamp - time.time()) > 1e6


def test_core_logs_reach_rosout_with_the_node_name_and_severity(ros, model_path, tmp_path):
    rosout = ros.collect(Log, '/rosout', ROSOUT_QOS)
    node = start_node(ros, model_path, name='si_logs', namespace='/lg', activate=False,
                      source=str(tmp_path / 'missing.avi'))
    handler = RosLogHandler.install(node)
    try:
        node.trigger_configure()
        logging.getLogger('stream_infer.sources').warning('a core warning %d', 7)
        logging.getLogger('stream_infer.stream').debug('not shown at info level')
    finally:
        handler.remove()
    logging.getLogger('stream_infer.sources').warning('after removal')
    assert wait_for(lambda: any(m.msg == 'a core warning 7' for m in rosout))
    [line] = [m for m in rosout if m.msg == 'a core warning 7']
    assert line.name == 'lg.si_logs' and line.level == Log.WARN
    assert not any('not shown' in m.msg or 'after removal' in m.msg for m in rosout)
    assert any(m.name == 'lg.si_logs' and 'runs on' in m.msg and m.level == Log.INFO
               for m in rosout), "the model loader's INFO line"


def test_device_sources_open_as_cameras_and_other_special_files_are_refused(ros, model_path):
    rosout = ros.collect(Log, '/rosout', ROSOUT_QOS)
    # A special file fails at once; a camera that is not there waits for it by default
    # (wait_for_source, see test_ros_node_faults), so here it is asked to fail instead.
    for name, source, words, wait in [
            ('si_null', '/dev/null', 'is not a regular file', True),
            ('si_cam', '/dev/video97', 'cannot open camera /dev/video97', False)]:
        node = start_node(ros, model_path, name=name, namespace='/dev_src', activate=False,
                          source=source, wait_for_source=wait)
        node.trigger_configure()
        assert node.trigger_activate() != TransitionCallbackReturn.SUCCESS
        assert wait_for(lambda: any(m.name == f'dev_src.{name}' and words in m.msg
                                    and m.level == Log.ERROR for m in rosout)), words


def test_a_detector_given_to_the_node_is_used_and_never_closed(ros, model_path, tmp_path):
    import onnxruntime
    from rclpy.lifecycle import TransitionCallbackReturn
    from stream_infer.detection import Detector
    session = onnxruntime.InferenceSession(model_path, providers=['CPUExecutionProvider'])
    detector = Detector(session=session, layout='end2end')
    missing = str(tmp_path / 'never_loaded.onnx')
    node = ros.add(StreamInferNode(
        'si_given', namespace='/given', context=ros.context, detector=detector,
        parameter_overrides=[Parameter('model', value=missing)]))
    got = ros.collect(Detection2DArray, '/given/detections')
    pub = ros.probe.create_publisher(Image, '/given/image', SENSOR_QOS)
    for cycle in range(2):  # cleanup must leave the caller's detector open
        assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS
        assert node.trigger_activate() == TransitionCallbackReturn.SUCCESS
        sec = 900 + cycle
        assert publish_until(ros, pub, image_msg(stamp=(sec, 0)), got, with_stamp(sec))
        centers = [(d.bbox.center.position.x, d.bbox.center.position.y)
                   for d in by_stamp(got, sec).detections]
        assert centers == [pytest.approx(c) for c in EXPECTED_CENTERS]
        node.trigger_deactivate()
        node.trigger_cleanup()
    assert detector.session is session, 'the node closed a detector it was given'
    ros.destroy(node)
    assert len(detector(BGR).detections) == 3
