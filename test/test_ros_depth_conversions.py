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

"""Depth messages in and 3D messages out (ros/depth_conversions.py), and stamp pairing."""

import struct

import cv2
import numpy as np
import pytest
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from std_msgs.msg import Header
import supervision as sv

from stream_infer.depth import CENTRE_KEY, SIZE_KEY
from stream_infer.ros.conversions import ImageConversionError
from stream_infer.ros.depth_conversions import (
    compressed_depth_to_array, depth_image_to_array, detections_3d_msg,
    intrinsics_from_camera_info, MarkerArray, markers_msg)
from stream_infer.ros.depth_pairing import DEPTH_ALIVE_S, StampPairer

MAX = 10_000_000


def depth_msg(array, encoding, bigendian=False, pad=0):
    data = array.astype(array.dtype.newbyteorder('>' if bigendian else '<'))
    rows = data.view(np.uint8).reshape(array.shape[0], -1)
    rows = np.hstack([rows, np.zeros((rows.shape[0], pad), np.uint8)])
    return Image(height=array.shape[0], width=array.shape[1], encoding=encoding,
                 is_bigendian=bigendian, step=rows.shape[1], data=rows.tobytes())


@pytest.mark.parametrize('bigendian', [False, True])
def test_raw_depth_both_encodings_padded_rows_and_byte_order(bigendian):
    mm = (np.arange(12, dtype=np.uint16).reshape(3, 4) + 1000)
    got = depth_image_to_array(depth_msg(mm, '16UC1', bigendian, pad=6), MAX)
    assert got.dtype == np.uint16 and (got == mm).all()
    metres = mm.astype(np.float32) / 1000
    metres[0, 0] = np.nan
    got = depth_image_to_array(depth_msg(metres, '32FC1', bigendian, pad=4), MAX)
    assert got.dtype == np.float32 and np.isnan(got[0, 0]) and (got[1:] == metres[1:]).all()


def test_bad_raw_depth_is_refused_saying_what_is_accepted():
    with pytest.raises(ImageConversionError, match="'bgr8'; accepted: 16UC1, mono16, 32FC1"):
        depth_image_to_array(Image(height=1, width=1, encoding='bgr8', step=3,
                                   data=b'abc'), MAX)
    short = depth_msg(np.zeros((4, 4), np.uint16), '16UC1')
    short.data = bytes(short.data)[:10]
    with pytest.raises(ImageConversionError, match='truncated depth image'):
        depth_image_to_array(short, MAX)
    with pytest.raises(ImageConversionError, match='max_image_pixels'):
        depth_image_to_array(depth_msg(np.zeros((40, 40), np.uint16), '16UC1'), 100)


def compressed_depth(encoding, pixels, quant=(0.0, 0.0)):
    header = struct.pack('<iff', 0, *quant)
    png = cv2.imencode('.png', pixels)[1].tobytes()
    return CompressedImage(format=f'{encoding}; compressedDepth png', data=header + png)


def test_compressed_depth_16uc1_and_quantised_32fc1():
    mm = np.array([[0, 1500], [2000, 65535]], np.uint16)
    assert (compressed_depth_to_array(compressed_depth('16UC1', mm), MAX) == mm).all()
    metres = np.array([[2.0, 4.0], [0.0, 8.0]])  # 0: no data
    a, b = 10000.0, 0.0
    quantised = np.where(metres > 0, a / np.where(metres > 0, metres, 1) + b, 0)
    got = compressed_depth_to_array(
        compressed_depth('32FC1', quantised.astype(np.uint16), (a, b)), MAX)
    assert got[0].tolist() == [2.0, 4.0] and np.isnan(got[1, 0]) and got[1, 1] == 8.0
    with pytest.raises(ImageConversionError, match='accepted: "16UC1; compressedDepth png"'):
        compressed_depth_to_array(CompressedImage(format='jpeg', data=b'x' * 20), MAX)
    with pytest.raises(ImageConversionError, match='12-byte header followed by a PNG'):
        compressed_depth_to_array(CompressedImage(format='16UC1; compressedDepth png',
                                                  data=b'\0' * 12 + b'garbage'), MAX)
    with pytest.raises(ImageConversionError, match='max_image_pixels'):
        compressed_depth_to_array(compressed_depth('16UC1', np.zeros((40, 40), np.uint16)),
                                  100)


