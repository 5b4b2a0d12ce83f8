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
Message conversions at the ROS edge: images in and out, detections and labels out.

Image decoding has two paths that must give identical arrays: cv_bridge when it imports (apt
installs) and a numpy path that needs nothing else (our venv, or apt installs where cv_bridge
was compiled against numpy 1 and breaks under numpy 2).
"""

from typing import Optional, Sequence

import cv2
import numpy as np
from rclpy.time import Time
from sensor_msgs.msg import CompressedImage, Image
import supervision as sv
from vision_msgs.msg import (
    Detection2D, Detection2DArray, LabelInfo, ObjectHypothesisWithPose, VisionClass)

from stream_infer.columns import columns
from stream_infer.detection.masks import label_image
from stream_infer.detection.rotated import corner_geometry
from stream_infer.detection.task_outputs import CORNERS_KEY
from stream_infer.errors import StreamInferError
from stream_infer.sources.image_decoding import (
    check_pixels, decode_image, DEFAULT_MAX_PIXELS, ImageDecodeError)

# encoding -> (channels, cv2 conversion to BGR or None when already BGR)
_ENCODINGS = {
    'bgr8': (3, None),
    'rgb8': (3, cv2.COLOR_RGB2BGR),
    'mono8': (1, cv2.COLOR_GRAY2BGR),
    '8UC1': (1, cv2.COLOR_GRAY2BGR),
    '8UC3': (3, None),
    'bgra8': (4, cv2.COLOR_BGRA2BGR),
    'rgba8': (4, cv2.COLOR_RGBA2BGR),
    'yuv422': (2, cv2.COLOR_YUV2BGR_UYVY),
    'uyvy': (2, cv2.COLOR_YUV2BGR_UYVY),
    'yuv422_yuy2': (2, cv2.COLOR_YUV2BGR_YUY2),
    'yuyv': (2, cv2.COLOR_YUV2BGR_YUY2),
}
SUPPORTED_ENCODINGS = tuple(_ENCODINGS)


PACKED_YUV = frozenset(('yuv422', 'uyvy', 'yuv422_yuy2', 'yuyv'))  # 2 pixels share chroma


class ImageConversionError(StreamInferError, ValueError):
    """An image message that cannot be turned into a frame (counted and skipped by the node)."""


def check_image_msg(msg: Image, max_pixels: int = DEFAULT_MAX_PIXELS) -> None:
    """
    Raise ImageConversionError naming what is wrong with a sensor_msgs/Image, or return.

    Both conversion paths (numpy, cv_bridge) run it first, so every malformed message gets
    the same clear reason and nothing reaches OpenCV that would make it raise.
    """
    enc = _ENCODINGS.get(msg.encoding)
    if enc is None:
        raise ImageConversionError(
            f'unsupported image encoding {msg.encoding!r}; accepted: {", ".join(_ENCODINGS)}')
    channels = enc[0]
    h, w, step = int(msg.height), int(msg.width), int(msg.step)
    if h <= 0 or w <= 0:
        raise ImageConversionError(f'empty image {w}x{h}: width and height must be > 0')
    try:
        check_pixels(w, h, max_pixels, 'image')
    except ImageDecodeError as exc:
        raise ImageConversionError(str(exc)) from None
    if msg.encoding in PACKED_YUV and w % 2:
        raise ImageConversionError(
            f'{msg.encoding} is packed 4:2:2 (two pixels share one chroma pair): the width '
            f'must be even, got {w}')
    row = w * channels
    if step < row:
        raise ImageConversionError(
            f'step {step} is smaller than width*channels = {w}*{channels} = {row} '
            f'for encoding {msg.encoding!r}')
    size = len(msg.data)
    if size < step * h:
        raise ImageConversionError(
            f'truncated image data: {size} bytes, expected step*height = {step}*{h} = '
            f'{step * h}')


def image_to_bgr(msg: Image, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Decode a sensor_msgs/Image into a BGR uint8 array with numpy only (zero-copy for bgr8)."""
    check_image_msg(msg, max_pixels)
    channels, code = _ENCODINGS[msg.encoding]
    h, w, step = int(msg.height), int(msg.width), int(msg.step)
    data = np.frombuffer(msg.data, dtype=np.uint8)
    pixels = data[:step * h].reshape(h, step)[:, :w * channels].reshape(h, w, channels)
    if code is None:
        return pixels
    try:
        return cv2.cvtColor(pixels, code)
    except cv2.error as exc:  # checked above; never let OpenCV's error leave a callback
        raise ImageConversionError(f'cannot convert {msg.encoding} {w}x{h}: {exc}') from None


