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
(cameras.py): each has its own source or subscription (topic_inputs.py), topics, frame_id,
stream events (stream_events.py) and diagnostics entry; the lifecycle is the node's. A
parameter set is checked and handed over by parameter_handling.py; the node applies it to what
runs. The engine's own threads do preprocess/predict/postprocess/track and publish from the
delivery thread; image callbacks only convert and hand the newest frame over, so one executor
thread serves images, parameters and transitions (main.make_executor; the node also works
under a MultiThreadedExecutor). The process around it (signals, spinning) is main.py.

    >>> import rclpy                                                   # doctest: +SKIP
    >>> rclpy.init(); node = StreamInferNode()                         # doctest: +SKIP
    >>> node.trigger_configure(); node.trigger_activate()              # doctest: +SKIP
"""

import functools
import threading
from typing import Any, Dict, List, Optional, Tuple

from rclpy.callback_groups import CallbackGroup, MutuallyExclusiveCallbackGroup
from rclpy.clock import Clock, ClockType
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn

from stream_infer.annotate import FrameAnnotator
from stream_infer.bundled import bundled_model_path
from stream_infer.capture.config import CaptureOptions
from stream_infer.detection import Detector
from stream_infer.errors import StreamInferError
from stream_infer.malloc_tuning import large_blocks_on_mmap, release_free_memory
from stream_infer.options import (
    DecodeOptions, DepthOptions, ModelOptions, PostprocessOptions, ReconnectPolicy,
    SourceOptions, TrackerOptions)
from stream_infer.results import StreamResult
from stream_infer.ros.cameras import Camera, CameraOptions, cameras_of
from stream_infer.ros.capture_service import NodeCapture
from stream_infer.ros.change_state import answer_change_state
from stream_infer.ros.diagnostics import diagnostics_array, node_statuses
from stream_infer.ros.image_input import ImageInput
from stream_infer.ros.outputs import header_for, NodeOutputs
from stream_infer.ros.parameter_handling import ParameterHandling, StartupError
from stream_infer.ros.parameters import class_filter, NodeOptions, PARAMS
from stream_infer.ros.source_credentials import SourceCredentials
from stream_infer.ros.stream_events import StreamEvents
from stream_infer.ros.topic_inputs import TopicInputs
from stream_infer.sources.image_decoding import quiet_opencv_logs
from stream_infer.stream import InferenceStream

NODE_NAME = 'stream_infer'
TRACKER_PARAMS = frozenset(p.name for p in PARAMS if p.target is TrackerOptions) | {'tracking'}
POSTPROCESS_PARAMS = frozenset(p.name for p in PARAMS if p.target is PostprocessOptions)
ANNOTATOR_PARAMS = frozenset(('annotated_traces', 'annotated_trace_length', 'annotated_labels'))
CAPTURE_PARAMS = frozenset(p.name for p in PARAMS if p.target is CaptureOptions)


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
        self._state = 'unconfigured'
        self._detector: Optional[Detector] = None
        self._credentials = SourceCredentials(self.get_logger())
        self._parameter_handling = ParameterHandling(
            self, state=lambda: self._state, detector=lambda: self._detector, apply=self._apply,
            credentials=self._credentials)
        try:
            self._parameter_handling.declare()
        except StartupError:
            super().destroy_node()
            raise
        self._lock = threading.RLock()
        self._stream: Optional[InferenceStream] = None
        self._outputs: Optional[NodeOutputs] = None
        self._cameras: Dict[str, Camera] = {}  # those of the current run, by name
        self._inputs: Dict[str, ImageInput] = {}  # the cameras that subscribe (topic mode)
        self._diag_timer = None
        self._timers_group = MutuallyExclusiveCallbackGroup()
        self._max_image_pixels = self._p('max_image_pixels')
        self._topic_inputs = TopicInputs(self, stream=lambda: self._stream,
                                         max_pixels=lambda: self._max_image_pixels)
        self._events = StreamEvents(self.get_logger(), outputs=lambda: self._outputs,
                                    active=lambda: self._state == 'active')
        self._capture = NodeCapture(self)  # hard examples; ~/capture
        self._parameter_handling.attach()  # pre-set, on-set, post-set (parameter_handling.py)
        quiet_opencv_logs()  # bad images are counted and logged here, throttled
        change_state = getattr(self, '_service_change_state', None)
        if change_state is not None:  # rclpy raises on ids not valid in the current state
            change_state.callback = functools.partial(answer_change_state, self)
        self.get_logger().info(f'image conversion: {self._topic_inputs.conversion}')

    # ---------------------------------------------------------------- parameters
    def _p(self, name: str) -> Any:
        return self.get_parameter(name).value

    def _options(self, changes: Optional[Dict[str, Any]] = None) -> Dict[type, Any]:
        """Every option object from the parameters (with changes applied on top)."""
        return self._parameter_handling.options(changes)

    def _apply(self, names: set) -> None:
        """Apply the parameters a set changed to what runs (the post-set step)."""
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
        if self._outputs is not None:
            self._outputs.set_annotators(self._make_annotator)

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
            specs = {camera.name: self._credentials.source_of(camera) for camera in cameras}
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
        if not self._outputs.fit(cameras, source_image=self._p('publish_source_image'),
                                 depth=self._p('depth')):  # cameras changed while inactive
            self._outputs.destroy()
            self._make_outputs(cameras)
        self._cameras = {camera.name: camera for camera in cameras}
        self._events.new_run(self._cameras)
        stream.on_result(self._on_result)
        stream.on_result(self._capture)
        stream.on_start(lambda *_: self._events.event('started'))
        if several:  # each camera's 'stopped: <reason>' after its last result, the rest at the end
            stream.on_stop(functools.partial(self._events.run_stopped, stream))
            stream.on_source_end(lambda name, stats: self._events.camera_stopped(
                name, str(stats.stop_reason)))
        else:
            stream.on_stop(self._events.stream_stopped)
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
                self._inputs[camera.name] = self._topic_inputs.subscribe(camera)
        self._diag_timer = self.create_timer(  # steady: flows without /clock (use_sim_time)
            self._p('diagnostics_period'), self._publish_diagnostics,
            callback_group=self._timers_group, clock=Clock(clock_type=ClockType.STEADY_TIME))
        self._state = 'active'
        return super().on_activate(state)

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._stop_stream()
        self._forget_destroyed_entities()
        self._state = 'inactive'
        return super().on_deactivate(state)

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._release()
        release_free_memory()  # the model's freed memory goes back to the system
        self._forget_destroyed_entities()
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

    def _forget_destroyed_entities(self) -> None:
        """
        Drop the callback groups' weak references to entities that are gone.

        rclpy's groups keep one per entity ever added and never remove it: each cycle's
        publishers (their QoS event handlers), timer and subscriptions left ~2 KiB behind.
        In place, from a snapshot (list() copies a set atomically: another thread may add).
        """
        groups: Tuple[CallbackGroup, ...] = (self.default_callback_group, self._timers_group,
                                             self._topic_inputs.group)
        for group in groups:
            group.entities.difference_update(
                [ref for ref in list(group.entities) if ref() is None])

    def _release(self) -> None:
        outputs, self._outputs = self._outputs, None
        if outputs is not None:
            outputs.destroy()
        if self._detector is not None and self._detector is not self._given_detector:
            self._detector.close()
        self._detector = None

    # ---------------------------------------------------------------- outputs
    def _on_result(self, result: StreamResult) -> None:
        """Publish one prediction on its camera's topics; runs on the engine's delivery thread."""
        outputs, detector = self._outputs, self._detector
        name = result.source_name
        camera = self._cameras.get(name)
        publishers = outputs.cameras.get(name) if outputs is not None else None
        if camera is None or publishers is None:
            return
        self._events.first_result(camera)  # one of several cameras: 'started' at its first
        publishers.publish_result(result, header_for(result.frame, camera.frame_id),
                                  detector.class_names if detector is not None else [],
                                  self._p('class_id_format'), self._p('annotated_jpeg_quality'))
        outputs.steer_masks(detector, capture=self._capture.sink is not None,
                            depth=bool(self._p('depth')))

    def _now_seconds(self) -> float:
        """Return the node's clock in seconds (sim time with use_sim_time): frame stamps."""
        return self.get_clock().now().nanoseconds * 1e-9

    def _publish_label_info(self) -> None:
        outputs, detector = self._outputs, self._detector
        if outputs is not None:
            outputs.publish_label_info(detector.class_names if detector is not None else [],
                                       self._p('confidence'))

    def _publish_diagnostics(self) -> None:
        """Publish one status per camera (a single camera's is named as the node's)."""
        stream, outputs, detector = self._stream, self._outputs, self._detector
        if stream is None or outputs is None or detector is None:
            return
        statuses = node_statuses(self.get_fully_qualified_name(), self._cameras, stream,
                                 outputs, detector, self._inputs, self._capture)
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
