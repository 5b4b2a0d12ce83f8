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
The stream_infer lifecycle node: frames in, vision_msgs detections out.

configure loads and warms up the model and creates the publishers; activate opens the source
(or subscribes to the image topic) and starts the engine; deactivate stops it; cleanup releases
the model. The engine's own threads do preprocess/predict/postprocess/track and publish from the
inference thread; image callbacks only convert and hand the newest frame over, so parameter and
lifecycle services stay responsive under a MultiThreadedExecutor.
"""

import signal
import threading
import time
from typing import Optional

from diagnostic_msgs.msg import DiagnosticArray
from rcl_interfaces.msg import SetParametersResult
import rclpy
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.duration import Duration
from rclpy.event_handler import SubscriptionEventCallbacks, UnsupportedEventTypeError
from rclpy.exceptions import InvalidHandle
from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from rclpy.qos import (DurabilityPolicy, HistoryPolicy, qos_policy_name_from_kind, QoSProfile,
                       ReliabilityPolicy)
from rclpy.signals import SignalHandlerOptions
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Header, String
from vision_msgs.msg import Detection2DArray, LabelInfo

from stream_infer.annotate import FrameAnnotator
from stream_infer.defaults import bundled_model_path
from stream_infer.detector import Detector
from stream_infer.errors import StreamInferError
from stream_infer.ros import conversions
from stream_infer.ros.diagnostics import diagnostics_msg
from stream_infer.ros.parameters import check_change, class_filter, descriptor, PARAMS
from stream_infer.stream import InferenceStream

NODE_NAME = 'stream_infer'
# Outputs are reliable so both reliable (rviz, rqt) and best-effort subscribers match; a short
# history so a slow subscriber never makes latency grow.
DETECTIONS_QOS = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
IMAGE_OUT_QOS = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE)
LATCHED_QOS = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                         durability=DurabilityPolicy.TRANSIENT_LOCAL)
EVENTS_QOS = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE,
                        durability=DurabilityPolicy.TRANSIENT_LOCAL)
TRACKER_PARAMS = {
    'track_activation_threshold': 'track_activation_threshold',
    'lost_track_buffer': 'lost_track_buffer',
    'minimum_matching_threshold': 'minimum_matching_threshold',
    'minimum_consecutive_frames': 'minimum_consecutive_frames',
    'track_frame_rate': 'frame_rate',
}
POSTPROCESS_PARAMS = {
    'confidence': 'confidence',
    'iou_threshold': 'iou_threshold',
    'class_agnostic_nms': 'class_agnostic',
    'max_candidates': 'max_candidates',
    'max_detections': 'max_detections',
}


def image_qos(reliability: str) -> QoSProfile:
    """Subscription QoS: keep only the newest frame (REP-2003 sensor data by default)."""
    return QoSProfile(
        history=HistoryPolicy.KEEP_LAST, depth=1,
        reliability=(ReliabilityPolicy.RELIABLE if reliability == 'reliable'
                     else ReliabilityPolicy.BEST_EFFORT),
        durability=DurabilityPolicy.VOLATILE)


class StreamInferNode(LifecycleNode):
    """Lifecycle node running the stream_infer engine; see README 'Topics' and 'Parameters'."""

    def __init__(self, node_name: str = NODE_NAME, **kwargs) -> None:
        super().__init__(node_name, **kwargs)
        for p in PARAMS:
            self.declare_parameter(p.name, p.default, descriptor(p))
        self._state = 'unconfigured'
        self._lock = threading.RLock()
        self._detector: Optional[Detector] = None
        self._stream: Optional[InferenceStream] = None
        self._annotator: Optional[FrameAnnotator] = None
        self._subscription = None
        self._diag_timer = None
        self._pubs = {}
        self._images_group = MutuallyExclusiveCallbackGroup()
        self._timers_group = MutuallyExclusiveCallbackGroup()
        self._cv_bridge = conversions.load_cv_bridge()
        self._bad_images = 0
        self._input_lost = 0  # images DDS reports lost before they reached the subscription
        self._incompatible_publishers = 0  # publishers on the input topic whose QoS can't match
        self._annotated_published = 0
        # the node's own cost per frame (excluding the model): image callback, publishing
        self._cost_ms = {'input': [0.0, 0], 'output': [0.0, 0]}
        self._last_bad_image = ''
        self._stream_state = 'idle'
        self.add_on_set_parameters_callback(self._validate_parameters)
        self.add_post_set_parameters_callback(self._apply_parameters)
        self.get_logger().info(
            'image conversion: ' + ('cv_bridge' if self._cv_bridge else 'numpy (no cv_bridge)'))

    # ---------------------------------------------------------------- parameters
    def _p(self, name: str):
        return self.get_parameter(name).value

    def _validate_parameters(self, params) -> SetParametersResult:
        for param in params:
            reason = check_change(param.name, param.value, self._state)
            if reason is None and param.name == 'classes' and self._detector is not None:
                try:
                    self._detector.resolve_classes(class_filter(param.value))
                except (StreamInferError, ValueError) as exc:
                    reason = str(exc)
            if reason is not None:
                self.get_logger().warning(f'rejected parameter change: {reason}')
                return SetParametersResult(successful=False, reason=reason)
        return SetParametersResult(successful=True)

    def _apply_parameters(self, params) -> None:
        names = {p.name for p in params}
        with self._lock:
            stream = self._stream
            if stream is not None and names & (set(POSTPROCESS_PARAMS) | {'classes'}):
                stream.update_options(**self._postprocess_kwargs())
            if stream is not None and names & (set(TRACKER_PARAMS) | {'tracking'}):
                stream.set_tracking(self._p('tracking'), **self._tracker_kwargs())
            if names & {'annotated_traces', 'annotated_trace_length', 'annotated_labels'}:
                self._annotator = self._make_annotator()
            if 'confidence' in names and 'label_info' in self._pubs:
                self._publish_label_info()

    def _postprocess_kwargs(self) -> dict:
        kwargs = {field: self._p(name) for name, field in POSTPROCESS_PARAMS.items()}
        kwargs['classes'] = (self._detector.resolve_classes(class_filter(self._p('classes')))
                             if self._detector is not None else None)
        return kwargs

    def _tracker_kwargs(self) -> dict:
        return {field: self._p(name) for name, field in TRACKER_PARAMS.items()}

    def _make_annotator(self) -> FrameAnnotator:
        return FrameAnnotator(traces=self._p('annotated_traces'),
                              trace_length=self._p('annotated_trace_length'),
                              labels=self._p('annotated_labels'))

    # ---------------------------------------------------------------- lifecycle
    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        model = self._p('model') or str(bundled_model_path())
        try:
            self._detector = Detector(
                model, layout=self._p('layout'), providers=list(self._p('providers')),
                threads=self._p('threads') or None, labels=self._p('labels') or None)
            self._detector.resolve_classes(class_filter(self._p('classes')))
        except (StreamInferError, OSError, ValueError) as exc:
            self.get_logger().error(f'configure failed: {exc}')
            self._detector = None
            return TransitionCallbackReturn.FAILURE
        self.get_logger().info(
            f'model {model} loaded on {self._detector.provider}, '
            f'{len(self._detector.class_names)} classes')
        self._pubs = {
            'detections': self.create_lifecycle_publisher(
                Detection2DArray, 'detections', DETECTIONS_QOS),
            'annotated': self.create_lifecycle_publisher(Image, 'annotated', IMAGE_OUT_QOS),
            'label_info': self.create_publisher(LabelInfo, 'label_info', LATCHED_QOS),
            'diagnostics': self.create_publisher(DiagnosticArray, '/diagnostics', 10),
            'events': self.create_publisher(String, '~/stream_events', EVENTS_QOS),
        }
        if self._p('source') and self._p('publish_source_image'):
            self._pubs['image_raw'] = self.create_lifecycle_publisher(
                Image, 'image_raw', IMAGE_OUT_QOS)
        self._publish_label_info()
        self._annotator = self._make_annotator()
        self._state = 'inactive'
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        source = self._p('source')
        try:
            stream = InferenceStream(
                source if source else None, self._detector,
                track=self._p('tracking'), tracker_options=self._tracker_kwargs(),
                enforce_fps=self._p('enforce_fps'), loop=self._p('loop'),
                reconnect_delay=self._p('reconnect_delay'),
                reconnect_max_delay=self._p('reconnect_max_delay'),
                **self._postprocess_kwargs())
            stream.on_result(self._on_result)
            stream.on_start(lambda *_: self._event('started'))
            stream.on_stop(lambda *_: self._event('stopped'))
            stream.start()
        except (StreamInferError, OSError, ValueError) as exc:
            self.get_logger().error(f'activate failed: {exc}')
            return TransitionCallbackReturn.FAILURE
        with self._lock:
            self._stream = stream
        if not source:
            self._subscription = self._subscribe_images()
            self.get_logger().info(
                f'subscribed to {self._subscription.topic_name} '
                f'({self._p("image_reliability")}, keep last 1)')
        else:
            self.get_logger().info(f'streaming from {stream.source_description}')
        self._diag_timer = self.create_timer(
            self._p('diagnostics_period'), self._publish_diagnostics,
            callback_group=self._timers_group)
        self._state = 'active'
        return super().on_activate(state)

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._stop_stream()
        self._state = 'inactive'
        return super().on_deactivate(state)

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._release()
        self._state = 'unconfigured'
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._stop_stream()
        self._release()
        self._state = 'finalized'
        return TransitionCallbackReturn.SUCCESS

    def on_error(self, state: LifecycleState) -> TransitionCallbackReturn:
        self.get_logger().error('error in a transition: stopping and releasing everything')
        self._stop_stream()
        self._release()
        self._state = 'unconfigured'
        return TransitionCallbackReturn.SUCCESS

    def _subscribe_images(self):
        """Subscribe to image or image/compressed, watching for QoS mismatches and losses."""
        compressed = self._p('image_transport') == 'compressed'
        self._input_lost = self._incompatible_publishers = 0
        msg_type, topic, callback = ((CompressedImage, 'image/compressed', self._on_compressed)
                                     if compressed else (Image, 'image', self._on_image))

        def subscribe(**events):
            return self.create_subscription(
                msg_type, topic, callback, image_qos(self._p('image_reliability')),
                callback_group=self._images_group, event_callbacks=SubscriptionEventCallbacks(
                    incompatible_qos=self._on_incompatible_qos, **events))

        try:
            return subscribe(message_lost=self._on_message_lost)
        except UnsupportedEventTypeError:  # an rmw without message-lost events
            return subscribe()

    def _on_incompatible_qos(self, info) -> None:
        self._incompatible_publishers = info.total_count
        wanted = self._p('image_reliability')
        hint = ('set image_reliability:=best_effort (e.g. for a best-effort camera driver)'
                if wanted == 'reliable' else "check the publisher's durability and deadline")
        self.get_logger().error(
            f'a publisher on {self._subscription_topic()} offers QoS incompatible with this '
            f'subscription ({wanted}, volatile, keep last 1): none of its images will arrive; '
            f'{hint} (incompatible policy: {qos_policy_name_from_kind(info.last_policy_kind)})')

    def _on_message_lost(self, info) -> None:
        self._input_lost = info.total_count

    def _subscription_topic(self) -> str:
        subscription = self._subscription
        return subscription.topic_name if subscription is not None else 'the image topic'

    def _stop_stream(self) -> None:
        if self._subscription is not None:
            self.destroy_subscription(self._subscription)
            self._subscription = None
        if self._diag_timer is not None:
            self.destroy_timer(self._diag_timer)
            self._diag_timer = None
        with self._lock:
            stream, self._stream = self._stream, None
        if stream is not None:
            stream.stop()

    def _release(self) -> None:
        for name, pub in self._pubs.items():
            if name in ('detections', 'annotated', 'image_raw'):
                self.destroy_lifecycle_publisher(pub)
            else:
                self.destroy_publisher(pub)
        self._pubs = {}
        if self._detector is not None:
            self._detector.close()
            self._detector = None

    # ---------------------------------------------------------------- inputs
    def _add_cost(self, key: str, started: float) -> None:
        total = self._cost_ms[key]
        total[0] += (time.perf_counter() - started) * 1e3
        total[1] += 1

    def _on_image(self, msg: Image) -> None:
        self._ingest(msg, self._image_to_bgr)

    def _on_compressed(self, msg: CompressedImage) -> None:
        self._ingest(msg, conversions.compressed_to_bgr)

    def _image_to_bgr(self, msg: Image):
        if self._cv_bridge is not None:
            return conversions.image_to_bgr_cv_bridge(self._cv_bridge, msg)
        return conversions.image_to_bgr(msg)

    def _ingest(self, msg, convert) -> None:
        """Convert an image message and hand it to the engine; bad ones are counted, skipped."""
        started = time.perf_counter()
        try:
            frame = convert(msg)
        except conversions.ImageConversionError as exc:
            self._count_bad_image(exc)
            return
        self._put(frame, msg.header)
        self._add_cost('input', started)

    def _put(self, frame, header: Header) -> None:
        stream = self._stream
        if stream is not None:
            stamp = header.stamp.sec + header.stamp.nanosec * 1e-9
            stream.put_frame(frame, timestamp=stamp or None, meta=header)

    def _count_bad_image(self, exc: Exception) -> None:
        self._bad_images += 1
        self._last_bad_image = str(exc)
        self.get_logger().warning(
            f'skipped a bad image ({self._bad_images} so far): {exc}', throttle_duration_sec=5.0)

    # ---------------------------------------------------------------- outputs
    def _header_for(self, frame) -> Header:
        if isinstance(frame.meta, Header):
            return frame.meta
        return Header(stamp=conversions.stamp_from_seconds(frame.timestamp),
                      frame_id=self._p('frame_id'))

    def _on_result(self, result) -> None:
        """Publish one prediction; runs on the engine's inference thread."""
        started = time.perf_counter()
        pubs = self._pubs
        if 'detections' not in pubs:
            return
        header = self._header_for(result.frame)
        pubs['detections'].publish(conversions.detections_to_msg(
            result.detections, header, self._detector.class_names if self._detector else [],
            self._p('class_id_format')))
        annotated = pubs['annotated']
        if annotated.get_subscription_count() > 0 and self._annotator is not None:
            image = self._annotator.annotate(result.frame.image, result.detections)
            annotated.publish(conversions.bgr_to_image(image, header))
            self._annotated_published += 1
        raw = pubs.get('image_raw')
        if raw is not None and raw.get_subscription_count() > 0:
            raw.publish(conversions.bgr_to_image(result.frame.image, header))
        self._add_cost('output', started)

    def _publish_label_info(self) -> None:
        names = self._detector.class_names if self._detector is not None else []
        self._pubs['label_info'].publish(conversions.label_info_msg(
            names, self._p('confidence'), Header(stamp=self.get_clock().now().to_msg())))

    def _event(self, text: str) -> None:
        self._stream_state = text
        self.get_logger().info(f'stream {text}')
        pub = self._pubs.get('events')
        if pub is not None and self.context.ok():
            try:
                pub.publish(String(data=text))
            except RuntimeError as exc:  # RCLError: the context went down meanwhile
                self.get_logger().debug(f'stream event {text!r} not published: {exc}')

    def _publish_diagnostics(self) -> None:
        stream = self._stream
        if stream is None or 'diagnostics' not in self._pubs:
            return
        self._pubs['diagnostics'].publish(diagnostics_msg(
            self.get_fully_qualified_name(), stream.stats(), self._detector.provider,
            self._bad_images, self._last_bad_image, self.get_clock().now().to_msg(),
            warnings=([f'{self._incompatible_publishers} publisher(s) with incompatible QoS '
                       'on the input topic'] if self._incompatible_publishers else []),
            input_messages_lost=self._input_lost,
            input_incompatible_publishers=self._incompatible_publishers,
            annotated_published=self._annotated_published,
            **{f'node_{key}_ms': f'{total / max(count, 1):.3f}'
               for key, (total, count) in self._cost_ms.items()}))

    def shutdown_now(self) -> None:
        """Stop the engine and release everything, whatever the state (process exit)."""
        self._stop_stream()
        self._flush(('events', 'detections'), timeout_s=1.0)
        self._release()

    def destroy_node(self) -> None:
        """Stop the engine (its threads and the source) before the node goes away."""
        self._stop_stream()
        self._release()
        super().destroy_node()

    def _flush(self, names, timeout_s: float) -> None:
        """Wait (bounded) until reliable subscribers acknowledge what was published."""
        # Without this the process can exit before DDS delivers the last messages ('stopped').
        deadline = time.monotonic() + timeout_s
        for name in names:
            pub = self._pubs.get(name)
            if pub is not None and self.context.ok():
                remaining = max(0.0, deadline - time.monotonic())
                if not pub.wait_for_all_acked(Duration(nanoseconds=int(remaining * 1e9))):
                    self.get_logger().debug(f'{name}: not every subscriber acknowledged')


