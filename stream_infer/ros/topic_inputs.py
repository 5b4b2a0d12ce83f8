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
Topic mode: a camera with no source of its own subscribes to images and feeds the engine.

Each such camera gets an ImageInput on image or image/compressed (with its prefix; with `depth`
paired with its depth image by a DepthInput first), whose callbacks only convert the message
(cv_bridge when installed, else numpy) and hand the newest frame to the running stream with
the message's header (its stamp as the capture time). All subscriptions of a node share one
mutually exclusive callback group, apart from the node's timers.
"""

import functools
from typing import Any, Callable, Optional

import numpy as np
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.node import Node
from sensor_msgs.msg import Image
from std_msgs.msg import Header

from stream_infer.ros import conversions
from stream_infer.ros.cameras import Camera
from stream_infer.ros.depth_input import DepthInput
from stream_infer.ros.image_input import ImageInput
from stream_infer.stream import InferenceStream


class TopicInputs:
    """Subscribe a node's topic-mode cameras; put their frames into the stream that runs."""

    def __init__(self, node: Node, *, stream: Callable[[], Optional[InferenceStream]],
                 max_pixels: Callable[[], int]) -> None:
        """stream: the node's running stream now (None: frames are dropped); max_pixels: cap."""
        self._node = node
        self._stream = stream
        self._max_pixels = max_pixels
        self.group = MutuallyExclusiveCallbackGroup()  # the subscriptions' (node.py prunes it)
        self._cv_bridge = conversions.load_cv_bridge()

    @property
    def conversion(self) -> str:
        """Return how raw images are converted: 'cv_bridge' or 'numpy (no cv_bridge)'."""
        return 'cv_bridge' if self._cv_bridge else 'numpy (no cv_bridge)'

    def subscribe(self, camera: Camera) -> ImageInput:
        """Subscribe a camera to image or image/compressed (with its prefix), watching QoS."""
        node = self._node

        def param(name: str) -> Any:
            return node.get_parameter(name).value
        reliability = param('image_reliability')
        put = functools.partial(self._put, source=camera.name or None)
        depth = None
        if param('depth'):  # frames go to the engine paired with depth (depth_input.py)
            depth = DepthInput(node, camera, put=put, reliability=reliability,
                               tolerance=param('depth_pairing_tolerance'),
                               transport=param('depth_transport'),
                               max_pixels=self._max_pixels, callback_group=self.group)
            put = depth.on_image
        image_input = ImageInput(
            node, camera, compressed=param('image_transport') == 'compressed',
            reliability=reliability, put=put, convert_raw=self._image_to_bgr,
            max_pixels=self._max_pixels, callback_group=self.group)
        image_input.depth = depth
        node.get_logger().info(f'{camera.label}subscribed to {image_input.topic_name} '
                               f'({reliability}, keep last 1)' + (
                                   f', {", ".join(depth.topic_names)}' if depth else ''))
        return image_input

    def _image_to_bgr(self, msg: Image, max_pixels: int) -> np.ndarray:
        if self._cv_bridge is not None:
            return conversions.image_to_bgr_cv_bridge(self._cv_bridge, msg, max_pixels)
        return conversions.image_to_bgr(msg, max_pixels)

    def _put(self, frame: np.ndarray, header: Header, source: Optional[str] = None,
             depth: Any = None) -> None:
        stream = self._stream()
        if stream is not None:
            stamp = header.stamp.sec + header.stamp.nanosec * 1e-9
            stream.put_frame(frame, timestamp=stamp or None, meta=header, source=source,
                             depth=depth)


__all__ = ['TopicInputs']
