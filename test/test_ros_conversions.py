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

"""ROS edge conversions with real messages: every encoding, compressed, malformed, detections."""

import cv2
import numpy as np
import pytest
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Header
import supervision as sv

from stream_infer.ros import conversions
from stream_infer.ros.conversions import ImageConversionError

RNG = np.random.default_rng(7)
BGR = RNG.integers(0, 256, size=(37, 53, 3), dtype=np.uint8)  # odd sizes catch step bugs


def make_image(pixels: np.ndarray, encoding: str, pad: int = 0) -> Image:
    """Build an Image like a driver would, optionally with padded rows (step > width*ch)."""
    h, w = pixels.shape[:2]
    rows = pixels.reshape(h, -1)
    if pad:
        rows = np.hstack([rows, np.full((h, pad), 255, np.uint8)])
    msg = Image(height=h, width=w, encoding=encoding, step=rows.shape[1])
    msg.data = rows.tobytes()
    return msg


ENCODED = {
    'bgr8': (BGR, BGR),
    'rgb8': (BGR[:, :, ::-1].copy(), BGR),
    'bgra8': (cv2.cvtColor(BGR, cv2.COLOR_BGR2BGRA), BGR),
    'rgba8': (cv2.cvtColor(BGR, cv2.COLOR_BGR2RGBA), BGR),
    'mono8': (BGR[:, :, 1].copy(), cv2.merge([BGR[:, :, 1]] * 3)),
}


@pytest.mark.parametrize('encoding', sorted(ENCODED))
@pytest.mark.parametrize('pad', [0, 5])
def test_each_encoding_decodes_to_the_same_bgr(encoding, pad):
    pixels, expected = ENCODED[encoding]
    out = conversions.image_to_bgr(make_image(pixels, encoding, pad))
    assert out.dtype == np.uint8 and out.shape == expected.shape
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize('encoding,order', [('yuv422', 'uyvy'), ('yuv422_yuy2', 'yuyv')])
def test_packed_yuv_encodings(encoding, order):
    # Neutral chroma (U=V=128) and luma Y=200 is grey; video-range BT.601 maps Y to
    # (Y-16)*255/219 = 214. Luma sits in the odd bytes for UYVY and the even ones for YUYV.
    packed = np.full((4, 6, 2), 128, np.uint8)
    packed[:, :, 0 if order == 'yuyv' else 1] = 200
    out = conversions.image_to_bgr(make_image(packed, encoding))
    assert out.shape == (4, 6, 3)
    assert np.all(np.abs(out.astype(int) - 214) <= 1)


def test_bgr8_is_zero_copy():
    msg = make_image(BGR, 'bgr8')
    out = conversions.image_to_bgr(msg)
    assert not out.flags.owndata


@pytest.mark.parametrize('fmt,ext', [('png', '.png'), ('jpeg', '.jpg')])
def test_compressed_images(fmt, ext):
    ys, xs = np.mgrid[0:48, 0:64]  # smooth picture: JPEG keeps it close
    picture = np.dstack([xs * 4, ys * 5, (xs + ys) * 2]).astype(np.uint8)
    ok, buf = cv2.imencode(ext, picture)
    assert ok
    msg = CompressedImage(format=fmt)
    msg.data = buf.tobytes()
    out = conversions.compressed_to_bgr(msg)
    assert out.shape == picture.shape
    if fmt == 'png':
        np.testing.assert_array_equal(out, picture)
    else:  # lossy: still the same picture
        assert np.abs(out.astype(int) - picture.astype(int)).mean() < 4


@pytest.mark.parametrize('mutate,words', [
    (lambda m: setattr(m, 'encoding', '32FC1'), ['unsupported image encoding', 'bgr8']),
    (lambda m: setattr(m, 'step', 10), ['step 10', 'width*channels']),
    (lambda m: setattr(m, 'data', bytes(m.data)[:100]), ['truncated', 'expected']),
    (lambda m: setattr(m, 'height', 0), ['empty image']),
    (lambda m: setattr(m, 'width', 0), ['empty image']),
])
def test_malformed_images_have_clear_errors(mutate, words):
    msg = make_image(BGR, 'bgr8')
    mutate(msg)
    with pytest.raises(ImageConversionError) as info:
        conversions.image_to_bgr(msg)
    for word in words:
        assert word in str(info.value)