def spin_until_shutdown(executor, context=None, slice_s: float = 0.2) -> None:
    """
    Spin in short slices until the context shuts down (signals are noticed between slices).

    rclpy's executors (7.1 on Jazzy, 9.1 on Kilted) can raise InvalidHandle while building a
    wait set when another thread destroys a subscription's QoS event handler at that moment
    (our deactivate does, from a service callback). The wait set is rebuilt on the next
    slice, so that error is skipped instead of ending the node.
    """
    context = context or executor.context
    while context.ok():
        try:
            executor.spin_once(timeout_sec=slice_s)
        except InvalidHandle:
            continue
        except ExternalShutdownException:  # the context went down while waiting
            return


def _raise_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def main(args=None) -> int:
    """
    Entry point `stream_infer_node` (ros2 run / launch).

    SIGINT and SIGTERM are handled here rather than by rclpy, so the stream is stopped (and
    its 'stopped' event published) while the ROS context is still up; the executor spins in
    short slices so the signal is noticed promptly.
    """
    rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)
    signal.signal(signal.SIGINT, _raise_interrupt)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    node = StreamInferNode()
    executor = MultiThreadedExecutor(num_threads=4)
    executor.add_node(node)
    code = 0
    try:
        if node.get_parameter('autostart').value:
            if node.trigger_configure() != TransitionCallbackReturn.SUCCESS:
                node.get_logger().error('autostart: configure failed (see above); the node stays '
                                        'unconfigured: fix the parameters and configure again')
            elif node.trigger_activate() != TransitionCallbackReturn.SUCCESS:
                node.get_logger().error('autostart: activate failed (see above); the node stays '
                                        'inactive: fix the parameters and activate again')
        spin_until_shutdown(executor)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.shutdown_now()
        executor.shutdown(timeout_sec=1.0)
        node.destroy_node()
        rclpy.try_shutdown()
    return code


if __name__ == '__main__':
    raise SystemExit(main())
