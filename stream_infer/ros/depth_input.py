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
One camera's depth input (parameter depth: true): depth/image and camera_info, paired by stamp.

The camera's ImageInput hands each converted colour frame to on_image instead of the engine;
depth images (depth/image raw, or depth/image/compressedDepth) become DepthImages with the
newest camera_info's K and their own header (the 3D results' frame and stamp), and the
StampPairer (depth_pairing.py) puts each frame into the engine with its depth, or without it
(counted: depth_unpaired). Callbacks only convert and hand over; bad depth messages and
camera_info are counted and logged, throttled, never raised.
"""

from typing import Callable, Optional

from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from std_msgs.msg import Header

from stream_infer.depth import CameraIntrinsics, DepthImage
from stream_infer.ros.cameras import Camera
from stream_infer.ros.depth_conversions import (
    compressed_depth_to_array, depth_image_to_array, intrinsics_from_camera_info)
from stream_infer.ros.depth_pairing import StampPairer
from stream_infer.ros.image_input import image_qos


def seconds(header: Header) -> float:
    return header.stamp.sec + header.stamp.nanosec * 1e-9


class DepthInput:
    """
    A camera's depth and camera_info subscriptions and the pairing of its frames.

    put(frame, header, depth=DepthImage or None) feeds the engine; max_pixels returns the
    limit in force (max_image_pixels).
    """

    def __init__(self, node, camera: Camera, *, put: Callable, tolerance: float,
                 transport: str, reliability: str, max_pixels: Callable[[], int],
                 callback_group=None) -> None:
        self._node = node
        self._camera = camera
        self._put = put
        self._max_pixels = max_pixels
        self._intrinsics: Optional[CameraIntrinsics] = None
        self._distortion_noted = False
        self.bad_depth = 0
        self.depth_without_camera_info = 0
        self.last_bad_depth = ''
        self._pairer = StampPairer(self._emit, tolerance)
        compressed = transport == 'compressedDepth'
        msg_type, base = ((CompressedImage, 'depth/image/compressedDepth') if compressed
                          else (Image, 'depth/image'))
        self._convert = compressed_depth_to_array if compressed else depth_image_to_array
        qos = image_qos(reliability)
        self.subscriptions = [
            node.create_subscription(msg_type, camera.topic(base), self._on_depth, qos,
                                     callback_group=callback_group),
            node.create_subscription(CameraInfo, camera.topic('camera_info'),
                                     self._on_camera_info, qos, callback_group=callback_group)]

    @property
    def topic_names(self) -> list:
        return [sub.topic_name for sub in self.subscriptions]

    @property
    def unpaired(self) -> int:
        return self._pairer.unpaired

    @property
    def paired(self) -> int:
        return self._pairer.paired

    def destroy(self) -> None:
        for subscription in self.subscriptions:
            self._node.destroy_subscription(subscription)

    def on_image(self, frame, header: Header) -> None:
        """Take a converted colour frame from the camera's ImageInput: pair it, then put it."""
        self._pairer.add_image(seconds(header), (frame, header))

    def _emit(self, item, depth: Optional[DepthImage]) -> None:
        frame, header = item
        self._put(frame, header, depth=depth)

    def _on_camera_info(self, msg: CameraInfo) -> None:
        try:
            self._intrinsics, distorted = intrinsics_from_camera_info(msg)
        except Exception as exc:  # noqa: BLE001 - input from outside never ends the node
            self._count_bad(f'camera_info refused: {exc}')
            return
        if distorted and not self._distortion_noted:
            self._distortion_noted = True
            self._node.get_logger().info(
                f'{self._camera.label}camera_info has lens distortion '
                f'({msg.distortion_model}); 3D boxes ignore it (registered depth from '
                'RealSense, ZED and OAK-D is rectified)')

    def _on_depth(self, msg) -> None:
        try:
            intrinsics = self._intrinsics
            if intrinsics is None:
                self.depth_without_camera_info += 1
                self._node.get_logger().warning(
                    f'{self._camera.label}depth images arrive but no camera_info yet on '
                    f'{self.subscriptions[1].topic_name}: they are not used',
                    throttle_duration_sec=10.0)
                return
            depth = DepthImage(self._convert(msg, self._max_pixels()), intrinsics,
                               meta=msg.header)
            self._pairer.add_depth(seconds(msg.header), depth)
        except Exception as exc:  # noqa: BLE001 - input from outside never ends the node
            self._count_bad(f'{type(exc).__name__}: {exc}' if not isinstance(exc, ValueError)
                            else str(exc))

    def _count_bad(self, text: str) -> None:
        self.bad_depth += 1
        self.last_bad_depth = text
        self._node.get_logger().warning(
            f'{self._camera.label}skipped a bad depth input ({self.bad_depth} so far): {text}',
            throttle_duration_sec=5.0)

    def diagnostic_values(self) -> dict:
        """Return the key/values for the camera's /diagnostics status."""
        return {'depth_paired': self.paired, 'depth_unpaired': self.unpaired,
                'depth_bad_inputs': self.bad_depth,
                'depth_without_camera_info': self.depth_without_camera_info}


__all__ = ['DepthInput']
