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
3D detections from the node over real DDS: separate image, depth and camera_info publishers.

The scene of the frame stamped sec = s is a wall at 0.5 + s / 10 m, so each 3D box says which
depth image it was paired with; the model (a real ONNX graph) finds the same three boxes on
every frame (test_ros_node.ROWS), and their 2D boxes give the expected metric sizes.
"""

import time

from diagnostic_msgs.msg import DiagnosticArray
import numpy as np
import pytest
from ros_harness import SENSOR_QOS, wait_for
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header
from test_ros_depth_conversions import compressed_depth, depth_msg, MarkerArray
from test_ros_node import BGR, image_msg, model_path, start_node
from test_ros_node_cameras import statuses
from vision_msgs.msg import Detection2DArray, Detection3DArray

__all__ = ['model_path']  # fixtures

FX, CX = 100.0, 63.5  # 128 x 128 images


def distance(sec: int) -> float:
    return 0.5 + sec / 10.0


def camera_info(frame_id: str) -> CameraInfo:
    return CameraInfo(header=Header(frame_id=frame_id), width=128, height=128,
                      distortion_model='plumb_bob', d=[0.0] * 5,
                      k=[FX, 0.0, CX, 0.0, FX, CX, 0.0, 0.0, 1.0])


def wall(sec: int, encoding: str, frame_id: str, jitter_ns: int = 0):
    metres = np.full((128, 128), distance(sec))
    if encoding == '16UC1':
        msg = depth_msg(np.rint(metres * 1000).astype(np.uint16), '16UC1')
    elif encoding == '32FC1':
        msg = depth_msg(metres.astype(np.float32), '32FC1')
    else:  # compressedDepth 16UC1
        msg = compressed_depth('16UC1', np.rint(metres * 1000).astype(np.uint16))
    msg.header = Header(frame_id=frame_id)
    msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(sec * 10 ** 9 + jitter_ns, 10 ** 9)
    return msg


def frame_sec(header) -> int:
    """Return the colour frame's stamp (whole seconds) a depth stamp with jitter stands for."""
    return round(header.stamp.sec + header.stamp.nanosec * 1e-9)


class Camera:
    """The probe's publishers of one camera: image, depth, camera_info."""

    def __init__(self, ros, prefix: str, encoding: str = '16UC1') -> None:
        probe = ros.probe
        self.encoding = encoding
        depth_topic = f'{prefix}/depth/image' + (
            '/compressedDepth' if encoding == 'compressedDepth' else '')
        depth_type = Image if encoding != 'compressedDepth' else type(
            compressed_depth('16UC1', np.zeros((2, 2), np.uint16)))
        self.image = probe.create_publisher(Image, f'{prefix}/image', SENSOR_QOS)
        self.depth = probe.create_publisher(depth_type, depth_topic, SENSOR_QOS)
        self.info = probe.create_publisher(CameraInfo, f'{prefix}/camera_info', SENSOR_QOS)
        self.prefix = prefix

    def send(self, sec: int, *, depth: bool = True, jitter_ns: int = 0,
             depth_first: bool = True, gap_s: float = 0.0) -> None:
        self.info.publish(camera_info(f'{self.prefix.strip("/")}_depth'))
        colour = image_msg(stamp=(sec, 0), frame_id=f'{self.prefix.strip("/")}_color',
                           pixels=BGR)
        depth_image = wall(sec, self.encoding, f'{self.prefix.strip("/")}_depth', jitter_ns)
        if depth and depth_first:
            self.depth.publish(depth_image)
            time.sleep(gap_s)  # the node handles the depth image before the colour one
        self.image.publish(colour)
        if depth and not depth_first:
            self.depth.publish(depth_image)


def check_3d(msg, detections_2d, depth_frame: str):
    """Each 3D box: z of the wall of its stamp, x/y/size from the 2D box of the same frame."""
    sec = frame_sec(msg.header)
    assert msg.header.frame_id == depth_frame, 'the depth image header'
    z = distance(sec)
    same = [d for d in detections_2d if d.header.stamp.sec == sec]
    assert same, f'no 2D detections for stamp {sec}'
    boxes_2d = {round(d.bbox.center.position.x): d for d in same[0].detections}
    assert len(msg.detections) == len(boxes_2d) == 3
    for det in msg.detections:
        position, size = det.bbox.center.position, det.bbox.size
        assert position.z == pytest.approx(z, rel=0.01)
        u = position.x * FX / position.z + CX + 0.5
        box = boxes_2d[round(u)]
        assert position.y * FX / position.z + CX + 0.5 == pytest.approx(
            box.bbox.center.position.y, abs=0.5)
        assert size.x == pytest.approx(box.bbox.size_x * z / FX, rel=0.05)
        assert size.y == pytest.approx(box.bbox.size_y * z / FX, rel=0.05)
        assert det.id == box.id and det.results[0].hypothesis.class_id == \
            box.results[0].hypothesis.class_id


