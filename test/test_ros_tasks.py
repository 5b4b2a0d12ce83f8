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
Segmentation and oriented-box models in the node, over real DDS.

`masks` (mono16, pixel = index + 1 of the detection in the same stamp's Detection2DArray) is
published only while subscribed, and the masks are only computed while something consumes them
(the detector the node was given tells); oriented boxes arrive with their own centre, sides
and center.theta. The models are small ONNX graphs with known outputs (onnx_task_graphs.py).
"""

import math

import numpy as np
from onnx_task_graphs import anchor_free_rows, constant_outputs_model
import pytest
from rclpy.parameter import Parameter
from ros_harness import RELIABLE_QOS, SENSOR_QOS, wait_for
from sensor_msgs.msg import Image
from std_msgs.msg import Header
from vision_msgs.msg import Detection2DArray

from stream_infer.detection import Detector
from stream_infer.detection.masks import label_image
from stream_infer.ros.node import StreamInferNode

FRAME = np.dstack([np.full((128, 128), v, np.uint8) for v in (30, 90, 200)])  # 2x the input
ANCHORS = 84  # a 64x64 input's grid cells


def seg_model_file(path) -> str:
    """Three boxes in the 64x64 input, each taking one of three prototypes (halves, all)."""
    boxes = np.array([[20, 20, 24, 16], [40, 40, 30, 30], [32, 12, 40, 12]], np.float32)
    protos = np.zeros((1, 3, 16, 16), np.float32)
    protos[0, 0], protos[0, 1, :, :9], protos[0, 2, :5] = 1.0, 1.0, 1.0
    protos[0, 1, :, 9:], protos[0, 2, 5:] = -1.0, -1.0
    output0 = anchor_free_rows(boxes, [0, 1, 0], [0.9, 0.8, 0.7], 2, np.eye(3), ANCHORS)
    return str(constant_outputs_model(path, {'output0': output0, 'output1': protos},
                                      metadata={'task': 'segment'}))


def start(ros, name, detector):
    node = ros.add(StreamInferNode(name, namespace=f'/{name}', context=ros.context,
                                   detector=detector,
                                   parameter_overrides=[Parameter('model', value='given')]))
    node.trigger_configure()
    node.trigger_activate()
    return node


def image(sec: int) -> Image:
    msg = Image(height=128, width=128, encoding='bgr8', step=128 * 3, data=FRAME.tobytes())
    msg.header = Header(frame_id='cam')
    msg.header.stamp.sec = sec
    return msg


def pump_until(ros, pub, got, sec, timeout=20.0) -> bool:
    return wait_for(lambda: any(m.header.stamp.sec == sec for m in got), timeout=timeout,
                    pump=lambda: pub.publish(image(sec)), period=0.1)


def test_masks_topic_numbers_the_detections_and_masks_are_made_only_while_used(ros, tmp_path):
    detector = Detector(seg_model_file(tmp_path / 'seg.onnx'))
    expected = label_image(detector(FRAME).detections.mask)  # the core's, proven exact apart
    assert sorted(np.unique(expected).tolist()) == [0, 1, 2, 3]
    start(ros, 'seg', detector)
    detections = ros.collect(Detection2DArray, '/seg/detections')
    pub = ros.probe.create_publisher(Image, '/seg/image', SENSOR_QOS)
    assert pump_until(ros, pub, detections, 10)
    assert wait_for(lambda: detector.compute_masks is False), 'masks made with no consumer'
    masks = ros.collect(Image, '/seg/masks', RELIABLE_QOS)
    assert wait_for(lambda: detector.compute_masks is True, pump=lambda: pub.publish(image(11)),
                    period=0.1), 'a masks subscriber did not turn masks on'
    assert pump_until(ros, pub, masks, 12)
    got = next(m for m in masks if m.header.stamp.sec == 12)
    assert (got.encoding, got.height, got.width, got.step) == ('mono16', 128, 128, 256)
    assert got.header.frame_id == 'cam'
    labels = np.frombuffer(bytes(got.data), '<u2').reshape(128, 128)
    assert np.array_equal(labels, expected)
    boxes = next(m for m in detections if m.header.stamp.sec == 12).detections
    for index, det in enumerate(boxes):  # value index + 1 lies inside detection index's box
        ys, xs = np.nonzero(labels == index + 1)
        cx, cy = det.bbox.center.position.x, det.bbox.center.position.y
        assert len(xs) and xs.min() >= cx - det.bbox.size_x / 2 - 1e-6
        assert xs.max() < cx + det.bbox.size_x / 2 and ys.max() < cy + det.bbox.size_y / 2
    ros.probe.destroy_subscription(next(sub for sub in ros.probe.subscriptions
                                        if sub.topic_name == '/seg/masks'))
    assert wait_for(lambda: detector.compute_masks is False,
                    pump=lambda: pub.publish(image(13)), period=0.1)


def test_oriented_boxes_carry_theta_and_their_own_sides(ros, tmp_path):
    angle = math.pi / 6
    output0 = anchor_free_rows(np.array([[32, 30, 24, 8]]), [1], [0.9], 2, [[angle]], ANCHORS)
    path = constant_outputs_model(tmp_path / 'obb.onnx', {'output0': output0},
                                  metadata={'task': 'obb'})
    start(ros, 'obb', Detector(path))
    got = ros.collect(Detection2DArray, '/obb/detections')
    pub = ros.probe.create_publisher(Image, '/obb/image', SENSOR_QOS)
    assert pump_until(ros, pub, got, 20)
    (det,) = next(m for m in got if m.header.stamp.sec == 20).detections
    assert (det.bbox.center.position.x, det.bbox.center.position.y) == pytest.approx((64, 60))
    assert (det.bbox.size_x, det.bbox.size_y) == pytest.approx((48, 16), abs=1e-4)
    assert det.bbox.center.theta == pytest.approx(angle, abs=1e-5)
    assert det.results[0].hypothesis.class_id == '1'
