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
A camera's 3D outputs (parameter depth: true): detections_3d and markers.

Published for each result whose frame came with depth, with the depth image's header (its
optical frame and stamp): Detection3DArray always, the MarkerArray for rviz only while
someone subscribes (and only where visualization_msgs is installed; else one warning).
"""

from typing import Sequence

from std_msgs.msg import Header
from vision_msgs.msg import Detection3DArray

from stream_infer.results import StreamResult
from stream_infer.ros.cameras import Camera
from stream_infer.ros.depth_conversions import detections_3d_msg, MarkerArray, markers_msg


class DepthOutputs:
    """One camera's detections_3d and markers publishers."""

    def __init__(self, node, camera: Camera, detections_qos, markers_qos) -> None:
        self._node = node
        self.detections_3d = node.create_lifecycle_publisher(
            Detection3DArray, camera.topic('detections_3d'), detections_qos)
        self.markers = None
        if MarkerArray is not None:
            self.markers = node.create_lifecycle_publisher(
                MarkerArray, camera.topic('markers'), markers_qos)
        else:
            node.get_logger().warning(
                'visualization_msgs is not installed: no `markers` for rviz (install '
                'ros-$ROS_DISTRO-visualization-msgs); detections_3d is published')
        self.namespace = 'stream_infer' + (f'/{camera.name}' if camera.name else '')

    def publish(self, result: StreamResult, header: Header, class_names: Sequence[str],
                class_id_format: str) -> None:
        """Publish the 3D boxes of a result that came with depth (nothing otherwise)."""
        depth = result.frame.depth
        if depth is None:
            return
        if isinstance(depth.meta, Header):
            header = depth.meta  # the depth image's optical frame and stamp
        self.detections_3d.publish(detections_3d_msg(result.detections, header, class_names,
                                                     class_id_format))
        markers = self.markers
        if markers is not None and markers.get_subscription_count() > 0:
            markers.publish(markers_msg(result.detections, header, class_names,
                                        self.namespace))

    def destroy(self) -> None:
        for publisher in (self.detections_3d, self.markers):
            if publisher is not None:
                self._node.destroy_lifecycle_publisher(publisher)


__all__ = ['DepthOutputs']
