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
What the node publishes, and how each message is built from a StreamResult.

One CameraOutputs per camera: detections, the annotated image as raw `annotated` and JPEG
`annotated/compressed` (image_transport's naming, so rviz and rqt_image_view offer it; drawn
only while someone subscribes, once per frame for both), a segmentation model's instance masks
(`masks`, mono16, while subscribed), the source image, LabelInfo and the camera's stream
events, and with depth (depth_outputs.py) detections_3d and markers; with several cameras each
one's topics carry its name as a prefix
(front/detections, ~/front/stream_events). NodeOutputs holds them, /diagnostics and, with
several cameras, the node's own ~/stream_events (the run as a whole). The node creates it
in configure and destroys it in cleanup; results arrive on the engine's delivery thread.
"""

import time
from typing import Callable, Dict, Optional, Sequence, Tuple

from diagnostic_msgs.msg import DiagnosticArray
from rclpy.duration import Duration
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Header, String
from vision_msgs.msg import Detection2DArray, LabelInfo

from stream_infer.annotate import FrameAnnotator
from stream_infer.results import StreamResult
from stream_infer.ros import conversions
from stream_infer.ros.cameras import Camera
from stream_infer.ros.depth_outputs import DepthOutputs

# Outputs are reliable so both reliable (rviz, rqt) and best-effort subscribers match; a short
# history so a slow subscriber never makes latency grow.
DETECTIONS_QOS = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
IMAGE_OUT_QOS = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE)
LATCHED_QOS = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                         durability=DurabilityPolicy.TRANSIENT_LOCAL)
EVENTS_QOS = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE,
                        durability=DurabilityPolicy.TRANSIENT_LOCAL)


class CostMeter:
    """Mean milliseconds of some per-frame work (the node's own cost, model excluded)."""

    def __init__(self) -> None:
        self.total_ms = 0.0
        self.count = 0

    def add(self, started: float) -> None:
        self.total_ms += (time.perf_counter() - started) * 1e3
        self.count += 1

    @property
    def mean_ms(self) -> float:
        return self.total_ms / max(self.count, 1)


class CameraOutputs:
    """One camera's publishers, its annotator, and the messages built from its results."""

    def __init__(self, node, camera: Camera, *, source_image: bool, depth: bool = False) -> None:
        self._node = node
        self.camera = camera
        topic = camera.topic
        self.detections = node.create_lifecycle_publisher(
            Detection2DArray, topic('detections'), DETECTIONS_QOS)
        self.annotated = node.create_lifecycle_publisher(Image, topic('annotated'),
                                                         IMAGE_OUT_QOS)
        self.annotated_compressed = node.create_lifecycle_publisher(
            CompressedImage, topic('annotated/compressed'), IMAGE_OUT_QOS)
        self.masks = node.create_lifecycle_publisher(Image, topic('masks'), IMAGE_OUT_QOS)
        self.image_raw = (node.create_lifecycle_publisher(Image, topic('image_raw'),
                                                          IMAGE_OUT_QOS)
                          if source_image and camera.source else None)
        self.label_info = node.create_publisher(LabelInfo, topic('label_info'), LATCHED_QOS)
        self.events = node.create_publisher(String, camera.events_topic, EVENTS_QOS)
        self.depth = (DepthOutputs(node, camera, DETECTIONS_QOS, IMAGE_OUT_QOS)
                      if depth and not camera.source else None)  # topic mode: 3D outputs
        if depth and camera.source:
            node.get_logger().warning(f'{camera.label}depth: true needs topic mode (depth '
                                      'images come by topic); this source stays 2D only')
        self.annotator: Optional[FrameAnnotator] = None  # its own: traces follow its track ids
        self.annotated_published = 0
        self.annotated_compressed_published = 0
        self.masks_published = 0
        self.cost = CostMeter()

    def publish_result(self, result: StreamResult, header: Header, class_names: Sequence[str],
                       class_id_format: str, jpeg_quality: int = 80) -> None:
        """Publish detections always, the annotated and source images to their subscribers."""
        started = time.perf_counter()
        self.detections.publish(conversions.detections_to_msg(
            result.detections, header, class_names, class_id_format))
        if self.depth is not None:
            self.depth.publish(result, header, class_names, class_id_format)
        raw = self.annotated.get_subscription_count() > 0
        jpeg = self.annotated_compressed.get_subscription_count() > 0
        annotator = self.annotator
        if annotator is not None and (raw or jpeg):
            image = annotator.annotate(result.frame.image, result.detections,
                                       result.track_epoch)  # drawn once
            if raw:
                self.annotated.publish(conversions.bgr_to_image(image, header))
                self.annotated_published += 1
            if jpeg:
                self.annotated_compressed.publish(
                    conversions.bgr_to_compressed(image, header, jpeg_quality))
                self.annotated_compressed_published += 1
        if self.image_raw is not None and self.image_raw.get_subscription_count() > 0:
            self.image_raw.publish(conversions.bgr_to_image(result.frame.image, header))
        masks = result.detections.mask
        if masks is not None and self.masks.get_subscription_count() > 0:
            self.masks.publish(conversions.masks_to_image(masks, header,
                                                          result.detections.xyxy))
            self.masks_published += 1
        self.cost.add(started)

    def masks_wanted(self) -> bool:
        """Return whether this camera's subscribers use instance masks (masks or annotated)."""
        return any(pub.get_subscription_count() > 0
                   for pub in (self.masks, self.annotated, self.annotated_compressed))

    def publish_label_info(self, class_names: Sequence[str], threshold: float) -> None:
        self.label_info.publish(conversions.label_info_msg(
            class_names, threshold, Header(stamp=self._node.get_clock().now().to_msg())))

    def publish_event(self, text: str) -> None:
        """Publish a stream event; quietly skipped once the context is going down."""
        publish_event(self._node, self.events, text)

    def destroy(self) -> None:
        node = self._node
        for pub in (self.detections, self.annotated, self.annotated_compressed, self.masks,
                    self.image_raw):
            if pub is not None:
                node.destroy_lifecycle_publisher(pub)
        for pub in (self.label_info, self.events):
            node.destroy_publisher(pub)
        if self.depth is not None:
            self.depth.destroy()


class NodeOutputs:
    """The node's publishers: each camera's, /diagnostics and the node's own stream events."""

    def __init__(self, node, cameras: Sequence[Camera], *, source_image: bool,
                 depth: bool = False) -> None:
        self._node = node
        self.cameras: Dict[str, CameraOutputs] = {
            camera.name: CameraOutputs(node, camera, source_image=source_image, depth=depth)
            for camera in cameras}
        self.diagnostics = node.create_publisher(DiagnosticArray, '/diagnostics', 10)
        single = self.cameras.get('')
        # One camera: its events are the node's; several: the node's own for the whole run.
        self.events = (single.events if single is not None else
                       node.create_publisher(String, '~/stream_events', EVENTS_QOS))

    @property
    def names(self) -> Tuple[str, ...]:
        """Return the camera names the outputs were made for ('' = the single camera)."""
        return tuple(self.cameras)

    def fit(self, cameras: Sequence[Camera], *, source_image: bool, depth: bool) -> bool:
        """Return True when these publishers serve these cameras (else: make new ones)."""
        return self.names == tuple(c.name for c in cameras) and all(
            (self.cameras[c.name].image_raw is not None) == bool(source_image and c.source)
            and (self.cameras[c.name].depth is not None) == bool(depth and not c.source)
            for c in cameras)

    def set_annotators(self, make: Callable[[], FrameAnnotator]) -> None:
        """Give each camera a new annotator of its own (traces follow its own track ids)."""
        for camera in self.cameras.values():
            camera.annotator = make()

    def publish_label_info(self, class_names: Sequence[str], threshold: float) -> None:
        """Publish every camera's label_info (class names, confidence threshold)."""
        for camera in self.cameras.values():
            camera.publish_label_info(class_names, threshold)

    def steer_masks(self, detector, *, capture: bool, depth: bool) -> None:
        """
        Have a segmentation model's masks made, from the next frame on, only while used.

        Used: a `masks` or annotated-image subscriber on any camera, capture (its polygon
        labels), or depth (a mask chooses the depth pixels of its detection). Masks are most of
        a -seg model's postprocessing; boxes are the same without.
        """
        if detector is not None:
            detector.compute_masks = capture or depth or any(
                camera.masks_wanted() for camera in self.cameras.values())

    def publish_event(self, text: str) -> None:
        """Publish an event of the node as a whole on ~/stream_events."""
        publish_event(self._node, self.events, text)

    def flush(self, timeout_s: float) -> None:
        """Wait (bounded) until reliable subscribers acknowledged the last events, detections."""
        # Without this the process can exit before DDS delivers the last messages ('stopped').
        deadline = time.monotonic() + timeout_s
        pubs = [self.events] + [pub for camera in self.cameras.values()
                                for pub in (camera.events, camera.detections)
                                if pub is not self.events]
        for pub in pubs:
            if self._node.context.ok():
                remaining = max(0.0, deadline - time.monotonic())
                if not pub.wait_for_all_acked(Duration(nanoseconds=int(remaining * 1e9))):
                    self._node.get_logger().debug(
                        f'{pub.topic_name}: not every subscriber acknowledged')

    def destroy(self) -> None:
        node = self._node
        if '' not in self.cameras:
            node.destroy_publisher(self.events)
        for camera in self.cameras.values():
            camera.destroy()
        node.destroy_publisher(self.diagnostics)


def publish_event(node, publisher, text: str) -> None:
    """Publish a stream event; quietly skipped once the context is going down."""
    if not node.context.ok():
        return
    try:
        publisher.publish(String(data=text))
    except RuntimeError as exc:  # RCLError: the context went down meanwhile
        node.get_logger().debug(f'stream event {text!r} not published: {exc}')


def header_for(frame, frame_id: str) -> Header:
    """Return the source image's header (topic mode), or one stamped with the capture time."""
    if isinstance(frame.meta, Header):
        return frame.meta
    return Header(stamp=conversions.stamp_from_seconds(frame.timestamp), frame_id=frame_id)