def test_3d_detections_paired_by_stamp_with_jitter_and_missing_depth(ros, model_path):
    got_3d = ros.collect(Detection3DArray, '/d3/detections_3d')
    got_2d = ros.collect(Detection2DArray, '/d3/detections')
    markers = ros.collect(MarkerArray, '/d3/markers') if MarkerArray is not None else None
    diags = ros.collect(DiagnosticArray, '/diagnostics')
    start_node(ros, model_path, name='si_depth', namespace='/d3', depth=True,
               depth_pairing_tolerance=0.01, diagnostics_period=0.2)
    camera = Camera(ros, '/d3')
    stamps = iter(range(1, 10_000))
    missing = set()

    def send():
        sec = next(stamps)
        has_depth = sec % 5 != 0
        if not has_depth:
            missing.add(sec)
        # after a frame without depth, the next depth image comes first and alone: it releases
        # the waiting frame (released together with the next colour image, that frame would go
        # into the single slot with it, and the newer wins)
        after_missing = sec - 1 in missing
        camera.send(sec, depth=has_depth, jitter_ns=(sec % 3 - 1) * 4_000_000,
                    depth_first=sec % 2 == 0 or after_missing, gap_s=0.03 * after_missing)

    assert wait_for(lambda: len(got_3d) >= 10 and any(
        m.header.stamp.sec in missing for m in got_2d), timeout=60, pump=send, period=0.05), \
        (len(got_3d), len(got_2d))
    for msg in list(got_3d):
        assert frame_sec(msg.header) not in missing, 'a frame without depth has no 3D boxes'
        assert msg.header.stamp.nanosec in (0, 4_000_000, 1_000_000_000 - 4_000_000), \
            'the stamp is the depth image header'
        check_3d(msg, got_2d, 'd3_depth')
    node = '/d3/si_depth'

    def unpaired_counted():
        found = statuses(diags, node).get(f'{node}: stream_infer', (0, {}))[1]
        return int(found.get('depth_unpaired', 0)) >= 1 and int(found['depth_paired']) >= 10

    assert wait_for(unpaired_counted, timeout=20), statuses(diags, node)
    if markers is not None:
        assert wait_for(lambda: len(markers) > 0)
        last = markers[-1]
        assert last.markers[0].action == 3  # DELETEALL
        texts = [m.text for m in last.markers if m.type == m.TEXT_VIEW_FACING]
        assert len(texts) == 3 and all(t.endswith(' m') for t in texts), texts


def test_two_cameras_each_its_own_depth_frame_and_3d_topic(ros, model_path):
    ns = '/d3m'
    cams = {'front': '32FC1', 'rear': '16UC1'}
    got_3d = {c: ros.collect(Detection3DArray, f'{ns}/{c}/detections_3d') for c in cams}
    got_2d = {c: ros.collect(Detection2DArray, f'{ns}/{c}/detections') for c in cams}
    start_node(ros, model_path, name='si_depth_multi', namespace=ns, cameras=list(cams),
               depth=True)
    publishers = {c: Camera(ros, f'{ns}/{c}', enc) for c, enc in cams.items()}
    stamps = iter(range(1, 10_000))

    def send():
        sec = next(stamps)
        publishers['front'].send(sec)
        publishers['rear'].send(sec + 40)  # rear's walls are 4 m farther

    assert wait_for(lambda: all(len(got_3d[c]) >= 5 for c in cams), timeout=60, pump=send,
                    period=0.05), {c: len(got_3d[c]) for c in cams}
    for c in cams:
        for msg in list(got_3d[c]):
            assert (msg.header.stamp.sec > 40) == (c == 'rear'), "its own camera's depth"
            check_3d(msg, got_2d[c], f'd3m/{c}_depth')


def test_compressed_depth_topic(ros, model_path):
    got_3d = ros.collect(Detection3DArray, '/d3c/detections_3d')
    got_2d = ros.collect(Detection2DArray, '/d3c/detections')
    start_node(ros, model_path, name='si_depth_png', namespace='/d3c', depth=True,
               depth_transport='compressedDepth')
    camera = Camera(ros, '/d3c', 'compressedDepth')
    stamps = iter(range(1, 10_000))
    assert wait_for(lambda: len(got_3d) >= 5, timeout=60,
                    pump=lambda: camera.send(next(stamps)), period=0.05), len(got_3d)
    for msg in list(got_3d):
        check_3d(msg, got_2d, 'd3c_depth')


def test_bad_depth_and_camera_info_are_counted_and_the_node_goes_on(ros, model_path):
    ns, name = '/d3f', 'si_depth_faults'
    node = f'{ns}/{name}'
    diags = ros.collect(DiagnosticArray, '/diagnostics')
    got_3d = ros.collect(Detection3DArray, f'{ns}/detections_3d')
    got_2d = ros.collect(Detection2DArray, f'{ns}/detections')
    start_node(ros, model_path, name=name, namespace=ns, depth=True, diagnostics_period=0.2)
    camera = Camera(ros, ns)
    zero_k = camera_info('d3f_depth')
    zero_k.k = [0.0] * 9  # an uncalibrated camera

    def values():
        return statuses(diags, node).get(f'{node}: stream_infer', (0, {}))[1]

    def before_calibration():  # camera_info refused; depth without K is not used
        camera.info.publish(zero_k)
        camera.depth.publish(wall(2, '16UC1', 'd3f_depth'))

    assert wait_for(lambda: int(values().get('depth_bad_inputs', 0)) >= 1 and int(
        values().get('depth_without_camera_info', 0)) >= 1, timeout=20,
        pump=before_calibration, period=0.1), values()
    sent = iter(range(10, 10_000))
    assert wait_for(lambda: len(got_3d) >= 3, timeout=60,
                    pump=lambda: camera.send(next(sent)), period=0.05), len(got_3d)
    for msg in list(got_3d):
        check_3d(msg, got_2d, 'd3f_depth')
    # With K known, a depth image in a colour encoding is refused and counted.
    bad_before = int(values()['depth_bad_inputs'])
    bad_depth = image_msg(stamp=(1, 0), frame_id='d3f_depth', pixels=BGR)
    assert wait_for(lambda: int(values()['depth_bad_inputs']) > bad_before, timeout=20,
                    pump=lambda: camera.depth.publish(bad_depth), period=0.1), values()
    shown = len(got_3d)
    assert wait_for(lambda: len(got_3d) > shown, timeout=30,
                    pump=lambda: camera.send(next(sent)), period=0.05), 'the node goes on'
