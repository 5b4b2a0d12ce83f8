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
cleanup releases the model. With `cameras` one node serves several cameras with the one model
(cameras.py): each has its own source or subscription (image_input.py), topics, frame_id,
stream events and diagnostics entry; the lifecycle is the node's. The engine's own threads do
preprocess/predict/postprocess/track and publish from the delivery thread; image callbacks
only convert and hand the newest frame over, so one executor thread serves images, parameters
and transitions (main.make_executor; the node also works under a MultiThreadedExecutor). The
process around it (signals, spinning) is main.py.

    >>> import rclpy                                                   # doctest: +SKIP
    >>> rclpy.init(); node = StreamInferNode()                         # doctest: +SKIP
    >>> node.trigger_configure(); node.trigger_activate()              # doctest: +SKIP
"""

import functools
import threading
from typing import Any, Dict, List, Optional

from rcl_interfaces.msg import SetParametersResult
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.clock import Clock, ClockType
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from rclpy.parameter import Parameter
from sensor_msgs.msg import Image
from std_msgs.msg import Header

from stream_infer.annotate import FrameAnnotator
from stream_infer.bundled import bundled_model_path
from stream_infer.capture.config import CaptureOptions
from stream_infer.detection import Detector
from stream_infer.errors import ConfigurationError, StreamInferError
from stream_infer.malloc_tuning import large_blocks_on_mmap, release_free_memory
from stream_infer.options import (
    DecodeOptions, DepthOptions, ModelOptions, PostprocessOptions, ReconnectPolicy,
    SourceOptions, TrackerOptions)
from stream_infer.results import StreamResult
from stream_infer.ros import conversions
from stream_infer.ros.cameras import Camera, CameraOptions, cameras_of
from stream_infer.ros.capture_service import NodeCapture
from stream_infer.ros.change_state import answer_change_state
from stream_infer.ros.depth_input import DepthInput
from stream_infer.ros.diagnostics import diagnostic_status, diagnostics_array
from stream_infer.ros.image_input import ImageInput, NO_INPUT
from stream_infer.ros.outputs import header_for, NodeOutputs
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
        self._declare_parameters()
        self._state = 'unconfigured'
        self._lock = threading.RLock()
        self._detector: Optional[Detector] = None
        self._stream: Optional[InferenceStream] = None
        self._outputs: Optional[NodeOutputs] = None
        self._cameras: Dict[str, Camera] = {}  # those of the current run, by name
        self._inputs: Dict[str, ImageInput] = {}  # the cameras that subscribe (topic mode)
        self._started: set = set()  # cameras that published 'started' in this run
        self._reported: set = set()  # cameras whose stop was published in this run
        self._diag_timer = None
        self._images_group = MutuallyExclusiveCallbackGroup()
        self._timers_group = MutuallyExclusiveCallbackGroup()
        self._cv_bridge = conversions.load_cv_bridge()
        self._max_image_pixels = self._p('max_image_pixels')
        self._credentials_warned = False
        self._stream_state = 'idle'
        self._capture = NodeCapture(self)  # hard examples; ~/capture
        self._set_call = threading.local()  # what the set being applied changes (names)
        self.add_pre_set_parameters_callback(self._normalize_parameters)
        self.add_on_set_parameters_callback(self._validate_parameters)
        self.add_post_set_parameters_callback(self._apply_parameters)
        quiet_opencv_logs()  # bad images are counted and logged here, throttled
        change_state = getattr(self, '_service_change_state', None)
        if change_state is not None:  # rclpy raises on ids not valid in the current state
            change_state.callback = functools.partial(answer_change_state, self)
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
                value = Parameter.Type.STRING_ARRAY  # declared with its type, set just below
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
        for p in params:
            if p.name in ('source', 'sources') and any(
                    has_credentials(str(value)) for value in
                    (p.value if is_array(p.value) else [p.value])):
                self._warn_credentials(p.name)
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
                self._set_annotators()
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

    def _set_annotators(self) -> None:
        """Give each camera a new annotator of its own (traces follow its own track ids)."""
        outputs = self._outputs
        if outputs is not None:
            for camera in outputs.cameras.values():
                camera.annotator = self._make_annotator()

    def _camera_list(self) -> List[Camera]:
        """Return the cameras the parameters name (one, unnamed, without `cameras`)."""
        options = self._options()
        node = options[NodeOptions]
        return cameras_of(options[CameraOptions], source=node.source, frame_id=node.frame_id,
                          credentials_file=node.source_credentials_file)

    def _make_outputs(self, cameras: List[Camera]) -> None:
        """Create every camera's publishers (configure, or activate after cameras changed)."""
        self._outputs = NodeOutputs(self, cameras,
                                    source_image=self._p('publish_source_image'),
                                    depth=self._p('depth'))
        self._publish_label_info()
        self._set_annotators()

    def _outputs_fit(self, cameras: List[Camera]) -> bool:
        """Return True when the publishers made at configure serve these cameras."""
        outputs = self._outputs
        source_image, depth = self._p('publish_source_image'), self._p('depth')
        return outputs is not None and outputs.names == tuple(c.name for c in cameras) and all(
            (outputs.cameras[c.name].image_raw is not None) == bool(source_image and c.source)
            and (outputs.cameras[c.name].depth is not None) == bool(depth and not c.source)
            for c in cameras)

    # ---------------------------------------------------------------- lifecycle
    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        model = self._p('model') or str(bundled_model_path())
        try:
            options = self._options()[ModelOptions]
            if self._given_detector is not None:
                model = 'given to the node (parameter model not used)'
                self._detector = self._given_detector
            else:
                with large_blocks_on_mmap():  # released in full at cleanup (malloc_tuning)
                    self._detector = Detector(
                        model, layout=options.layout, providers=list(options.providers),
                        threads=options.threads, labels=options.labels,
                        spin_wait=options.spin_wait)
            self._detector.resolve_classes(class_filter(self._p('classes')))
        except (StreamInferError, OSError, ValueError) as exc:
            self.get_logger().error(f'configure failed: {exc}')
            self._detector = None
            return TransitionCallbackReturn.FAILURE
        self.get_logger().info(
            f'model {model} ({self._detector.precision}) loaded on {self._detector.provider}, '
            f'{len(self._detector.class_names)} classes')
        self._make_outputs(self._camera_list())
        self._state = 'inactive'
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        try:
            cameras = self._camera_list()
            specs = {camera.name: self._source_of(camera) for camera in cameras}
            options = self._options()
            playback = options[SourceOptions]
            several = '' not in specs  # else the single camera: InferenceStream(source)
            inputs = {'sources': specs} if several else {'source': specs['']}
            stream = InferenceStream(
                model=self._detector, **inputs, max_batch=options[ModelOptions].max_batch,
                track=self._p('tracking'), tracker_options=options[TrackerOptions],
                enforce_fps=playback.enforce_fps, loop=playback.loop,
                reconnect=options[ReconnectPolicy], clock=self._now_seconds,
                depth_options=options[DepthOptions], **self._postprocess_kwargs())
        except (StreamInferError, OSError, ValueError) as exc:
            self.get_logger().error(f'activate failed: {exc}')
            return TransitionCallbackReturn.FAILURE
        if not self._outputs_fit(cameras):  # cameras changed while inactive
            self._outputs.destroy()
            self._make_outputs(cameras)
        self._cameras = {camera.name: camera for camera in cameras}
        self._started, self._reported = set(), set()
        stream.on_result(self._on_result)
        stream.on_result(self._capture)
        stream.on_start(lambda *_: self._event('started'))
        if several:  # each camera's 'stopped: <reason>' after its last result, the rest at the end
            stream.on_stop(functools.partial(self._on_run_stop, stream))
            stream.on_source_end(lambda name, stats: self._camera_stopped(
                name, str(stats.stop_reason)))
        else:
            stream.on_stop(self._on_stream_stop)
        try:
            self._start_capture(stream, options[CaptureOptions])
            stream.start()
        except (StreamInferError, OSError, ValueError) as exc:
            self.get_logger().error(f'activate failed: {exc}')
            self._capture.stop()
            return TransitionCallbackReturn.FAILURE
        with self._lock:
            self._stream = stream
        for camera in cameras:  # the engine logs 'streaming from' each source it opened
            if not camera.source:
                self._subscribe_images(camera)
        self._diag_timer = self.create_timer(  # steady: flows without /clock (use_sim_time)
            self._p('diagnostics_period'), self._publish_diagnostics,
            callback_group=self._timers_group, clock=Clock(clock_type=ClockType.STEADY_TIME))
        self._state = 'active'
        return super().on_activate(state)

    def _source_of(self, camera: Camera) -> Optional[str]:
        """Return what a camera's engine source opens (credentials put in), None: its topic."""
        source = camera.source
        if has_credentials(source):
            self._warn_credentials('sources' if camera.name else 'source')
        if source and camera.credentials_file:
            source = self._source_with_credentials(source, camera.credentials_file)
        return source or None

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

    def _warn_credentials(self, name: str = 'source') -> None:
        if not self._credentials_warned:
            self._credentials_warned = True
            self.get_logger().warning(
                f'parameter {name} carries credentials: every node can read them '
                '(/parameter_events, get_parameters) although logs and diagnostics hide them; '
                'put user:password in a file readable only by this user and set '
                + ('source_credentials_files (one per camera)' if name == 'sources'
                   else 'source_credentials_file') + ' instead')

    def _source_with_credentials(self, source: str, path: str) -> str:
        if not file_is_private(path):
            self.get_logger().warning(
                f'credentials file {path} is readable by other users: chmod 600 it')
        return with_credentials(source, path)

    def _subscribe_images(self, camera: Camera) -> None:
        """Subscribe a camera to image or image/compressed (with its prefix), watching QoS."""
        reliability = self._p('image_reliability')
        put = functools.partial(self._put, source=camera.name or None)
        depth = None
        if self._p('depth'):  # frames go to the engine paired with depth (depth_input.py)
            depth = DepthInput(self, camera, put=put, reliability=reliability,
                               tolerance=self._p('depth_pairing_tolerance'),
                               transport=self._p('depth_transport'),
                               max_pixels=lambda: self._max_image_pixels,
                               callback_group=self._images_group)
            put = depth.on_image
        image_input = ImageInput(
            self, camera, compressed=self._p('image_transport') == 'compressed',
            reliability=reliability, put=put, convert_raw=self._image_to_bgr,
            max_pixels=lambda: self._max_image_pixels, callback_group=self._images_group)
        image_input.depth = depth
        self._inputs[camera.name] = image_input
        self.get_logger().info(f'{camera.label}subscribed to {image_input.topic_name} '
                               f'({reliability}, keep last 1)' + (
                                   f', {", ".join(depth.topic_names)}' if depth else ''))

    def _start_capture(self, stream: InferenceStream, options: CaptureOptions) -> None:
        """
        (Re)start capture; the manifest names each frame's camera.

        Several cameras: their names; a single one: its topic or (redacted) source.
        """
        single = self._cameras.get('')
        source = self.get_name() if single is None else (
            stream.source_description if single.source else self.resolve_topic_name('image'))
        self._capture.start(options, self._detector.class_names, source)

    def _stop_stream(self) -> None:
        inputs, self._inputs = self._inputs, {}
        for image_input in inputs.values():
            image_input.destroy()
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
        if self._detector is not None and self._detector is not self._given_detector:
            self._detector.close()
        self._detector = None

    # ---------------------------------------------------------------- inputs
    def _image_to_bgr(self, msg: Image, max_pixels: int):
        if self._cv_bridge is not None:
            return conversions.image_to_bgr_cv_bridge(self._cv_bridge, msg, max_pixels)
        return conversions.image_to_bgr(msg, max_pixels)

    def _put(self, frame, header: Header, source: Optional[str] = None, depth=None) -> None:
        stream = self._stream
        if stream is not None:
            stamp = header.stamp.sec + header.stamp.nanosec * 1e-9
            stream.put_frame(frame, timestamp=stamp or None, meta=header, source=source,
                             depth=depth)

    # ---------------------------------------------------------------- outputs
    def _on_result(self, result: StreamResult) -> None:
        """Publish one prediction on its camera's topics; runs on the engine's delivery thread."""
        outputs, detector = self._outputs, self._detector
        name = result.source_name
        camera = self._cameras.get(name)
        publishers = outputs.cameras.get(name) if outputs is not None else None
        if camera is None or publishers is None:
            return
        if name and name not in self._started:  # a camera's first result in this run
            self._started.add(name)
            self._camera_event(camera, 'started')
        publishers.publish_result(result, header_for(result.frame, camera.frame_id),
                                  detector.class_names if detector is not None else [],
                                  self._p('class_id_format'), self._p('annotated_jpeg_quality'))
        outputs.steer_masks(detector, capture=self._capture.sink is not None,
                            depth=bool(self._p('depth')))

    def _now_seconds(self) -> float:
        """Return the node's clock in seconds (sim time with use_sim_time): frame stamps."""
        return self.get_clock().now().nanoseconds * 1e-9

    def _on_stream_stop(self, stats) -> None:
        """Publish 'stopped: <reason>'; a source that ended leaves the node active but idle."""
        reason = stats.stop_reason
        self._warn_idle(f'stream from {stats.source}', reason,
                        'the node stays active with nothing to process:')
        self._event(f'stopped: {reason}')

    def _warn_idle(self, what: str, reason: str, meanwhile: str) -> None:
        """Warn that a stream ended by itself while the node is active, and how to restart it."""
        if reason in ENDED_REASONS and self._state == 'active':
            self.get_logger().warning(
                f'{what} stopped ({reason}); {meanwhile} ros2 lifecycle set <node> deactivate, '
                'then activate, starts it again'
                + (' (or set loop: true for files)' if reason == 'ended' else ''))

    def _on_run_stop(self, stream: InferenceStream, stats) -> None:
        """Report the end of a run of several cameras: each not yet reported, then the node."""
        for name in stream.source_names:
            self._camera_stopped(name, stream.stats(name).stop_reason or stats.stop_reason)
        self._on_stream_stop(stats)

    def _camera_stopped(self, name: str, reason: str) -> None:
        """Publish a camera's 'stopped: <reason>' once per run; the others go on."""
        with self._lock:
            if name in self._reported:
                return
            self._reported.add(name)
        camera = self._cameras.get(name)
        if camera is None:
            return
        self._warn_idle(f'{camera.label}stream', reason, 'the other cameras go on;')
        self._camera_event(camera, f'stopped: {reason}')

    def _publish_label_info(self) -> None:
        outputs = self._outputs
        if outputs is not None:
            for camera in outputs.cameras.values():
                camera.publish_label_info(
                    self._detector.class_names if self._detector is not None else [],
                    self._p('confidence'))

    def _event(self, text: str) -> None:
        """Publish an event of the node's run on ~/stream_events (and log it)."""
        self._stream_state = text
        self.get_logger().info(f'stream {text}')
        outputs = self._outputs
        if outputs is not None:
            outputs.publish_event(text)

    def _camera_event(self, camera: Camera, text: str) -> None:
        """Publish an event of one of several cameras on its ~/<name>/stream_events."""
        self.get_logger().info(f'{camera.label}stream {text}')
        outputs = self._outputs
        publishers = outputs.cameras.get(camera.name) if outputs is not None else None
        if publishers is not None:
            publishers.publish_event(text)

    def _publish_diagnostics(self) -> None:
        """Publish one status per camera (a single camera's is named as the node's)."""
        stream, outputs, detector = self._stream, self._outputs, self._detector
        if stream is None or outputs is None or detector is None:
            return
        node_name = self.get_fully_qualified_name()
        statuses = []
        single = len(self._cameras) == 1  # capture's values go with its only camera's
        for camera in self._cameras.values():
            publishers = outputs.cameras.get(camera.name)
            if publishers is None:
                continue
            counts = self._inputs.get(camera.name, NO_INPUT)
            statuses.append(diagnostic_status(
                camera.diagnostic_name(node_name),
                stream.stats(camera.name) if camera.name else stream.stats(), detector.provider,
                counts.bad_images, counts.last_bad_image, model_precision=detector.precision,
                warnings=counts.warnings() + (self._capture.warnings() if single else []),
                input_messages_lost=counts.lost,
                input_incompatible_publishers=counts.incompatible_publishers,
                annotated_published=publishers.annotated_published,
                annotated_compressed_published=publishers.annotated_compressed_published,
                node_input_ms=f'{counts.cost.mean_ms:.3f}',
                node_output_ms=f'{publishers.cost.mean_ms:.3f}', **counts.depth_values(),
                **(self._capture.diagnostic_values() if single else {})))
        capture = None if single else self._capture.diagnostic_status(node_name)
        if capture is not None:
            statuses.append(capture)
        outputs.diagnostics.publish(diagnostics_array(statuses,
                                                      self.get_clock().now().to_msg()))

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
