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
Nothing from outside ends the node: hostile images, edge-value parameters, lifecycle requests.

Everything arrives over real DDS from a probe node, as from a hostile publisher, a careless
operator or a lifecycle manager; after each fault the node must still answer and detect.
"""

import resource

import cv2
from diagnostic_msgs.msg import DiagnosticArray
from lifecycle_msgs.msg import Transition
from lifecycle_msgs.srv import ChangeState, GetState
import pytest
from rcl_interfaces.msg import Log, ParameterEvent
from ros_harness import RELIABLE_QOS, SENSOR_QOS, wait_for
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Header
from test_image_decoding import jpeg_declaring, png_bomb
from test_network_stream import camera, SECRET
from test_ros_node import (
    _diag_values, _get, _set, _state, BGR, by_stamp, image_msg, model_path, publish_until,
    start_node, with_stamp)
from vision_msgs.msg import Detection2DArray

from stream_infer.ros.image_input import plausible_lost_count

__all__ = ['camera', 'model_path']  # fixtures shared with other test modules

ROSOUT_QOS = RELIABLE_QOS


def bad_count(diags, name='stream_infer'):
    values = _diag_values(diags, name)[0] or {}
    return int(values.get('bad_images_skipped', -1))


def packed_yuv(encoding, width, height=4):
    msg = Image(height=height, width=width, encoding=encoding, step=width * 2)
    msg.header = Header(frame_id='yuv')
    msg.data = bytes(width * 2 * height)
    return msg


def compressed(data, sec, fmt='jpeg'):
    msg = CompressedImage(format=fmt)
    msg.header.stamp.sec, msg.header.frame_id = sec, 'cam'
    msg.data = data
    return msg


def test_odd_width_packed_yuv_and_oversized_raw_images_are_counted_not_fatal(ros, model_path):
    start_node(ros, model_path, diagnostics_period=0.1)
    got = ros.collect(Detection2DArray, 'detections')
    diags = ros.collect(DiagnosticArray, '/diagnostics')
    pub = ros.probe.create_publisher(Image, 'image', RELIABLE_QOS)
    bad = [packed_yuv(enc, width) for enc in ('yuv422', 'uyvy', 'yuv422_yuy2', 'yuyv')
           for width in (3, 641, 63)]
    big = image_msg(stamp=(900, 0))
    big.height, big.width = 10000, 5001  # declared beyond max_image_pixels (data is short too)
    bad.append(big)
    for count, msg in enumerate(bad, start=1):
        pub.publish(msg)  # one at a time: the subscription keeps only the newest image
        assert wait_for(lambda: bad_count(diags) == count), (count, _diag_values(diags, 'st'))
    values, _ = _diag_values(diags, 'stream_infer')
    assert 'max_image_pixels' in values['last_bad_image']
    assert ros.spin_error is None
    good = packed_yuv('uyvy', 128, 128)
    good.header.stamp.sec = 901
    assert publish_until(ros, pub, good, got, with_stamp(901)), 'no detections after the faults'


def test_decompression_bombs_and_damaged_compressed_images_are_refused(ros, model_path):
    start_node(ros, model_path, diagnostics_period=0.1, image_transport='compressed')
    got = ros.collect(Detection2DArray, 'detections')
    diags = ros.collect(DiagnosticArray, '/diagnostics')
    pub = ros.probe.create_publisher(CompressedImage, 'image/compressed', RELIABLE_QOS)
    png = bytearray(cv2.imencode('.png', BGR)[1].tobytes())
    png[29] ^= 0xff  # IHDR CRC
    bad = [jpeg_declaring(65500, 65500), png_bomb(20000, 20000), jpeg_declaring(20000, 20000),
           bytes(png), b'', b'\xff\xd8\xff\xe0 not really a jpeg']
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for count, data in enumerate(bad, start=1):
        pub.publish(compressed(data, 0))
        assert wait_for(lambda: bad_count(diags) == count), (count, _diag_values(diags, 'st'))
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before) / 1024
    assert grown_mib < 200, f'peak RSS grew {grown_mib:.0f} MiB on refused images'
    assert ros.spin_error is None
    jpeg = cv2.imencode('.jpg', BGR)[1].tobytes()
    assert publish_until(ros, pub, compressed(jpeg, 910), got, with_stamp(910))
    assert len(by_stamp(got, 910).detections) == 3


def test_max_image_pixels_is_a_live_parameter(ros, model_path):
    start_node(ros, model_path, diagnostics_period=0.1)
    got = ros.collect(Detection2DArray, 'detections')
    diags = ros.collect(DiagnosticArray, '/diagnostics')
    pub = ros.probe.create_publisher(Image, 'image', SENSOR_QOS)
    assert _set(ros, 'stream_infer', max_image_pixels=128 * 128 - 1)[0].successful
    pub.publish(image_msg(stamp=(920, 0)))  # 128x128
    assert wait_for(lambda: bad_count(diags) == 1)
    assert 'limit of 16383' in _diag_values(diags, 'stream_infer')[0]['last_bad_image']
    assert not _set(ros, 'stream_infer', max_image_pixels=0)[0].successful
    assert _set(ros, 'stream_infer', max_image_pixels=128 * 128)[0].successful
    assert publish_until(ros, pub, image_msg(stamp=(921, 0)), got, with_stamp(921))


@pytest.mark.parametrize('name', ['confidence', 'iou_threshold', 'track_activation_threshold',
                                  'minimum_matching_threshold'])
def test_values_within_rclpy_tolerance_of_a_bound_are_rejected(ros, model_path, name):
    """Refuse what rclpy lets through (up to 1e-6 past a range's upper end), by the option."""
    start_node(ros, model_path)
    got = ros.collect(Detection2DArray, 'detections')
    pub = ros.probe.create_publisher(Image, 'image', SENSOR_QOS)
    before = _get(ros, 'stream_infer', name)
    for value in (1.000001, 1.0000005):
        [result] = _set(ros, 'stream_infer', **{name: value})
        assert not result.successful, (name, value)
        assert f'{name}=1.0' in result.reason and '[0, 1]' in result.reason, result.reason
    [result] = _set(ros, 'stream_infer', **{name: -0.0000005})  # rclpy's own range check
    assert not result.successful and name in result.reason
    assert _get(ros, 'stream_infer', name) == before
    assert _set(ros, 'stream_infer', **{name: 1.0})[0].successful  # the bound itself is fine
    assert publish_until(ros, pub, image_msg(stamp=(930, 0)), got, with_stamp(930))
    assert ros.spin_error is None


def test_cross_parameter_rules_are_checked_when_set_in_parameter_words(ros, model_path):
    start_node(ros, model_path, activate=False)
    [result] = _set(ros, 'stream_infer', reconnect_delay=10.0)  # max stays 5.0
    assert not result.successful
    assert 'reconnect_max_delay (5) must be >= reconnect_delay (10)' in result.reason
    assert _get(ros, 'stream_infer', 'reconnect_delay') == pytest.approx(0.5)
    assert _set(ros, 'stream_infer', reconnect_delay=10.0, reconnect_max_delay=20.0)[0].successful


def _all_transition_ids():
    ids = {v for k, v in vars(Transition).items() if k.startswith('TRANSITION_')
           and isinstance(v, int)}
    return sorted(ids | {42, 99, 255})


def test_change_state_ids_not_valid_in_the_current_state_are_refused(ros, model_path):
    start_node(ros, model_path, name='si_ids', namespace='/ids', activate=False)
    change = ros.probe.create_client(ChangeState, '/ids/si_ids/change_state')
    get = ros.probe.create_client(GetState, '/ids/si_ids/get_state')
    valid = {'unconfigured': {Transition.TRANSITION_CONFIGURE,
                              Transition.TRANSITION_UNCONFIGURED_SHUTDOWN},
             'inactive': {Transition.TRANSITION_CLEANUP, Transition.TRANSITION_ACTIVATE,
                          Transition.TRANSITION_INACTIVE_SHUTDOWN},
             'active': {Transition.TRANSITION_DEACTIVATE,
                        Transition.TRANSITION_ACTIVE_SHUTDOWN}}
    for state, forward in [('unconfigured', Transition.TRANSITION_CONFIGURE),
                           ('inactive', Transition.TRANSITION_ACTIVATE), ('active', None)]:
        assert _state(ros, get) == state
        for transition_id in _all_transition_ids():
            if transition_id in valid[state]:
                continue
            response = ros.call(change, ChangeState.Request(
                transition=Transition(id=transition_id)))
            assert not response.success, (state, transition_id)
            assert _state(ros, get) == state, (state, transition_id)
        assert not ros.call(change, ChangeState.Request(
            transition=Transition(label='no_such_transition'))).success
        if forward is not None:
            assert ros.call(change, ChangeState.Request(
                transition=Transition(id=forward))).success
    assert ros.spin_error is None


def test_diagnostics_period_applies_at_once(ros, model_path):
    start_node(ros, model_path, name='si_diag', diagnostics_period=60.0)
    diags = ros.collect(DiagnosticArray, '/diagnostics')
    assert not wait_for(lambda: _diag_values(diags, 'si_diag')[0] is not None, timeout=1.5)
    assert _set(ros, 'si_diag', diagnostics_period=0.1)[0].successful
    assert wait_for(lambda: _diag_values(diags, 'si_diag')[0] is not None, timeout=15), \
        'diagnostics_period took effect only after re-activation'
    count = sum(1 for m in diags for s in m.status if 'si_diag' in s.name)
    assert wait_for(lambda: sum(1 for m in diags for s in m.status if 'si_diag' in s.name)
                    >= count + 5, timeout=15)


def _rosout_lines(logs, node_name, words):
    return [m.msg for m in logs if m.name.endswith(node_name) and words in m.msg]


def test_a_layout_or_labels_that_do_not_fit_fail_configure_with_one_line(ros, tmp_path):
    logs = ros.collect(Log, '/rosout', ROSOUT_QOS)
    node = start_node(ros, '', name='si_fit', activate=False, namespace='/fit')
    change = ros.probe.create_client(ChangeState, '/fit/si_fit/change_state')
    configure = ChangeState.Request(transition=Transition(id=Transition.TRANSITION_CONFIGURE))
    (tmp_path / 'passwd').write_text(''.join(f'u{i}:x:{i}:{i}::/:/bin/sh\n' for i in range(24)))
    for values, words in [({'model': '', 'layout': 'yolov8'}, "layout 'yolov8' does not fit"),
                          ({'layout': 'auto', 'labels': str(tmp_path / 'passwd')},
                           'labels: 24 class names')]:
        assert _set(ros, 'fit/si_fit', **values)[0].successful
        assert not ros.call(change, configure).success
        assert wait_for(lambda: _rosout_lines(logs, 'si_fit', words)), [m.msg for m in logs]
        line = _rosout_lines(logs, 'si_fit', words)[0]
        assert line.startswith('configure failed: ') and '\n' not in line, line
    assert _set(ros, 'fit/si_fit', labels='')[0].successful
    assert ros.call(change, configure).success
    assert node.get_parameter('layout').value == 'auto'


def test_a_missing_file_still_fails_activation_at_once(ros, model_path, tmp_path):
    start_node(ros, model_path, name='si_file', namespace='/file', activate=False,
               source=str(tmp_path / 'missing.mp4'))
    change = ros.probe.create_client(ChangeState, '/file/si_file/change_state')
    for transition_id, ok in [(Transition.TRANSITION_CONFIGURE, True),
                              (Transition.TRANSITION_ACTIVATE, False)]:
        assert ros.call(change, ChangeState.Request(
            transition=Transition(id=transition_id))).success is ok


def test_lost_message_counts_the_middleware_wraps_are_not_counted():
    assert plausible_lost_count(5) == 5
    assert plausible_lost_count(18446744071562067979) == 0  # seen in diagnostics once
    assert plausible_lost_count(2 ** 31) == 0 and plausible_lost_count(0) == 0
    assert plausible_lost_count(2 ** 31 - 1) == 0  # Fast DDS: a small image after lost large ones
    assert plausible_lost_count(2 ** 31 - 2) == 2 ** 31 - 2


def test_a_network_source_down_at_activation_is_retried_and_its_secret_never_a_parameter(
        ros, model_path, camera, tmp_path):
    logs = ros.collect(Log, '/rosout', ROSOUT_QOS)
    events = ros.collect(ParameterEvent, '/parameter_events', RELIABLE_QOS)
    cam = camera()  # its server is not running yet
    secret_file = tmp_path / 'camera.credentials'
    secret_file.write_text(f'viewer:{SECRET}\n')
    secret_file.chmod(0o600)
    node = start_node(ros, model_path, name='si_net', namespace='/net', diagnostics_period=0.1,
                      source=f'http://127.0.0.1:{cam.port}/stream.mjpg',
                      source_credentials_file=str(secret_file), reconnect_delay=0.1,
                      reconnect_max_delay=0.5)
    assert node._state == 'active'  # activation did not wait for (or fail on) the server
    diags = ros.collect(DiagnosticArray, '/diagnostics')
    assert wait_for(lambda: (_diag_values(diags, 'si_net')[0] or {}).get('source_state')
                    == 'reconnecting'), _diag_values(diags, 'si_net')
    got = ros.collect(Detection2DArray, '/net/detections')
    cam.start()
    assert wait_for(lambda: len(got) >= 3), _diag_values(diags, 'si_net')
    assert wait_for(lambda: _diag_values(diags, 'si_net')[0]['source_state'] == 'connected')
    # The secret is in no parameter, event, log or diagnostic.
    assert SECRET not in _get(ros, 'net/si_net', 'source')
    assert not any(SECRET in str(e) for e in events) and events
    assert not any(SECRET in m.msg for m in logs) and logs
    assert not any(SECRET in str(m) for m in diags)
    assert not _rosout_lines(logs, 'si_net', 'parameter source carries credentials')


def test_a_source_parameter_with_credentials_is_warned_about_once(ros, model_path, camera):
    logs = ros.collect(Log, '/rosout', ROSOUT_QOS)
    start_node(ros, model_path, name='si_warn', namespace='/warn', activate=False)
    for password in ('one', 'two'):
        url = f'rtsp://viewer:{password}@127.0.0.1:1/stream'
        assert _set(ros, 'warn/si_warn', source=url)[0].successful
    assert wait_for(lambda: _rosout_lines(logs, 'si_warn', 'carries credentials'))
    assert not wait_for(lambda: len(_rosout_lines(logs, 'si_warn', 'carries credentials')) > 1,
                        timeout=1.0)
    line = _rosout_lines(logs, 'si_warn', 'carries credentials')[0]
    assert 'source_credentials_file' in line and 'two' not in line and 'one' not in line
