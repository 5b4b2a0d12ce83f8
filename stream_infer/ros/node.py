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

configure loads and warms up the model and creates the publishers (outputs.py); activate opens
the source (or subscribes to the image topic) and starts the engine; deactivate stops it;
cleanup releases the model. The engine's own threads do preprocess/predict/postprocess/track
and publish from the delivery thread; image callbacks only convert and hand the newest frame
over, so parameter and lifecycle services stay responsive under a MultiThreadedExecutor. The
process around it (signals, spinning) is main.py.

    >>> import rclpy                                                   # doctest: +SKIP
    >>> rclpy.init(); node = StreamInferNode()                         # doctest: +SKIP
    >>> node.trigger_configure(); node.trigger_activate()              # doctest: +SKIP
"""

import threading
import time
from typing import Any, Dict, Optional

from rcl_interfaces.msg import SetParametersResult
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.event_handler import SubscriptionEventCallbacks, UnsupportedEventTypeError
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from rclpy.qos import (DurabilityPolicy, HistoryPolicy, qos_policy_name_from_kind, QoSProfile,
                       ReliabilityPolicy)
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Header

from stream_infer.annotate import FrameAnnotator
from stream_infer.bundled import bundled_model_path
from stream_infer.detection import Detector
from stream_infer.errors import StreamInferError
from stream_infer.options import (
    ModelOptions, PostprocessOptions, ReconnectPolicy, SourceOptions, TrackerOptions)
from stream_infer.results import StreamResult
from stream_infer.ros import conversions
from stream_infer.ros.diagnostics import diagnostics_msg
from stream_infer.ros.outputs import CostMeter, header_for, NodeOutputs
from stream_infer.ros.parameters import (
    check_change, class_filter, descriptor, NodeOptions, options_from, PARAMS)
from stream_infer.stream import InferenceStream

NODE_NAME = 'stream_infer'
TRACKER_PARAMS = frozenset(p.name for p in PARAMS if p.target is TrackerOptions) | {'tracking'}
POSTPROCESS_PARAMS = frozenset(p.name for p in PARAMS if p.target is PostprocessOptions)
ANNOTATOR_PARAMS = frozenset(('annotated_traces', 'annotated_trace_length', 'annotated_labels'))


def image_qos(reliability: str) -> QoSProfile:
    """Subscription QoS: keep only the newest frame (REP-2003 sensor data by default)."""
    return QoSProfile(
        history=HistoryPolicy.KEEP_LAST, depth=1,
        reliability=(ReliabilityPolicy.RELIABLE if reliability == 'reliable'
                     else ReliabilityPolicy.BEST_EFFORT),
        durability=DurabilityPolicy.VOLATILE)


class StreamInferNode(LifecycleNode):
    """Lifecycle node running the stream_infer engine; see README 'Topics' and 'Parameters'."""

    def __init__(self, node_name: str = NODE_NAME, *, detector: Optional[Detector] = None,
                 **kwargs: Any) -> None:
        """
        Declare the parameters; nothing is loaded before configure.

        detector: a Detector to run instead of loading the `model` parameter, for processes
        that compose the node themselves (e.g. a Detector over an accelerator session they
        made, Detector(session=...)); the node never closes it. kwargs go to rclpy's Node.
        """
        super().__init__(node_name, **kwargs)
        self._given_detector = detector
        for p in PARAMS:
            self.declare_parameter(p.name, p.default, descriptor(p))
        self._state = 'unconfigured'
        self._lock = threading.RLock()
        self._detector: Optional[Detector] = None
        self._stream: Optional[InferenceStream] = None
        self._outputs: Optional[NodeOutputs] = None
        self._annotator: Optional[FrameAnnotator] = None
        self._subscription = None
        self._diag_timer = None
        self._images_group = MutuallyExclusiveCallbackGroup()
        self._timers_group = MutuallyExclusiveCallbackGroup()
        self._cv_bridge = conversions.load_cv_bridge()
        self._bad_images = 0
        self._last_bad_image = ''
        self._input_lost = 0  # images DDS reports lost before they reached the subscription
        self._incompatible_publishers = 0  # publishers on the input topic whose QoS can't match
        self._input_cost = CostMeter()  # the node's own cost per image in (conversion, hand-off)
        self._stream_state = 'idle'
        self.add_on_set_parameters_callback(self._validate_parameters)
        self.add_post_set_parameters_callback(self._apply_parameters)
        self.get_logger().info(
            'image conversion: ' + ('cv_bridge' if self._cv_bridge else 'numpy (no cv_bridge)'))

    # ---------------------------------------------------------------- parameters
    def _p(self, name: str) -> Any:
        return self.get_parameter(name).value

    def _options(self, changes: Optional[Dict[str, Any]] = None) -> Dict[type, Any]:
        """Every option object from the parameters (with changes applied on top)."""
        values = {p.name: self._p(p.name) for p in PARAMS}
        values.update(changes or {})
        return options_from(values)

    def _validate_parameters(self, params) -> SetParametersResult:
        changes = {p.name: p.value for p in params}
        reason = None
        for param in params:
            reason = check_change(param.name, param.value, self._state)
            if reason is None and param.name == 'classes' and self._detector is not None:
                try:
                    self._detector.resolve_classes(class_filter(param.value))
                except (StreamInferError, ValueError) as exc:
                    reason = str(exc)
            if reason is not None:
                break
        if reason is None:
            try:
                self._options(changes)  # rules between parameters, in parameter words
            except StreamInferError as exc:
                reason = str(exc)
        if reason is not None:
            self.get_logger().warning(f'rejected parameter change: {reason}')
            return SetParametersResult(successful=False, reason=reason)
        return SetParametersResult(successful=True)

    def _apply_parameters(self, params) -> None:
        names = {p.name for p in params}
        with self._lock:
            stream = self._stream
            if stream is not None and names & POSTPROCESS_PARAMS:
                stream.update_options(**self._postprocess_kwargs())
            if stream is not None and names & TRACKER_PARAMS:
                stream.set_tracking(self._p('tracking'), **self._tracker_kwargs())
            if names & ANNOTATOR_PARAMS:
                self._annotator = self._make_annotator()
            if 'confidence' in names:
                self._publish_label_info()

    def _postprocess_kwargs(self) -> dict:
        kwargs = vars(self._options()[PostprocessOptions]).copy()
        kwargs['classes'] = (self._detector.resolve_classes(class_filter(self._p('classes')))
                             if self._detector is not None else None)
        return kwargs

    def _tracker_kwargs(self) -> dict:
        return vars(self._options()[TrackerOptions]).copy()

    def _make_annotator(self) -> FrameAnnotator:
        node = self._options()[NodeOptions]
        return FrameAnnotator(traces=node.annotated_traces,
                              trace_length=node.annotated_trace_length,
                              labels=node.annotated_labels)

    # ---------------------------------------------------------------- lifecycle
    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        model = self._p('model') or str(bundled_model_path())
        try:
            options = self._options()[ModelOptions]
            if self._given_detector is not None:
                model = 'given to the node (parameter model not used)'
            self._detector = self._given_detector or Detector(
                model, layout=options.layout, providers=list(options.providers),
                threads=options.threads, labels=options.labels, spin_wait=options.spin_wait)
            self._detector.resolve_classes(class_filter(self._p('classes')))
        except (StreamInferError, OSError, ValueError) as exc:
            self.get_logger().error(f'configure failed: {exc}')
            self._detector = None
            return TransitionCallbackReturn.FAILURE
        self.get_logger().info(
            f'model {model} loaded on {self._detector.provider}, '
            f'{len(self._detector.class_names)} classes')
        self._outputs = NodeOutputs(
            self, source_image=bool(self._p('source') and self._p('publish_source_image')))
        self._publish_label_info()
        self._annotator = self._make_annotator()
        self._state = 'inactive'
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        source = self._p('source')
        try:
            options = self._options()
            playback = options[SourceOptions]
            stream = InferenceStream(
                source if source else None, self._detector,
                track=self._p('tracking'), tracker_options=options[TrackerOptions],
                enforce_fps=playback.enforce_fps, loop=playback.loop,
                reconnect=options[ReconnectPolicy], **self._postprocess_kwargs())
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
        return super().on_cleanup(state)

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._stop_stream()
        self._release()
        self._state = 'finalized'
        return super().on_shutdown(state)

    def on_error(self, state: LifecycleState) -> TransitionCallbackReturn:
        self.get_logger().error('error in a transition: stopping and releasing everything')
        self._stop_stream()
        self._release()
        self._state = 'unconfigured'
        return super().on_error(state)

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
        outputs, self._outputs = self._outputs, None
        if outputs is not None:
            outputs.destroy()
        if self._detector is not None and self._detector is not self._given_detector:
            self._detector.close()
        self._detector = None

    # ---------------------------------------------------------------- inputs
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
        self._input_cost.add(started)

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
    def _on_result(self, result: StreamResult) -> None:
        """Publish one prediction; runs on the engine's delivery thread."""
        outputs, detector = self._outputs, self._detector
        if outputs is None:
            return
        outputs.publish_result(
            result, header_for(result.frame, self._p('frame_id')),
            detector.class_names if detector is not None else [], self._p('class_id_format'),
            self._annotator)

    def _publish_label_info(self) -> None:
        outputs = self._outputs
        if outputs is not None:
            outputs.publish_label_info(
                self._detector.class_names if self._detector is not None else [],
                self._p('confidence'))

    def _event(self, text: str) -> None:
        self._stream_state = text
        self.get_logger().info(f'stream {text}')
        outputs = self._outputs
        if outputs is not None:
            outputs.publish_event(text)

    def _publish_diagnostics(self) -> None:
        stream, outputs = self._stream, self._outputs
        if stream is None or outputs is None:
            return
        outputs.diagnostics.publish(diagnostics_msg(
            self.get_fully_qualified_name(), stream.stats(), self._detector.provider,
            self._bad_images, self._last_bad_image, self.get_clock().now().to_msg(),
            warnings=([f'{self._incompatible_publishers} publisher(s) with incompatible QoS '
                       'on the input topic'] if self._incompatible_publishers else []),
            input_messages_lost=self._input_lost,
            input_incompatible_publishers=self._incompatible_publishers,
            annotated_published=outputs.annotated_published,
            node_input_ms=f'{self._input_cost.mean_ms:.3f}',
            node_output_ms=f'{outputs.cost.mean_ms:.3f}'))

    def shutdown_now(self) -> None:
        """Stop the engine and release everything, whatever the state (process exit)."""
        self._stop_stream()
        if self._outputs is not None:
            self._outputs.flush(timeout_s=1.0)
        self._release()

    def destroy_node(self) -> None:
        """Stop the engine (its threads and the source) before the node goes away."""
        self._stop_stream()
        self._release()
        super().destroy_node()
