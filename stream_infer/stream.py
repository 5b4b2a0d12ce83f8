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
InferenceStream: frames from a source -> detector -> tracker -> callbacks.

The stream is what a user holds: it builds the source and the detector, owns the options in
force (thresholds, classes, tracking), the callbacks and the statistics, and starts one
Pipeline (pipeline.py: capture, inference and delivery threads) per run. Nothing starts in the
constructor: start() runs in the background, run() delivers on the caller's thread. Options and
tracking can be changed at any time from any thread (applied from the next frame). Callbacks run
on the delivery thread (the caller's in run()); their exceptions are logged and counted.

    >>> from stream_infer import InferenceStream
    >>> from stream_infer.bundled import bundled_clip_path
    >>> stream = InferenceStream(bundled_clip_path(), max_frames=3, classes=['person'])
    >>> people = []
    >>> unsubscribe = stream.on_result(lambda result: people.append(len(result.detections)))
    >>> stream.run().frames_processed, len(people)
    (3, 3)
"""

import itertools
import logging
import threading
import time
from typing import Any, Callable, Mapping, Optional, Sequence, Tuple, Union

import cv2
import numpy as np

from stream_infer.detection import Detector
from stream_infer.errors import UsageError
from stream_infer.options import (
    CHANNEL_ORDERS, from_mapping, PostprocessOptions, ReconnectPolicy, SourceOptions,
    TrackerOptions, updated)
from stream_infer.pipeline import Hooks, LiveSettings, Pipeline, StopReason
from stream_infer.results import Prediction, StreamResult
from stream_infer.sources import Frame, FrameSource, open_source, PushSource, SourceState
from stream_infer.stats import Stats, StatsRecorder
from stream_infer.tracking import Tracker

LOG = logging.getLogger('stream_infer.stream')
DEFAULTS = PostprocessOptions()
RECONNECT = ReconnectPolicy()

__all__ = ['Frame', 'InferenceStream', 'Prediction', 'StreamResult', 'Stats', 'StopReason']


class _Callbacks:
    """A copy-on-write list of callbacks: dispatch iterates a snapshot without a lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: Tuple[Tuple[object, Callable], ...] = ()
        self.items: Tuple[Callable, ...] = ()

    def add(self, callback: Callable) -> Callable[[], None]:
        """Register callback; return a function that unregisters this registration."""
        if not callable(callback):
            raise TypeError(f'callback must be callable, got {type(callback).__name__}')
        token = object()  # the same function may be registered twice: remove only this one
        with self._lock:
            self._entries = self._entries + ((token, callback),)
            self.items = tuple(cb for _, cb in self._entries)

        def unsubscribe() -> None:
            with self._lock:
                self._entries = tuple(e for e in self._entries if e[0] is not token)
                self.items = tuple(cb for _, cb in self._entries)
        return unsubscribe


def _channel_order(order: str) -> str:
    value = str(order).upper()
    if value not in CHANNEL_ORDERS:
        raise ValueError(f'output_channel_order={order!r}; accepted: {", ".join(CHANNEL_ORDERS)}')
    return value


class InferenceStream:
    """
    Run a detector (and ByteTrack) over a stream of frames, delivering results to callbacks.

    source: None (push mode: frames come from put_frame), a camera index or 'webcam', a video
        or image file, an rtsp/http(s) URL, an iterable of BGR frames, or a FrameSource.
    model: None (the bundled COCO-80 model), an ONNX path, a callable (see Detector), or a
        Detector (shared: the stream does not close it).
    confidence, iou_threshold, class_agnostic, max_candidates, max_detections, classes (names
        or indices): PostprocessOptions, changeable later with update_options().
    track, tracker_options (TrackerOptions or a dict of its fields): ByteTrack, changeable
        later with set_tracking().
    enforce_fps, loop: SourceOptions for video files (real-time pacing with drops / as fast as
        possible; start again at the end). max_frames: end after this many processed frames.
    reconnect_delay, reconnect_max_delay, reconnect_attempts (None = forever), open_timeout,
        read_timeout: the ReconnectPolicy of live and network sources (or give reconnect=).
    providers, threads, labels, detector_kwargs: passed to Detector when the stream builds it.
    output_channel_order: channel order of the frame handed to on_prediction callbacks.
    clock: a callable returning the current time in seconds; it stamps the frames the source
        captures (Frame.timestamp) and push-mode frames put without a timestamp. None = the
        wall clock (time.time()); the ROS node passes its own clock (simulated time with
        use_sim_time), as camera drivers do.
    The defaults are those of stream_infer.options.
    """

    def __init__(self, source: Any = None, model: Any = None, *,
                 confidence: float = DEFAULTS.confidence,
                 iou_threshold: float = DEFAULTS.iou_threshold,
                 class_agnostic: bool = DEFAULTS.class_agnostic,
                 max_candidates: int = DEFAULTS.max_candidates,
                 max_detections: int = DEFAULTS.max_detections,
                 classes: Optional[Sequence[Union[int, str]]] = None,
                 track: bool = True,
                 tracker_options: Union[TrackerOptions, Mapping[str, Any], None] = None,
                 enforce_fps: bool = SourceOptions.enforce_fps,
                 loop: bool = SourceOptions.loop,
                 max_frames: Optional[int] = None,
                 reconnect_delay: float = RECONNECT.initial_delay,
                 reconnect_max_delay: float = RECONNECT.max_delay,
                 reconnect_attempts: Optional[int] = RECONNECT.max_attempts,
                 open_timeout: float = RECONNECT.open_timeout,
                 read_timeout: float = RECONNECT.read_timeout,
                 reconnect: Optional[ReconnectPolicy] = None,
                 providers: Sequence = ('CPUExecutionProvider',),
                 threads: Optional[int] = None, labels: Any = None,
                 detector_kwargs: Optional[Mapping[str, Any]] = None,
                 output_channel_order: str = 'BGR',
                 clock: Optional[Callable[[], float]] = None) -> None:
        if max_frames is not None and (isinstance(max_frames, bool)
                                       or not isinstance(max_frames, (int, np.integer))
                                       or max_frames < 1):
            raise ValueError(f'max_frames must be an int >= 1 or None, got {max_frames!r}')
        self._channel_order = _channel_order(output_channel_order)
        policy = reconnect or ReconnectPolicy(
            initial_delay=reconnect_delay, max_delay=reconnect_max_delay,
            max_attempts=reconnect_attempts, open_timeout=open_timeout,
            read_timeout=read_timeout)
        playback = SourceOptions(enforce_fps=enforce_fps, loop=loop)
        if clock is not None and not callable(clock):
            raise TypeError(f'clock must be a callable returning seconds, got {clock!r}')
        self._source: FrameSource = open_source(source, enforce_fps=playback.enforce_fps,
                                                loop=playback.loop, reconnect=policy)
        if clock is not None:
            self._source.clock = clock
        self._tracker_options: TrackerOptions = from_mapping(TrackerOptions, tracker_options)
        self._tracking = bool(track)
        self._max_frames = None if max_frames is None else int(max_frames)
        if isinstance(model, Detector):
            self._detector, self._owns_detector = model, False
        else:
            self._detector = Detector(model, providers=providers, threads=threads,
                                      labels=labels, **dict(detector_kwargs or {}))
            self._owns_detector = True
        self._live = LiveSettings(
            options=PostprocessOptions(
                confidence=confidence, iou_threshold=iou_threshold,
                class_agnostic=class_agnostic, max_candidates=max_candidates,
                max_detections=max_detections, classes=self._detector.resolve_classes(classes)),
            tracker=None)
        self._lock = threading.RLock()
        self._frame_ids = itertools.count()  # frame ids go on across runs
        self._stats = StatsRecorder()
        self._stats.stopped()
        self._pipeline: Optional[Pipeline] = None
        self._closed = False
        self._result_cbs = _Callbacks()
        self._prediction_cbs = _Callbacks()
        self._start_cbs = _Callbacks()
        self._stop_cbs = _Callbacks()
        self._state_cbs = _Callbacks()
        self._source.listener = self._on_source_state
        self._errors_logged = 0

    # ------------------------------------------------------------------ properties
    @property
    def detector(self) -> Detector:
        return self._detector

    @property
    def class_names(self) -> list:
        return self._detector.class_names

    @property
    def source(self) -> FrameSource:
        return self._source

    @property
    def source_description(self) -> str:
        """Return what is being read, safe to log (URL credentials removed)."""
        return self._source.description

    @property
    def options(self) -> PostprocessOptions:
        """Return the postprocess options in force (the stream is their only owner)."""
        return self._live.options

    @property
    def tracking(self) -> bool:
        return self._tracking

    @property
    def tracker_options(self) -> TrackerOptions:
        return self._tracker_options

    @property
    def tracker(self) -> Optional[Tracker]:
        """Return the tracker in use (None when tracking is off), e.g. for track_ids_seen."""
        return self._live.tracker

    @property
    def running(self) -> bool:
        pipeline = self._pipeline
        return pipeline is not None and not pipeline.finished.is_set()

    @property
    def error(self) -> Optional[BaseException]:
        """Return the exception that ended the last run (None when it ended normally)."""
        pipeline = self._pipeline
        return None if pipeline is None else pipeline.error

    # ------------------------------------------------------------------ callbacks
    def on_prediction(self, callback: Callable[[dict, np.ndarray], Any]) -> Callable[[], None]:
        """Call callback(predictions_dict, frame) for each result; returns unsubscribe()."""
        return self._prediction_cbs.add(callback)

    def on_result(self, callback: Callable[[StreamResult], Any]) -> Callable[[], None]:
        """Call callback(StreamResult) for each result; returns unsubscribe()."""
        return self._result_cbs.add(callback)

    def on_start(self, callback: Callable[[Stats], Any]) -> Callable[[], None]:
        """Call callback(stats) once per run, when its first frame has been processed."""
        return self._start_cbs.add(callback)

    def on_stop(self, callback: Callable[[Stats], Any]) -> Callable[[], None]:
        """Call callback(stats) once per run when it ends (stats.stop_reason says why)."""
        return self._stop_cbs.add(callback)

    def on_source_state(self, callback: Callable[[SourceState, str], Any]
                        ) -> Callable[[], None]:
        """Call callback(state, message) on each source state change (loss, recovery...)."""
        return self._state_cbs.add(callback)

    def _call(self, callback: Callable, *args: Any) -> None:
        try:
            callback(*args)
        except Exception:  # noqa: BLE001 - user code must never kill the stream
            self._stats.count('callback_errors')
            self._errors_logged += 1
            if self._errors_logged <= 3 or self._errors_logged % 100 == 0:
                LOG.exception('callback %r raised (%d callback errors so far; the stream goes '
                              'on)', callback, self._errors_logged)

    def _on_source_state(self, state: SourceState, message: str) -> None:
        for callback in self._state_cbs.items:
            self._call(callback, state, message)

    # ------------------------------------------------------------------ runtime updates
    def update_options(self, **changes: Any) -> PostprocessOptions:
        """
        Change postprocess options (PostprocessOptions fields) from the next frame on.

        classes may be names or indices. Thread-safe; invalid values raise ConfigurationError
        (a ValueError) and leave the options unchanged.
        """
        with self._lock:
            if 'classes' in changes:
                changes['classes'] = self._detector.resolve_classes(changes['classes'])
            self._live.options = updated(self._live.options, **changes)
            return self._live.options

    def set_tracking(self, enabled: bool, **tracker_params: Any) -> TrackerOptions:
        """
        Turn ByteTrack on or off and/or change its parameters; always starts fresh tracks.

        tracker_params are TrackerOptions fields. Thread-safe; applied from the next frame.
        """
        with self._lock:
            options = updated(self._tracker_options, **tracker_params)
            self._tracker_options = options
            self._tracking = bool(enabled)
            self._live.tracker = Tracker(options) if self._tracking else None
            return options

    # ------------------------------------------------------------------ push mode
    def put_frame(self, image: np.ndarray, timestamp: Optional[float] = None,
                  meta: Any = None) -> bool:
        """
        Hand a BGR frame to a push-mode stream (source=None); never blocks.

        timestamp: the capture time in seconds (default: now, by the stream's clock); meta:
        anything, handed back untouched in StreamResult.frame.meta. A frame not yet taken is
        replaced by a newer one (counted as dropped). Returns False when the stream is not
        running.
        """
        source = self._source
        if not isinstance(source, PushSource):
            raise UsageError(f'put_frame needs push mode (source=None); this stream reads '
                             f'{source.description}')
        return source.put(image, timestamp, meta)

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> 'InferenceStream':
        """Open the source and start the capture, inference and delivery threads; return self."""
        self._begin().start()
        return self

    def run(self) -> Stats:
        """
        Run until the stream ends or stop() is called, delivering on the caller's thread.

        Capture and inference still run on their own threads; tracking and every callback run
        here. Returns the final stats. Ctrl-C (KeyboardInterrupt) stops the stream cleanly and
        is re-raised.
        """
        pipeline = self._begin()
        pipeline.start(deliver_here=True)
        try:
            pipeline.deliver_loop()
        except KeyboardInterrupt:
            pipeline.end(StopReason.STOPPED)
            pipeline.finish()
            raise
        return self.stats()

    def _begin(self) -> Pipeline:
        with self._lock:
            if self._closed:
                raise UsageError('this InferenceStream is closed; create a new one')
            if self.running:
                raise UsageError('the stream is already running; stop() it first')
            self._source.open()  # raises SourceError with a clear message
            self._stats.reset()
            self._live.tracker = Tracker(self._tracker_options) if self._tracking else None
            pipeline = Pipeline(
                self._source, self._detector, self._live, self._stats,
                Hooks(self._deliver, self._started, self._finished), self._frame_ids,
                self._max_frames)
            self._pipeline = pipeline
        LOG.info('streaming from %s (%s; model on %s, tracking %s)', self.source_description,
                 'live: newest frame wins' if pipeline.drop else 'every frame',
                 self._detector.provider, 'on' if self._tracking else 'off')
        return pipeline

    def wait(self, timeout: Optional[float] = None) -> bool:
        """Block until the current run ends; False on timeout."""
        pipeline = self._pipeline
        return True if pipeline is None else pipeline.done.wait(timeout)

    def stop(self, timeout: float = 1.0) -> bool:
        """
        Stop the run, join its threads and release the source; True when all were joined.

        Returns within timeout seconds. A thread still blocked in a native read (a stalled
        network stream, up to read_timeout) is left to finish by itself and reported (False).
        Called from a callback (the delivery thread), it only asks the run to end.
        """
        pipeline = self._pipeline
        if pipeline is None:
            return True
        pipeline.end(StopReason.STOPPED)
        pipeline.interrupt()
        current = threading.current_thread()
        if current is pipeline.loop_thread or current in pipeline.workers():
            return False  # a callback: the run ends when it returns
        deadline = time.monotonic() + timeout
        pipeline.done.wait(max(0.0, deadline - time.monotonic()))
        for thread in pipeline.workers():
            thread.join(max(0.0, deadline - time.monotonic()))
        alive = [t.name for t in pipeline.workers() if t.is_alive()]
        if alive or not pipeline.done.is_set():
            LOG.warning('stop(): %s still busy after %.1f s (a blocking read, model call or '
                        'callback); it will exit by itself when that returns',
                        ', '.join(alive) or 'the delivery loop', timeout)
            return False
        return True

    def close(self) -> None:
        """Stop, and release the detector when the stream created it."""
        self.stop()
        with self._lock:
            self._closed = True
        if self._owns_detector:
            self._detector.close()

    def __enter__(self) -> 'InferenceStream':
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    # ------------------------------------------------------------------ stats
    def stats(self) -> Stats:
        """Return a snapshot of counters, rates and latencies (thread-safe)."""
        pipeline = self._pipeline
        source = self._source
        finished = pipeline is not None and pipeline.finished.is_set()
        return self._stats.snapshot(
            source=self.source_description, source_state=source.state,
            running=self.running, stop_reason=pipeline.reason if finished else '',
            connection_losses=source.losses, reconnects=source.reconnects,
            frames_dropped=source.skipped + (pipeline.dropped if pipeline else 0))

    # ------------------------------------------------------------------ pipeline hooks
    def _started(self) -> None:
        stats = self.stats()
        for callback in self._start_cbs.items:
            self._call(callback, stats)

    def _deliver(self, result: StreamResult) -> None:
        start = time.perf_counter()
        for callback in self._result_cbs.items:
            self._call(callback, result)
        prediction_cbs = self._prediction_cbs.items
        if prediction_cbs:
            image = result.frame.image
            if self._channel_order == 'RGB':
                image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
            predictions = result.predictions
            for callback in prediction_cbs:
                self._call(callback, predictions, image)
        timings = dict(result.timings_ms)
        timings['callbacks'] = (time.perf_counter() - start) * 1000.0
        self._stats.processed(timings, result.age_ms)

    def _finished(self, pipeline: Pipeline) -> None:
        stats = self.stats()
        LOG.info('stream from %s %s: %d frames processed, %d dropped, %.1f fps', stats.source,
                 stats.stop_reason, stats.frames_processed, stats.frames_dropped,
                 stats.mean_processed_fps)
        for callback in self._stop_cbs.items:
            self._call(callback, stats)
