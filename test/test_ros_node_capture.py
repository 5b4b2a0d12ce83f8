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
Hard-example capture in the node over real DDS: capture_* parameters, ~/capture, diagnostics.

The model always outputs three known boxes (test_ros_node's constant graph), so the dataset a
capture writes can be checked box by box against the detections the node published.
"""

from pathlib import Path

from diagnostic_msgs.msg import DiagnosticArray
import numpy as np
import pytest
from rclpy.parameter import Parameter
from ros_harness import SENSOR_QOS, wait_for
from sensor_msgs.msg import Image
from std_srvs.srv import Trigger
import supervision as sv
from test_ros_node import (
    _diag_values, _set, by_stamp, image_msg, model_path, NAMES, publish_until, start_node,
    with_stamp)
from vision_msgs.msg import Detection2DArray

from stream_infer.ros.node import StreamInferNode

__all__ = ['model_path']  # a fixture shared with test_ros_node


def trigger(ros, node_name):
    client = ros.probe.create_client(Trigger, f'/{node_name}/capture')
    return ros.call(client, Trigger.Request())


def test_capture_service_saves_the_current_frame_with_the_published_boxes(
        ros, model_path, tmp_path):
    dataset = tmp_path / 'hard'
    start_node(ros, model_path, name='si_cap', capture_directory=str(dataset),
               capture_rules=['new_track'], diagnostics_period=0.2)
    got = ros.collect(Detection2DArray, 'detections')
    diags = ros.collect(DiagnosticArray, '/diagnostics')
    pub = ros.probe.create_publisher(Image, 'image', SENSOR_QOS)
    assert publish_until(ros, pub, image_msg(stamp=(900, 0)), got, with_stamp(900))
    # new_track fired on the first frames: the rules capture on their own
    assert wait_for(lambda: int((_diag_values(diags, 'si_cap')[0] or {}).get(
        'capture.saved', 0)) >= 1), _diag_values(diags, 'si_cap')[0]
    answer = trigger(ros, 'si_cap')  # the frame delivered last: stamp 900, nothing after it
    assert answer.success, answer.message
    image = Path(answer.message)
    assert image.is_file() and image.is_relative_to(dataset)
    batch = image.parent.parent
    loaded = sv.DetectionDataset.from_yolo(str(batch / 'images'), str(batch / 'labels'),
                                           str(batch / 'data.yaml'))
    assert loaded.classes == NAMES
    saved = next(d for path, _, d in loaded if Path(path).name == image.name)
    published = by_stamp(got, 900)
    expected = np.array([[d.bbox.center.position.x - d.bbox.size_x / 2,
                          d.bbox.center.position.y - d.bbox.size_y / 2,
                          d.bbox.center.position.x + d.bbox.size_x / 2,
                          d.bbox.center.position.y + d.bbox.size_y / 2]
                         for d in published.detections])
    np.testing.assert_allclose(np.sort(saved.xyxy, axis=0), np.sort(expected, axis=0), atol=0.5)
    assert sorted(saved.class_id.tolist()) == sorted(
        int(d.results[0].hypothesis.class_id) for d in published.detections)
    values, status = _diag_values(diags, 'si_cap')
    assert wait_for(lambda: int(_diag_values(diags, 'si_cap')[0]['capture.manual_requests'])
                    == 1)
    assert values['capture.state'] == 'capturing' and 'capture.fired.new_track' in values


def test_capture_parameters_are_checked_applied_live_and_off_by_default(
        ros, model_path, tmp_path):
    start_node(ros, model_path, name='si_cap2')
    got = ros.collect(Detection2DArray, 'detections')
    pub = ros.probe.create_publisher(Image, 'image', SENSOR_QOS)
    assert publish_until(ros, pub, image_msg(stamp=(910, 0)), got, with_stamp(910))
    answer = trigger(ros, 'si_cap2')
    assert not answer.success and 'capture_directory' in answer.message
    for bad, words in [({'capture_rules': ['sometimes']}, 'sometimes'),
                       ({'capture_jpeg_quality': 0}, 'capture_jpeg_quality'),  # rclpy's range
                       ({'capture_per_minute': -1}, 'capture_per_minute=-1')]:
        [result] = _set(ros, 'si_cap2', **bad)
        assert not result.successful and words in result.reason, (bad, result.reason)
    # live: a directory set while active starts capturing at once; no rules = ~/capture only
    [result] = _set(ros, 'si_cap2', capture_directory=str(tmp_path / 'live'), capture_rules=[])
    assert result.successful, result.reason
    answer = trigger(ros, 'si_cap2')
    assert answer.success and answer.message.startswith(str(tmp_path / 'live')), answer.message
    [result] = _set(ros, 'si_cap2', capture_directory=str(tmp_path / 'other'))
    assert result.successful
    answer = trigger(ros, 'si_cap2')
    assert answer.success and answer.message.startswith(str(tmp_path / 'other')), answer.message
    assert len(list((tmp_path / 'live').rglob('*.jpg'))) == 1


def test_a_capture_that_cannot_write_warns_in_diagnostics_and_the_stream_goes_on(
        ros, model_path, tmp_path):
    blocker = tmp_path / 'a_file'
    blocker.write_text('not a directory')
    start_node(ros, model_path, name='si_cap3', capture_directory=str(blocker / 'dataset'),
               capture_rules=['random:probability=1'], capture_min_interval_s=0.0,
               diagnostics_period=0.2)
    got = ros.collect(Detection2DArray, 'detections')
    diags = ros.collect(DiagnosticArray, '/diagnostics')
    pub = ros.probe.create_publisher(Image, 'image', SENSOR_QOS)
    for sec in (920, 921, 922):
        assert publish_until(ros, pub, image_msg(stamp=(sec, 0)), got, with_stamp(sec))
    assert wait_for(lambda: (_diag_values(diags, 'si_cap3')[0] or {}).get('capture.state')
                    == 'failed'), _diag_values(diags, 'si_cap3')[0]
    values, status = _diag_values(diags, 'si_cap3')
    assert status.level == status.WARN and 'capture failed' in status.message
    answer = trigger(ros, 'si_cap3')
    assert not answer.success and 'capture stopped' in answer.message
    assert publish_until(ros, pub, image_msg(stamp=(923, 0)), got, with_stamp(923))


def test_capture_rules_accept_an_empty_array_of_any_type(ros, model_path, tmp_path):
    node = start_node(ros, model_path, name='si_cap4', activate=False)
    for empty in (Parameter('capture_rules', Parameter.Type.BOOL_ARRAY, []),
                  Parameter('capture_rules', Parameter.Type.INTEGER_ARRAY, [])):
        assert node.set_parameters([empty])[0].successful
        assert node.get_parameter('capture_rules').value == []
    with pytest.raises(Exception):
        StreamInferNode('si_cap5', context=ros.context, parameter_overrides=[
            Parameter('capture_rules', value=['never_heard_of'])])
