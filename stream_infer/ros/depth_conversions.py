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
Depth messages in (Image 16UC1/32FC1, compressedDepth, CameraInfo), 3D detections out.

Depth images are viewed, not copied (the estimator reads only the pixels it samples).
compressedDepth (image_transport's plugin) is a 12-byte header (format, two quantisation
floats) and a PNG: 16UC1 is stored as is, 32FC1 as quantised inverse depth
(z = a / (q - b), q = 0: no data); the PNG's declared size is checked before decoding.
Outputs: vision_msgs/Detection3DArray with metric boxes in the depth image's frame (never
pixels), and a visualization_msgs/MarkerArray (a box and a label per detection, after a
DELETEALL so boxes of objects gone disappear) for rviz, which draws no 2D detections.
"""

import struct
from typing import Optional, Sequence, Tuple

import cv2
import numpy as np
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
import supervision as sv
from vision_msgs.msg import Detection3D, Detection3DArray

from stream_infer.columns import class_names_of, columns
from stream_infer.depth import CameraIntrinsics, CENTRE_KEY, SIZE_KEY
from stream_infer.ros.conversions import hypothesis, ImageConversionError
from stream_infer.sources.image_decoding import check_pixels, declared_size, ImageDecodeError

DEPTH_ENCODINGS = {'16UC1': np.uint16, 'mono16': np.uint16, '32FC1': np.float32}
COMPRESSED_DEPTH_HEADER = 12  # int32 format, float32 depthQuantA, float32 depthQuantB

try:  # visualization_msgs: ros-$ROS_DISTRO-visualization-msgs (markers are optional)
    from visualization_msgs.msg import Marker, MarkerArray
except ImportError:  # pragma: no cover - depends on the installation
    Marker = MarkerArray = None


def depth_image_to_array(msg: Image, max_pixels: int) -> np.ndarray:
    """Return a depth Image as an H x W uint16 (16UC1, mono16) or float32 (32FC1) view."""
    dtype = DEPTH_ENCODINGS.get(msg.encoding)
    if dtype is None:
        raise ImageConversionError(f'unsupported depth encoding {msg.encoding!r}; accepted: '
                                   f'{", ".join(DEPTH_ENCODINGS)}')
    h, w, step = int(msg.height), int(msg.width), int(msg.step)
    try:
        check_pixels(w, h, max_pixels, 'depth image')
    except ImageDecodeError as exc:
        raise ImageConversionError(str(exc)) from None
    row = w * np.dtype(dtype).itemsize
    if step < row or step % np.dtype(dtype).itemsize:
        raise ImageConversionError(f'depth image step {step} does not fit width {w} of '
                                   f'{msg.encoding} ({row} bytes a row)')
    if len(msg.data) < step * h:
        raise ImageConversionError(f'truncated depth image: {len(msg.data)} bytes, expected '
                                   f'step*height = {step * h}')
    order = '>' if msg.is_bigendian else '<'
    data = np.frombuffer(msg.data, dtype=np.dtype(dtype).newbyteorder(order), count=step * h
                         // np.dtype(dtype).itemsize)
    pixels = data.reshape(h, step // np.dtype(dtype).itemsize)[:, :w]
    return pixels if pixels.dtype.isnative else pixels.astype(dtype)


def compressed_depth_to_array(msg: CompressedImage, max_pixels: int) -> np.ndarray:
    """Decode an image_transport compressedDepth message (PNG) into uint16 or float32 metres."""
    fmt = msg.format.replace(' ', '')
    encoding = fmt.split(';')[0]
    if 'compressedDepth' not in fmt or encoding not in ('16UC1', '32FC1') or 'rvl' in fmt:
        raise ImageConversionError(f'unsupported compressedDepth format {msg.format!r}; '
                                   'accepted: "16UC1; compressedDepth png" or "32FC1; '
                                   'compressedDepth png"')
    data = bytes(msg.data)
    png = data[COMPRESSED_DEPTH_HEADER:]
    size = declared_size(png)
    if len(data) <= COMPRESSED_DEPTH_HEADER or size is None or size[0] != 'PNG':
        raise ImageConversionError(f'compressedDepth data ({len(data)} bytes) is not a '
                                   '12-byte header followed by a PNG')
    try:
        check_pixels(size[1], size[2], max_pixels, 'compressedDepth image')
    except ImageDecodeError as exc:
        raise ImageConversionError(str(exc)) from None
    pixels = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_UNCHANGED)
    if pixels is None or pixels.ndim != 2 or pixels.dtype != np.uint16:
        raise ImageConversionError('compressedDepth PNG does not decode to 16-bit gray')
    if encoding == '16UC1':
        return pixels
    _, quant_a, quant_b = struct.unpack('<iff', data[:COMPRESSED_DEPTH_HEADER])
    with np.errstate(divide='ignore'):
        metres = quant_a / (pixels.astype(np.float32) - np.float32(quant_b))
    metres[pixels == 0] = np.nan
    return metres


def intrinsics_from_camera_info(msg: CameraInfo) -> Tuple[CameraIntrinsics, bool]:
    """Return (K, distorted): distorted when D has non-zero terms (the estimator ignores D)."""
    try:
        k = CameraIntrinsics.from_k(list(msg.k), int(msg.width), int(msg.height))
    except ValueError as exc:
        raise ImageConversionError(f'camera_info: {exc}') from None
    distorted = any(abs(float(v)) > 1e-12 for v in msg.d)
    return k, distorted


def _labels(class_names: Sequence[str], class_id_format: str, class_ids: list) -> list:
    if class_id_format == 'name':
        return [class_names[c] if 0 <= c < len(class_names) else str(c) for c in class_ids]
    return [str(c) for c in class_ids]


def _known(detections: sv.Detections) -> Optional[np.ndarray]:
    """Return the indices of detections with a 3D box (None: no depth came with the frame)."""
    centre = detections.data.get(CENTRE_KEY) if len(detections) else None
    if centre is None:
        return None
    return np.flatnonzero(np.isfinite(centre).all(axis=1) & np.isfinite(
        detections.data[SIZE_KEY]).all(axis=1))


def detections_3d_msg(detections: sv.Detections, header, class_names: Sequence[str],
                      class_id_format: str = 'index') -> Detection3DArray:
    """
    Build the Detection3DArray of the detections that have a 3D box (header: the depth's).

    bbox: centre and size in metres in header.frame_id (the depth camera's optical frame),
    orientation identity; Detection3D.id = track id ('' untracked); results as in 2D.
    """
    out = Detection3DArray(header=header)
    known = _known(detections)
    if known is None or len(known) == 0:
        return out
    _, confidence, class_id, tracker_id = columns(detections)
    centres = detections.data[CENTRE_KEY][known].tolist()
    sizes = detections.data[SIZE_KEY][known].tolist()
    labels = _labels(class_names, class_id_format, class_id[known].tolist())
    ids = [str(t) if t >= 0 else '' for t in tracker_id[known].tolist()]
    items = []
    for centre, size, score, label, track in zip(centres, sizes, confidence[known].tolist(),
                                                 labels, ids):
        det = Detection3D(header=header, id=track)
        position, extent = det.bbox.center.position, det.bbox.size
        position.x, position.y, position.z = centre
        extent.x, extent.y, extent.z = size
        det.results.append(hypothesis(label, score))
        items.append(det)
    out.detections = items
    return out


MIN_MARKER_DEPTH = 0.02  # metres: a flat face still gets a visible box in rviz


def markers_msg(detections: sv.Detections, header, class_names: Sequence[str],
                namespace: str = 'stream_infer'):
    """
    Build a MarkerArray: DELETEALL, then per 3D detection a box and a label above it.

    The label says class, track id and distance (metres from the camera). None when
    visualization_msgs is not installed.
    """
    if MarkerArray is None:
        return None
    out = MarkerArray(markers=[Marker(header=header, ns=namespace, action=Marker.DELETEALL)])
    known = _known(detections)
    if known is None or len(known) == 0:
        return out
    _, _, class_id, tracker_id = columns(detections)
    names = [class_names_of(detections, class_names)[i] for i in known.tolist()]
    centres = detections.data[CENTRE_KEY][known]
    sizes = detections.data[SIZE_KEY][known]
    distances = np.linalg.norm(centres, axis=1).tolist()
    hues = (class_id[known] * 47 % 180).astype(np.uint8)
    colours = cv2.cvtColor(np.stack([hues, np.full_like(hues, 200), np.full_like(hues, 255)],
                                    axis=1)[None], cv2.COLOR_HSV2RGB)[0] / 255.0
    for i, (centre, size, name, track, distance, colour) in enumerate(zip(
            centres.tolist(), sizes.tolist(), names, tracker_id[known].tolist(), distances,
            colours.tolist())):
        box = Marker(header=header, ns=namespace, id=2 * i, type=Marker.CUBE,
                     action=Marker.ADD)
        box.pose.position.x, box.pose.position.y, box.pose.position.z = centre
        box.pose.orientation.w = 1.0
        box.scale.x, box.scale.y = size[0], size[1]
        box.scale.z = max(size[2], MIN_MARKER_DEPTH)
        box.color.r, box.color.g, box.color.b = colour
        box.color.a = 0.4
        text = Marker(header=header, ns=namespace, id=2 * i + 1,
                      type=Marker.TEXT_VIEW_FACING, action=Marker.ADD)
        text.pose.position.x, text.pose.position.z = centre[0], centre[2]
        text.pose.position.y = centre[1] - size[1] / 2.0 - 0.1  # above it (y points down)
        text.pose.orientation.w = 1.0
        text.scale.z = 0.15
        text.color.r = text.color.g = text.color.b = text.color.a = 1.0
        text.text = f'{name}{f" #{track}" if track >= 0 else ""} {distance:.2f} m'
        out.markers.extend((box, text))
    return out


__all__ = ['DEPTH_ENCODINGS', 'compressed_depth_to_array', 'depth_image_to_array',
           'detections_3d_msg', 'intrinsics_from_camera_info', 'markers_msg']
