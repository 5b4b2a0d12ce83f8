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
from typing import Any, Dict, List, Optional

from rcl_interfaces.msg import SetParametersResult
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.clock import Clock, ClockType
from rclpy.event_handler import SubscriptionEventCallbacks, UnsupportedEventTypeError
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from rclpy.parameter import Parameter
from rclpy.qos import (DurabilityPolicy, HistoryPolicy, qos_policy_name_from_kind, QoSProfile,
                       ReliabilityPolicy)
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Header

from stream_infer.annotate import FrameAnnotator
from stream_infer.bundled import bundled_model_path
from stream_infer.capture.config import CaptureOptions
from stream_infer.detection import Detector
from stream_infer.errors import ConfigurationError, StreamInferError
from stream_infer.malloc_tuning import large_blocks_on_mmap, release_free_memory
from stream_infer.options import (
    DecodeOptions, ModelOptions, PostprocessOptions, ReconnectPolicy, SourceOptions,
    TrackerOptions)
from stream_infer.results import StreamResult
from stream_infer.ros import conversions
from stream_infer.ros.capture_service import NodeCapture
from stream_infer.ros.diagnostics import diagnostics_msg
from stream_infer.ros.outputs import CostMeter, header_for, NodeOutputs
from stream_infer.ros.parameters import (
    check_change, class_filter, descriptor, foreign_names, is_array, NodeOptions,
    normalized_value, options_from, PARAMS, startup_values)
from stream_infer.sources.credentials import file_is_private, has_credentials, with_credentials
from stream_infer.sources.image_decoding import quiet_opencv_logs
from stream_infer.stream import InferenceStream

NODE_NAME = 'stream_infer'
TRACKER_PARAMS = frozenset(p.name for p in PARAMS if p.target is TrackerOptions) | {'tracking'}
POSTPROCESS_PARAMS = frozenset(p.name for p in PARAMS if p.target is PostprocessOptions)
ANNOTATOR_PARAMS = frozenset(('annotated_traces', 'annotated_trace_length', 'annotated_labels'))
CAPTURE_PARAMS = frozenset(p.name for p in PARAMS if p.target is CaptureOptions)
ENDED_REASONS = ('ended', 'failed', 'error')  # stop reasons that leave an active node idle