def test_camera_info_k_and_distortion():
    info = CameraInfo(width=640, height=480, distortion_model='plumb_bob',
                      k=[500.0, 0, 320, 0, 510, 240, 0, 0, 1], d=[0.0] * 5)
    k, distorted = intrinsics_from_camera_info(info)
    assert (k.fx, k.fy, k.cx, k.cy, k.width) == (500, 510, 320, 240, 640) and not distorted
    info.d = [0.1, 0, 0, 0, 0]
    assert intrinsics_from_camera_info(info)[1]
    with pytest.raises(ImageConversionError, match='fx > 0'):
        intrinsics_from_camera_info(CameraInfo())  # an uncalibrated camera: K all zero


def detections_with_3d():
    detections = sv.Detections(xyxy=np.array([[0, 0, 10, 10], [5, 5, 20, 30.]]),
                               confidence=np.array([0.9, 0.6]), class_id=np.array([0, 1]),
                               tracker_id=np.array([7, -1]))
    detections.data[CENTRE_KEY] = np.array([[0.1, -0.2, 2.0], [np.nan] * 3])
    detections.data[SIZE_KEY] = np.array([[0.3, 0.5, 0.1], [np.nan] * 3])
    return detections


def test_detection3d_array_is_metric_with_track_ids_and_only_known_boxes():
    header = Header(frame_id='depth_optical')
    header.stamp.sec = 42
    msg = detections_3d_msg(detections_with_3d(), header, ['person', 'cup'], 'name')
    assert msg.header.frame_id == 'depth_optical' and len(msg.detections) == 1
    det = msg.detections[0]
    assert det.id == '7' and det.header.stamp.sec == 42
    assert (det.bbox.center.position.x, det.bbox.center.position.y,
            det.bbox.center.position.z) == (0.1, -0.2, 2.0)
    assert (det.bbox.size.x, det.bbox.size.y, det.bbox.size.z) == (0.3, 0.5, 0.1)
    assert det.results[0].hypothesis.class_id == 'person'
    assert det.results[0].hypothesis.score == pytest.approx(0.9)
    assert len(detections_3d_msg(sv.Detections.empty(), header, [], 'index').detections) == 0


@pytest.mark.skipif(MarkerArray is None, reason='visualization_msgs is not installed '
                    '(pip install ros-jazzy-visualization-msgs)')
def test_markers_delete_the_old_then_draw_a_box_and_a_label():
    msg = markers_msg(detections_with_3d(), Header(frame_id='depth_optical'), ['person'])
    actions = [(m.action, m.type) for m in msg.markers]
    assert actions[0][0] == 3  # DELETEALL: boxes of objects gone disappear
    assert len(msg.markers) == 3  # the known detection's box and label only
    box, label = msg.markers[1:]
    assert box.type == box.CUBE and box.scale.x == 0.3 and box.pose.position.z == 2.0
    assert label.type == label.TEXT_VIEW_FACING and label.text == 'person #7 2.01 m'
    assert all(m.header.frame_id == 'depth_optical' for m in msg.markers)


class FakeClock:

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_pairing_with_jitter_missing_and_late_depth():
    out = []
    clock = FakeClock()
    pairer = StampPairer(lambda item, depth: out.append((item, depth)), 0.01, clock)
    rng = np.random.default_rng(1)
    expected = {}
    for i in range(100):
        stamp = i / 30.0
        clock.now = stamp
        jitter = rng.uniform(-0.008, 0.008)
        has_depth = i % 7 != 3
        depth_first = i % 2 == 0
        if has_depth and depth_first:
            pairer.add_depth(stamp + jitter, f'd{i}')
        pairer.add_image(stamp, f'c{i}')
        if has_depth and not depth_first:
            pairer.add_depth(stamp + jitter, f'd{i}')
        expected[f'c{i}'] = f'd{i}' if has_depth else None
    pairer.add_depth(100.0, 'last')  # lets the last waiting image go
    assert [item for item, _ in out] == [f'c{i}' for i in range(100)], 'every image, in order'
    assert dict(out) == expected
    assert pairer.unpaired == sum(1 for v in expected.values() if v is None)
    # Depth stops: images pass on 2D at once (nothing waits for a stream that is gone).
    clock.now += DEPTH_ALIVE_S + 0.1
    pairer.add_image(200.0, 'alone')
    assert out[-1] == ('alone', None)
    # Tolerance 0: only equal stamps pair.
    exact = []
    strict = StampPairer(lambda item, depth: exact.append((item, depth)), 0.0, clock)
    strict.add_depth(5.0, 'd')
    strict.add_image(5.001, 'c1')
    strict.add_depth(5.002, 'd2')
    strict.add_image(5.002, 'c2')
    assert exact == [('c1', None), ('c2', 'd2')]