def test_bad_compressed_data():
    msg = CompressedImage(format='jpeg')
    msg.data = b'not a jpeg at all'
    with pytest.raises(ImageConversionError, match='cannot decode compressed image'):
        conversions.compressed_to_bgr(msg)


def test_cv_bridge_and_numpy_paths_agree():
    bridge = conversions.load_cv_bridge()
    if bridge is None:
        pytest.skip('cv_bridge is not installable in this environment (apt-only); the numpy '
                    'path is what runs here')
    for encoding, (pixels, _) in ENCODED.items():
        msg = make_image(pixels, encoding, pad=3)
        np.testing.assert_array_equal(conversions.image_to_bgr_cv_bridge(bridge, msg),
                                      conversions.image_to_bgr(msg))


def test_bgr_to_image_round_trip():
    header = Header(frame_id='cam')
    msg = conversions.bgr_to_image(BGR, header)
    assert (msg.encoding, msg.step, msg.header.frame_id) == ('bgr8', 53 * 3, 'cam')
    np.testing.assert_array_equal(conversions.image_to_bgr(msg), BGR)


def test_stamp_from_seconds():
    t = conversions.stamp_from_seconds(1700000000.25)
    assert (t.sec, t.nanosec) == (1700000000, 250000000)
    t = conversions.stamp_from_seconds(5.9999999999)
    assert (t.sec, t.nanosec) == (6, 0)


def _detections():
    det = sv.Detections(
        xyxy=np.array([[10, 20, 50, 80], [100, 100, 120, 140], [0, 0, 5, 5]], np.float32),
        confidence=np.array([0.9, 0.5, 0.31], np.float32),
        class_id=np.array([0, 41, 2]),
        tracker_id=np.array([7, -1, 12]))
    det.data['class_name'] = np.array(['person', 'cup', 'car'])
    return det


def test_detections_to_msg_boxes_header_and_ids():
    header = Header(frame_id='front_camera')
    header.stamp.sec, header.stamp.nanosec = 42, 5
    names = ['person', 'bicycle', 'car'] + [f'c{i}' for i in range(3, 80)]
    names[41] = 'cup'
    msg = conversions.detections_to_msg(_detections(), header, names)
    assert msg.header.frame_id == 'front_camera' and msg.header.stamp.sec == 42
    assert len(msg.detections) == 3
    d0, d1, d2 = msg.detections
    assert d0.header.frame_id == 'front_camera' and d0.header.stamp.nanosec == 5
    assert (d0.bbox.center.position.x, d0.bbox.center.position.y) == (30.0, 50.0)
    assert (d0.bbox.size_x, d0.bbox.size_y) == (40.0, 60.0)
    assert d0.bbox.center.theta == 0.0
    assert d0.results[0].hypothesis.class_id == '0'
    assert d0.results[0].hypothesis.score == pytest.approx(0.9)
    assert (d0.id, d1.id, d2.id) == ('7', '', '12')
    assert d1.results[0].hypothesis.class_id == '41'
    named = conversions.detections_to_msg(_detections(), header, names, 'name')
    assert [d.results[0].hypothesis.class_id for d in named.detections] == [
        'person', 'cup', 'car']


def test_untracked_and_empty_detections():
    det = _detections()
    det.tracker_id = None
    msg = conversions.detections_to_msg(det, Header(), ['a'] * 80)
    assert [d.id for d in msg.detections] == ['', '', '']
    assert conversions.detections_to_msg(sv.Detections.empty(), Header(), []).detections == []


def test_label_info():
    msg = conversions.label_info_msg(['person', 'bicycle'], 0.35)
    assert [(c.class_id, c.class_name) for c in msg.class_map] == [(0, 'person'), (1, 'bicycle')]
    assert msg.threshold == pytest.approx(0.35)