def compressed_to_bgr(msg: CompressedImage, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """
    Decode a sensor_msgs/CompressedImage (JPEG, PNG...) into a BGR uint8 array, safely.

    The declared size is checked before decoding; corrupt data is an ImageConversionError
    (image_decoding: nothing printed on stderr).
    """
    try:
        return decode_image(msg.data, max_pixels,
                            what=f'compressed image (format {msg.format!r})')
    except ImageDecodeError as exc:
        raise ImageConversionError(str(exc)) from None


def load_cv_bridge():
    """Return a CvBridge when cv_bridge imports and works with this numpy, else None."""
    try:
        from cv_bridge import CvBridge
        return CvBridge()
    except Exception:  # noqa: BLE001 - absent, or compiled against another numpy ABI
        return None


def image_to_bgr_cv_bridge(bridge, msg: Image,
                           max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Decode with cv_bridge, with the same checks and errors as the numpy path."""
    check_image_msg(msg, max_pixels)  # the same clear errors as the numpy path
    try:
        return bridge.imgmsg_to_cv2(msg, desired_encoding='bgr8')
    except Exception as exc:  # noqa: BLE001 - cv_bridge raises several types
        raise ImageConversionError(f'cv_bridge could not convert the image: {exc}') from None


def stamp_from_seconds(t: float):
    """Return builtin_interfaces/Time of wall-clock seconds (a capture time), via rclpy."""
    whole = int(t)  # split first: t * 1e9 in one float loses the last digits of the nanoseconds
    return Time(seconds=whole, nanoseconds=round((t - whole) * 1e9)).to_msg()


def array_to_image(pixels: np.ndarray, header, encoding: str) -> Image:
    """Build a little-endian sensor_msgs/Image of `encoding` from an (H, W[, C]) array."""
    msg = Image()
    msg.header = header
    msg.height, msg.width = int(pixels.shape[0]), int(pixels.shape[1])
    msg.encoding = encoding
    msg.is_bigendian = 0
    msg.step = msg.width * pixels.itemsize * (pixels.shape[2] if pixels.ndim == 3 else 1)
    msg.data = np.ascontiguousarray(pixels).tobytes()
    return msg


def bgr_to_image(image: np.ndarray, header) -> Image:
    """Build a bgr8 sensor_msgs/Image from a BGR uint8 array, with the given header."""
    return array_to_image(image, header, 'bgr8')


def hypothesis(label: str, score: float) -> ObjectHypothesisWithPose:
    """Return the ObjectHypothesisWithPose of a class id (as text) and score, 2D and 3D alike."""
    hyp = ObjectHypothesisWithPose()
    hyp.hypothesis.class_id = label
    hyp.hypothesis.score = score
    return hyp


JPEG_FORMAT = 'bgr8; jpeg compressed bgr8'  # what image_transport's compressed plugin writes


def bgr_to_compressed(image: np.ndarray, header, quality: int = 80) -> CompressedImage:
    """Build a JPEG sensor_msgs/CompressedImage (image_transport `compressed`) of a BGR array."""
    ok, data = cv2.imencode('.jpg', image, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise ImageConversionError(f'JPEG encoding failed for an image of shape {image.shape}')
    msg = CompressedImage(format=JPEG_FORMAT)
    msg.header = header
    msg.data = data.tobytes()
    return msg


def detections_to_msg(detections: sv.Detections, header, class_names: Sequence[str],
                      class_id_format: str = 'index') -> Detection2DArray:
    """
    Convert Detections to Detection2DArray in original-image pixels.

    header is the source image's header (stamp and frame_id), copied to the array and to every
    detection. class_id is the numeric index as a string by default (names via LabelInfo), or
    the class name with class_id_format='name'. Detection2D.id is the tracker id, '' untracked.
    Oriented boxes (data['xyxyxyxy']) give the box's own centre, sides (size_x along its
    longer side) and center.theta (radians from the image's +x axis toward +y).
    """
    out = Detection2DArray()
    out.header = header
    n = len(detections)
    if n == 0:
        return out
    xyxy, confidence, class_id, tracker_id = columns(detections)
    corners = detections.data.get(CORNERS_KEY)
    if corners is not None and len(corners) == n:  # oriented boxes: their own centre and sides
        centre, sides, angle = corner_geometry(corners)
        centers, sizes, thetas = centre.tolist(), sides.tolist(), angle.tolist()
    else:
        centers = ((xyxy[:, :2] + xyxy[:, 2:]) / 2.0).tolist()
        sizes = (xyxy[:, 2:] - xyxy[:, :2]).tolist()
        thetas = [0.0] * n
    scores = confidence.tolist()
    class_ids = class_id.tolist()
    if class_id_format == 'name':
        labels = [class_names[c] if 0 <= c < len(class_names) else str(c) for c in class_ids]
    else:
        labels = [str(c) for c in class_ids]
    ids = [str(t) if t >= 0 else '' for t in tracker_id.tolist()]
    dets = []
    for (cx, cy), (sx, sy), theta, score, label, track in zip(centers, sizes, thetas, scores,
                                                              labels, ids):
        det = Detection2D(header=header, id=track)
        det.bbox.center.position.x = cx
        det.bbox.center.position.y = cy
        det.bbox.center.theta = theta
        det.bbox.size_x = sx
        det.bbox.size_y = sy
        det.results.append(hypothesis(label, score))
        dets.append(det)
    out.detections = dets
    return out


def masks_to_image(masks: np.ndarray, header, boxes: Optional[np.ndarray] = None) -> Image:
    """
    Build the mono16 instance image of (N, H, W) masks: pixel = detection index + 1, 0 = none.

    The index is the detection's position in the Detection2DArray of the same stamp; boxes
    (the detections' xyxy, outside which masks are empty) make it cheaper.
    """
    return array_to_image(label_image(masks, boxes).astype('<u2', copy=False), header, 'mono16')


def label_info_msg(class_names: Sequence[str], threshold: float,
                   header: Optional[object] = None) -> LabelInfo:
    """Build the LabelInfo mapping each numeric class id (the default format) to its name."""
    msg = LabelInfo()
    if header is not None:
        msg.header = header
    msg.class_map = [VisionClass(class_id=i, class_name=str(name))
                     for i, name in enumerate(class_names)]
    msg.threshold = float(threshold)
    return msg
