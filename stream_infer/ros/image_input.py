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
One camera's image subscription (topic mode): convert, hand the newest frame over, count faults.

The node makes one ImageInput per camera that reads a topic (image or image/compressed,
prefixed with the camera's name when the node serves several), keep last 1 with the
configured reliability. Callbacks only convert and hand over; nothing raised while doing so
leaves them: bad images, middleware losses and publishers whose QoS cannot match are counted
(diagnostics) and logged, throttled.
"""

import time
from typing import Callable

from rclpy.event_handler import SubscriptionEventCallbacks, UnsupportedEventTypeError
from rclpy.qos import (DurabilityPolicy, HistoryPolicy, qos_policy_name_from_kind, QoSProfile,
                       ReliabilityPolicy)
from sensor_msgs.msg import CompressedImage, Image

from stream_infer.bundled import fastdds_profile_path
from stream_infer.ros import conversions
from stream_infer.ros.cameras import Camera
from stream_infer.ros.outputs import CostMeter


LOSS_WARNING_S = 10.0  # diagnostics warn while the middleware lost images this recently


def lost_images_hint() -> str:
    """Say why a local publisher's large images get lost and what carries them (README)."""
    try:
        profile = str(fastdds_profile_path())
    except FileNotFoundError:
        profile = 'config/fastdds_large_images.xml of stream_infer'
    return (f'start the image publisher with FASTRTPS_DEFAULT_PROFILES_FILE={profile} (Jazzy; '
            'FASTDDS_DEFAULT_PROFILES_FILE on Kilted): Fast DDS sends an image larger than its '
            'default 512 kB shared-memory segment over UDP in fragments, and a best-effort image '
            'that misses one is lost; or publish image/compressed')


def image_qos(reliability: str) -> QoSProfile:
    """Subscription QoS: keep only the newest frame (REP-2003 sensor data by default)."""
    return QoSProfile(
        history=HistoryPolicy.KEEP_LAST, depth=1,
        reliability=(ReliabilityPolicy.RELIABLE if reliability == 'reliable'
                     else ReliabilityPolicy.BEST_EFFORT),
        durability=DurabilityPolicy.VOLATILE)


def plausible_lost_count(change: int) -> int:
    """
    Return how many images a message-lost event says were lost, 0 when it makes no sense.

    rmw_fastrtps passes Fast DDS's signed 32-bit counts through unsigned fields, so a bogus
    sequence gap shows up as a wrapped value near 2**64 (18446744071562067979 was seen) or as
    2**31 - 1 (INT32_MAX) or more messages: not a count of images, never added to the
    diagnostics. INT32_MAX comes in pairs (the total wraps negative, then back) each time a
    best-effort sample that fits one datagram follows lost fragmented ones (measured: 640x480
    images with every 30th one 8x8).

        >>> plausible_lost_count(3), plausible_lost_count(2 ** 31 - 1)
        (3, 0)
    """
    change = int(change)
    return change if 0 < change < 2 ** 31 - 1 else 0


class InputCounts:
    """What a camera's input counted (diagnostics); all zero for a camera opening a source."""

    def __init__(self) -> None:
        self.bad_images = 0
        self.last_bad_image = ''
        self.lost = 0  # images DDS reports lost before they reached the subscription
        self.last_loss = float('-inf')  # time.monotonic() of the last report
        self.incompatible_publishers = 0  # publishers whose QoS can't match
        self.cost = CostMeter()  # the node's own cost per image in (conversion, hand-off)
        self.depth = None  # the camera's DepthInput (parameter depth), which pairs its frames

    def depth_values(self) -> dict:
        """Return the depth input's diagnostics values (none without depth)."""
        return {} if self.depth is None else self.depth.diagnostic_values()

    def warnings(self) -> list:
        """Return what diagnostics should warn about: incompatible publishers, recent losses."""
        warnings = []
        if self.incompatible_publishers:
            warnings.append(f'{self.incompatible_publishers} publisher(s) with incompatible QoS '
                            'on the input topic')
        if time.monotonic() - self.last_loss < LOSS_WARNING_S:
            warnings.append(f'the middleware lost {self.lost} input images so far (see the log, '
                            'or the README: Large raw images on one machine)')
        return warnings


NO_INPUT = InputCounts()  # a camera that opens its own source: nothing comes in by topic


class ImageInput(InputCounts):
    """
    The subscription of one camera and what it counts; put(frame, header) feeds the engine.

    convert_raw(msg, max_pixels) converts a sensor_msgs/Image (cv_bridge or numpy); the
    max_pixels callable returns the limit in force (max_image_pixels, live).
    """

    def __init__(self, node, camera: Camera, *, compressed: bool, reliability: str,
                 put: Callable, convert_raw: Callable, max_pixels: Callable[[], int],
                 callback_group=None) -> None:
        super().__init__()
        self._node = node
        self._camera = camera
        self._put = put
        self._max_pixels = max_pixels
        self._reliability = reliability
        msg_type, base, convert = ((CompressedImage, 'image/compressed',
                                    conversions.compressed_to_bgr) if compressed
                                   else (Image, 'image', convert_raw))
        self._convert = convert

        def subscribe(**events):
            return node.create_subscription(
                msg_type, camera.topic(base), self._ingest, image_qos(reliability),
                callback_group=callback_group, event_callbacks=SubscriptionEventCallbacks(
                    incompatible_qos=self._on_incompatible_qos, **events))

        try:
            self.subscription = subscribe(message_lost=self._on_message_lost)
        except UnsupportedEventTypeError:  # an rmw without message-lost events
            self.subscription = subscribe()

    @property
    def topic_name(self) -> str:
        return self.subscription.topic_name

    def destroy(self) -> None:
        self._node.destroy_subscription(self.subscription)
        if self.depth is not None:
            self.depth.destroy()

    def _ingest(self, msg) -> None:
        """
        Convert an image message and hand it to the engine; bad ones are counted, skipped.

        Nothing raised while converting or handing over may leave the callback: an error this
        code does not anticipate is counted and logged like a bad image.
        """
        started = time.perf_counter()
        try:
            frame = self._convert(msg, self._max_pixels())
            self._put(frame, msg.header)
        except conversions.ImageConversionError as exc:
            self._count_bad_image(exc)
            return
        except Exception as exc:  # noqa: BLE001 - input from outside never ends the node
            self._count_bad_image(f'{type(exc).__name__}: {exc}')
            return
        self.cost.add(started)

    def _count_bad_image(self, exc: object) -> None:
        self.bad_images += 1
        self.last_bad_image = str(exc)
        self._node.get_logger().warning(
            f'{self._camera.label}skipped a bad image ({self.bad_images} so far): {exc}',
            throttle_duration_sec=5.0)

    def _on_incompatible_qos(self, info) -> None:
        self.incompatible_publishers = info.total_count
        wanted = self._reliability
        hint = ('set the parameter image_reliability to best_effort (-p '
                'image_reliability:=best_effort, or the launch argument reliability:=best_effort '
                'of topic.launch.py), e.g. for a best-effort camera driver'
                if wanted == 'reliable' else "check the publisher's durability and deadline")
        self._node.get_logger().error(
            f'a publisher on {self._topic()} offers QoS incompatible with this '
            f'subscription ({wanted}, volatile, keep last 1): none of its images will arrive; '
            f'{hint} (incompatible policy: {qos_policy_name_from_kind(info.last_policy_kind)})')

    def _on_message_lost(self, info) -> None:
        lost = plausible_lost_count(info.total_count_change)
        if lost:
            self.lost += lost
            self.last_loss = time.monotonic()
            self._node.get_logger().warning(
                f'{self._camera.label}the middleware lost {self.lost} images on {self._topic()} '
                f'so far, before they reached this node; {lost_images_hint()}',
                throttle_duration_sec=30.0)
        elif info.total_count_change:
            self._node.get_logger().warning(
                f'the middleware reported an implausible lost-image count '
                f'({info.total_count_change}); not counted', throttle_duration_sec=60.0)

    def _topic(self) -> str:
        subscription = getattr(self, 'subscription', None)
        return subscription.topic_name if subscription is not None else 'the image topic'


__all__ = ['ImageInput', 'image_qos', 'InputCounts', 'NO_INPUT', 'plausible_lost_count']