class StartupError(ConfigurationError):
    """A start-up parameter value was refused (already logged); the process exits with 2."""


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
    more than 2**31 messages: not a count of images, and never added to the diagnostics.

        >>> plausible_lost_count(3), plausible_lost_count(18446744071562067979)
        (3, 0)
    """
    change = int(change)
    return change if 0 < change < 2 ** 31 else 0


class StreamInferNode(LifecycleNode):
    """Lifecycle node running the stream_infer engine; see README 'Topics' and 'Parameters'."""

    def __init__(self, node_name: str = NODE_NAME, **kwargs: Any) -> None:
        super().__init__(node_name, **kwargs)
        self._declare_parameters()
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
        self._max_image_pixels = self._p('max_image_pixels')
        self._credentials_warned = False
        self._incompatible_publishers = 0  # publishers on the input topic whose QoS can't match
        self._input_cost = CostMeter()  # the node's own cost per image in (conversion, hand-off)
        self._stream_state = 'idle'
        self._capture = NodeCapture(self)  # hard examples; ~/capture
        self._set_call = threading.local()  # what the set being applied changes (names)
        self.add_pre_set_parameters_callback(self._normalize_parameters)
        self.add_on_set_parameters_callback(self._validate_parameters)
        self.add_post_set_parameters_callback(self._apply_parameters)
        quiet_opencv_logs()  # bad images are counted and logged here, throttled
        change_state = getattr(self, '_service_change_state', None)
        if change_state is not None:  # rclpy raises on ids not valid in the current state
            change_state.callback = self._on_change_state
        self.get_logger().info(
            'image conversion: ' + ('cv_bridge' if self._cv_bridge else 'numpy (no cv_bridge)'))

    # ---------------------------------------------------------------- parameters
    def _declare_parameters(self) -> None:
        """
        Declare every parameter with its checked start-up value (override or default).

        Overrides (-p, params files) get the checks a runtime set gets, before rclpy applies
        the descriptors' ranges; a refused one is logged in one line and raises StartupError.
        """
        overrides = {name: p.value for name, p in getattr(self, '_parameter_overrides',
                                                          {}).items()}
        try:
            values = startup_values(overrides)
        except ConfigurationError as exc:
            self.get_logger().error(f'cannot start: {exc}')
            super().destroy_node()
            raise StartupError(str(exc)) from None
        unknown = foreign_names(list(overrides))
        if unknown:
            self.get_logger().warning(f'ignoring parameters this node does not have: '
                                      f'{", ".join(unknown)} (ros2 param list shows its own)')
        empty_arrays = []
        for p in PARAMS:
            value = values[p.name]
            if is_array(value) and len(value) == 0:  # rclpy would type [] as a byte array
                empty_arrays.append(Parameter(p.name, Parameter.Type.STRING_ARRAY, []))
                value = p.default
            self.declare_parameter(p.name, value, descriptor(p), ignore_override=True)
        if empty_arrays:
            self.set_parameters(empty_arrays)

    def _p(self, name: str) -> Any:
        return self.get_parameter(name).value

    def _normalize_parameters(self, params: List[Parameter]) -> List[Parameter]:
        """Pre-set: an empty array of any type, or integer indices, for `classes`."""
        out = []
        for param in params:
            value = normalized_value(param.name, param.value)
            out.append(param if value is param.value
                       else Parameter(param.name, Parameter.Type.STRING_ARRAY, value))
        return out

    def _unchanged(self, param: Parameter) -> bool:
        """Return True when param sets a parameter to the value (and type) it has now."""
        if not self.has_parameter(param.name):
            return False
        current = self.get_parameter(param.name)
        if current.type_ != param.type_:
            return False
        old, new = current.value, param.value
        return list(old) == list(new) if is_array(old) and is_array(new) else old == new

    def _options(self, changes: Optional[Dict[str, Any]] = None) -> Dict[type, Any]:
        """Every option object from the parameters (with changes applied on top)."""
        values = {p.name: self._p(p.name) for p in PARAMS}
        values.update(changes or {})
        return options_from(values)

    def _validate_parameters(self, params) -> SetParametersResult:
        """On-set callback: accept exactly what can be applied; never raises."""
        # A set that changes nothing succeeds in any state (ros2 param load of a dump).
        params = [p for p in params if not self._unchanged(p)]
        self._set_call.changed = {p.name for p in params}
        try:
            reason = self._why_refused(params)
        except Exception as exc:  # noqa: BLE001 - a parameter set must never end the node
            reason = f'could not check the change: {type(exc).__name__}: {exc}'
        if reason is not None:
            self.get_logger().warning(f'rejected parameter change: {reason}')
            return SetParametersResult(successful=False, reason=reason)
        if any(p.name == 'source' and has_credentials(str(p.value)) for p in params):
            self._warn_credentials()
        return SetParametersResult(successful=True)

    def _why_refused(self, params) -> Optional[str]:
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
        return reason

    def _apply_parameters(self, params) -> None:
        """Post-set callback: apply what changed; never raises (errors are logged)."""
        names = {p.name for p in params} & getattr(self._set_call, 'changed', set())
        self._set_call.changed = set()
        try:
            self._apply(names)
        except Exception as exc:  # noqa: BLE001 - a parameter set must never end the node
            self.get_logger().error(
                f'applying {", ".join(sorted(names))} failed: {type(exc).__name__}: {exc}')

    def _apply(self, names: set) -> None:
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
            if 'max_image_pixels' in names:
                self._max_image_pixels = self._options()[DecodeOptions].max_image_pixels
            if stream is not None and names & CAPTURE_PARAMS:
                self._start_capture(stream, self._options()[CaptureOptions])
            timer = self._diag_timer
            if 'diagnostics_period' in names and timer is not None:
                timer.timer_period_ns = int(self._p('diagnostics_period') * 1e9)
                timer.reset()  # the new period counts from now

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
            with large_blocks_on_mmap():  # released in full at cleanup (malloc_tuning)
                self._detector = Detector(
                    model, layout=options.layout, providers=list(options.providers),
                    threads=options.threads, labels=options.labels)
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
            if has_credentials(source):
                self._warn_credentials()
            if source and self._p('source_credentials_file'):
                source = self._source_with_credentials(source)
            options = self._options()
            playback = options[SourceOptions]
            stream = InferenceStream(
                source if source else None, self._detector,
                track=self._p('tracking'), tracker_options=options[TrackerOptions],
                enforce_fps=playback.enforce_fps, loop=playback.loop,
                reconnect=options[ReconnectPolicy], clock=self._now_seconds,
                **self._postprocess_kwargs())
            stream.on_result(self._on_result)
            stream.on_result(self._capture)
            stream.on_start(lambda *_: self._event('started'))
            stream.on_stop(self._on_stream_stop)
            self._start_capture(stream, options[CaptureOptions])
            stream.start()
        except (StreamInferError, OSError, ValueError) as exc:
            self.get_logger().error(f'activate failed: {exc}')
            self._capture.stop()
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
        self._diag_timer = self.create_timer(  # steady: flows without /clock (use_sim_time)
            self._p('diagnostics_period'), self._publish_diagnostics,
            callback_group=self._timers_group, clock=Clock(clock_type=ClockType.STEADY_TIME))
        self._state = 'active'
        return super().on_activate(state)

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._stop_stream()
        self._state = 'inactive'
        return super().on_deactivate(state)

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._release()
        release_free_memory()  # the model's freed memory goes back to the system
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

    def _on_change_state(self, request, response):
        """
        Answer ChangeState: a transition that is not valid now is refused, never raised.

        rclpy (Jazzy) looks a transition id up in the current state and raises RCLError
        'Transition is not registered' when it is not there, which ends the executor;
        lifecycle managers send ids, so an id sent in the wrong state is answered
        success=false and the node stays where it is (labels were already handled so).
        """
        try:
            transition = request.transition
            if not transition.label:
                valid = {t[0]: t[1] for t in self._state_machine.available_transitions}
                if transition.id not in valid:
                    state = self._state_machine.current_state[1]
                    self.get_logger().warning(
                        f'change_state: transition id {transition.id} is not valid in state '
                        f'{state!r} (valid here: '
                        f'{", ".join(f"{label} ({tid})" for tid, label in valid.items())}); '
                        'refused')
                    response.success = False
                    return response
            return self._LifecycleNodeMixin__on_change_state(request, response)
        except Exception as exc:  # noqa: BLE001 - a service request must never end the node
            self.get_logger().error(f'change_state request failed: {type(exc).__name__}: {exc}')
            response.success = False
            return response

    def _warn_credentials(self) -> None:
        if not self._credentials_warned:
            self._credentials_warned = True
            self.get_logger().warning(
                'parameter source carries credentials: every node can read them '
                '(/parameter_events, get_parameters) although logs and diagnostics hide them; '
                'put user:password in a file readable only by this user and set '
                'source_credentials_file instead')

    def _source_with_credentials(self, source: str) -> str:
        path = self._p('source_credentials_file')
        if not file_is_private(path):
            self.get_logger().warning(
                f'credentials file {path} is readable by other users: chmod 600 it')
        return with_credentials(source, path)

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
        hint = ('set the parameter image_reliability to best_effort (-p '
                'image_reliability:=best_effort, or the launch argument reliability:=best_effort '
                'of topic.launch.py), e.g. for a best-effort camera driver'
                if wanted == 'reliable' else "check the publisher's durability and deadline")
        self.get_logger().error(
            f'a publisher on {self._subscription_topic()} offers QoS incompatible with this '
            f'subscription ({wanted}, volatile, keep last 1): none of its images will arrive; '
            f'{hint} (incompatible policy: {qos_policy_name_from_kind(info.last_policy_kind)})')

    def _on_message_lost(self, info) -> None:
        lost = plausible_lost_count(info.total_count_change)
        if lost:
            self._input_lost += lost
        elif info.total_count_change:
            self.get_logger().warning(
                f'the middleware reported an implausible lost-image count '
                f'({info.total_count_change}); not counted', throttle_duration_sec=60.0)

    def _subscription_topic(self) -> str:
        subscription = self._subscription
        return subscription.topic_name if subscription is not None else 'the image topic'

    def _start_capture(self, stream: InferenceStream, options: CaptureOptions) -> None:
        """(Re)start capture; the manifest names the topic or the (redacted) source."""
        source = (stream.source_description if self._p('source')
                  else self.resolve_topic_name('image'))
        self._capture.start(options, self._detector.class_names, source)

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
        self._capture.stop()  # after the stream: the last frames are still looked at

    def _release(self) -> None:
        outputs, self._outputs = self._outputs, None
        if outputs is not None:
            outputs.destroy()
        if self._detector is not None:
            self._detector.close()
            self._detector = None

    # ---------------------------------------------------------------- inputs
    def _on_image(self, msg: Image) -> None:
        self._ingest(msg, self._image_to_bgr)

    def _on_compressed(self, msg: CompressedImage) -> None:
        self._ingest(msg, conversions.compressed_to_bgr)

    def _image_to_bgr(self, msg: Image, max_pixels: int):
        if self._cv_bridge is not None:
            return conversions.image_to_bgr_cv_bridge(self._cv_bridge, msg, max_pixels)
        return conversions.image_to_bgr(msg, max_pixels)

    def _ingest(self, msg, convert) -> None:
        """
        Convert an image message and hand it to the engine; bad ones are counted, skipped.

        Nothing raised while converting or handing over may leave the callback: an error this
        code does not anticipate is counted and logged like a bad image.
        """
        started = time.perf_counter()
        try:
            frame = convert(msg, self._max_image_pixels)
            self._put(frame, msg.header)
        except conversions.ImageConversionError as exc:
            self._count_bad_image(exc)
            return
        except Exception as exc:  # noqa: BLE001 - input from outside never ends the node
            self._count_bad_image(f'{type(exc).__name__}: {exc}')
            return
        self._input_cost.add(started)

    def _put(self, frame, header: Header) -> None:
        stream = self._stream
        if stream is not None:
            stamp = header.stamp.sec + header.stamp.nanosec * 1e-9
            stream.put_frame(frame, timestamp=stamp or None, meta=header)

    def _count_bad_image(self, exc: object) -> None:
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
            self._annotator, self._p('annotated_jpeg_quality'))

    def _now_seconds(self) -> float:
        """Return the node's clock in seconds (sim time with use_sim_time): frame stamps."""
        return self.get_clock().now().nanoseconds * 1e-9

    def _on_stream_stop(self, stats) -> None:
        """Publish 'stopped: <reason>'; a source that ended leaves the node active but idle."""
        reason = stats.stop_reason
        if reason in ENDED_REASONS and self._state == 'active':
            self.get_logger().warning(
                f'stream from {stats.source} stopped ({reason}); the node stays active with '
                'nothing to process: ros2 lifecycle set <node> deactivate, then activate, starts '
                'it again' + (' (or set loop: true for files)' if reason == 'ended' else ''))
        self._event(f'stopped: {reason}')

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
                       'on the input topic'] if self._incompatible_publishers else [])
            + self._capture.warnings(),
            input_messages_lost=self._input_lost,
            input_incompatible_publishers=self._incompatible_publishers,
            annotated_published=outputs.annotated_published,
            annotated_compressed_published=outputs.annotated_compressed_published,
            node_input_ms=f'{self._input_cost.mean_ms:.3f}',
            node_output_ms=f'{outputs.cost.mean_ms:.3f}',
            **self._capture.diagnostic_values()))

    def shutdown_now(self) -> None:
        """Stop the engine and release everything, whatever the state (process exit)."""
        self._stop_stream()
        if self._outputs is not None:
            self._outputs.flush(timeout_s=0.5)
        self._release()

    def destroy_node(self) -> None:
        """Stop the engine (its threads and the source) before the node goes away."""
        self._stop_stream()
        self._release()
        super().destroy_node()
