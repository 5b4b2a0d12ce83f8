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
InferenceStream: frames from a source -> detector -> tracker -> callbacks, in three stages.

The capture thread reads a frame, numbers and stamps it, preprocesses it (Detector.prepare) and
puts the whole (Frame, PreparedFrame) pair into a single-slot buffer; the inference thread takes
the pair and runs the model and postprocessing (Detector.run); the delivery thread tracks and
hands a StreamResult carrying exactly the frame that was predicted to the callbacks. So
preprocessing frame N+1 and tracking/delivering frame N-1 overlap inference of frame N, and the
model thread does nothing but run the model. Live sources (cameras, URLs, push, files with
enforce_fps) replace a waiting frame with a newer one and count the drop, so latency stays
bounded; other sources wait for the consumer, so nothing is dropped. Every frame that was
inferred is delivered, in order (the inference -> delivery hand-off waits).

Nothing starts in the constructor: start() runs in the background, run() delivers on the
caller's thread. Options and tracking can be changed at any time from any thread (applied from
the next frame). Callbacks run on the delivery thread (the caller's in run()); their exceptions
are logged and counted.
"""

from dataclasses import dataclass, fields, replace
from functools import cached_property
import itertools
import logging
import threading
import time
from typing import (Any, Callable, Dict, Iterator, Mapping, NamedTuple, Optional, Sequence, Tuple,
                    Union)

import cv2
import numpy as np
import supervision as sv

from stream_infer.detector import DetectionResult, Detector, PostprocessOptions, PreparedFrame
from stream_infer.frame_buffer import LatestSlot, SlotClosed
from stream_infer.predictions import to_prediction_dict
from stream_infer.sources import (
    ENDED, FAILED, Frame, FrameSource, open_source, PushSource, ReconnectPolicy)
from stream_infer.stats import Stats, StatsRecorder
from stream_infer.tracking import NO_TRACK, Tracker, TrackerOptions

LOG = logging.getLogger('stream_infer.stream')

MAX_CONSECUTIVE_ERRORS = 5  # frames in a row whose preprocess/inference raised: give up
POLL_S = 0.1  # how often blocked threads look at the stop flag
CHANNEL_ORDERS = ('BGR', 'RGB')
# why a run ended (Stats.stop_reason, on_stop)
STOPPED, ENDED_REASON, MAX_FRAMES, FAILED_REASON, ERROR = (
    'stopped', 'ended', 'max_frames', 'failed', 'error')

__all__ = ['Frame', 'InferenceStream', 'Prediction', 'StreamResult', 'Stats']


@dataclass(frozen=True)
class StreamResult:
    """
    One delivered prediction: the frame that was predicted and what was found on it.

    detections: sv.Detections in frame pixels with confidence, class_id, data['class_name']
    and tracker_id (the track id, or -1 when the box is on no confirmed track or tracking is
    off). timings_ms: 'preprocess', 'infer', 'postprocess', 'track'. age_ms: capture ->
    delivery to the callbacks.
    """

    frame: Frame
    detections: sv.Detections
    timings_ms: Dict[str, float]
    age_ms: float

    @property
    def frame_id(self) -> int:
        return self.frame.frame_id

    @property
    def timestamp(self) -> float:
        return self.frame.timestamp

    @property
    def image(self) -> np.ndarray:
        return self.frame.image

    @cached_property
    def predictions(self) -> Dict[str, Any]:
        """Return the Roboflow-style dict (computed once, shared: do not modify it)."""
        return self.to_dict()

    def to_dict(self) -> Dict[str, Any]:
        """Return a new Roboflow-style dict of this result (see stream_infer.predictions)."""
        return to_prediction_dict(
            self.detections, width=self.frame.width, height=self.frame.height,
            frame_id=self.frame.frame_id, timestamp=self.frame.timestamp,
            extra={'age_ms': self.age_ms, 'timings_ms': dict(self.timings_ms)})


Prediction = StreamResult


class _Packet(NamedTuple):
    frame: Frame
    prepared: PreparedFrame


class _Inferred(NamedTuple):
    frame: Frame
    detected: DetectionResult


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


class _Run:
    """The state of one start()..stop() run; a restart gets a fresh one."""

    def __init__(self, drop: bool) -> None:
        self.drop = drop
        self.slot: LatestSlot[_Packet] = LatestSlot()  # capture -> inference, newest wins
        self.results: LatestSlot[_Inferred] = LatestSlot()  # inference -> delivery, waits
        self.stop = threading.Event()
        self.finished = threading.Event()  # ended: threads done, on_stop callbacks next
        self.done = threading.Event()  # ended and on_stop callbacks called
        self.reason = ''
        self.error: Optional[BaseException] = None
        self.capture_thread: Optional[threading.Thread] = None
        self.infer_thread: Optional[threading.Thread] = None
        self.deliver_thread: Optional[threading.Thread] = None  # None: run() on the caller
        self.loop_thread: Optional[threading.Thread] = None  # whoever runs the delivery loop
        self.processed = 0
        self.started_fired = False
        self._lock = threading.Lock()

    def workers(self) -> list:
        """Return the run's own threads that were started."""
        return [t for t in (self.capture_thread, self.infer_thread, self.deliver_thread)
                if t is not None and t.ident is not None]

    def items(self, slot: LatestSlot) -> Iterator:
        """Yield what slot hands over until the run stops or the slot is closed or drained."""
        while not self.stop.is_set():
            try:
                item = slot.take(POLL_S)
            except SlotClosed:
                return
            if item is not None:
                yield item

    def close_slots(self) -> None:
        self.slot.close()
        self.results.close()

    def end(self, reason: str, error: Optional[BaseException] = None) -> None:
        """Record why the run ends (the first reason wins) and raise the stop flag."""
        self.note(reason, error)
        self.stop.set()

    def note(self, reason: str, error: Optional[BaseException] = None) -> None:
        """Record why the run will end without stopping it (what is buffered is still done)."""
        with self._lock:
            if not self.reason:
                self.reason = reason
                self.error = error


def _validated_channel_order(order: str) -> str:
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
        or indices): postprocessing, changeable later with update_options().
    track, tracker_options (TrackerOptions or a dict of its fields): ByteTrack, changeable
        later with set_tracking().
    enforce_fps, loop: video files (real-time pacing with drops / as fast as possible; start
        again at the end). max_frames: end after this many processed frames.
    reconnect_delay, reconnect_max_delay, reconnect_attempts (None = forever), open_timeout,
        read_timeout: live and network sources (see ReconnectPolicy).
    providers, threads, labels, detector_kwargs: passed to Detector when the stream builds it.
    output_channel_order: channel order of the frame handed to on_prediction callbacks.
    """

    def __init__(self, source: Any = None, model: Any = None, *,
                 confidence: float = 0.3, iou_threshold: float = 0.45,
                 class_agnostic: bool = False, max_candidates: int = 300,
                 max_detections: int = 100, classes: Optional[Sequence[Union[int, str]]] = None,
                 track: bool = True,
                 tracker_options: Union[TrackerOptions, Mapping[str, Any], None] = None,
                 enforce_fps: bool = False, loop: bool = False,
                 max_frames: Optional[int] = None,
                 reconnect_delay: float = 0.5, reconnect_max_delay: float = 5.0,
                 reconnect_attempts: Optional[int] = None, open_timeout: float = 10.0,
                 read_timeout: float = 5.0,
                 providers: Sequence = ('CPUExecutionProvider',),
                 threads: Optional[int] = None, labels: Any = None,
                 detector_kwargs: Optional[Mapping[str, Any]] = None,
                 output_channel_order: str = 'BGR') -> None:
        if max_frames is not None and (isinstance(max_frames, bool)
                                       or not isinstance(max_frames, (int, np.integer))
                                       or max_frames < 1):
            raise ValueError(f'max_frames must be an int >= 1 or None, got {max_frames!r}')
        self._channel_order = _validated_channel_order(output_channel_order)
        policy = ReconnectPolicy(initial_delay=reconnect_delay, max_delay=reconnect_max_delay,
                                 max_attempts=reconnect_attempts, open_timeout=open_timeout,
                                 read_timeout=read_timeout)
        self._source: FrameSource = open_source(source, enforce_fps=enforce_fps, loop=loop,
                                                reconnect=policy)
        if isinstance(tracker_options, TrackerOptions):
            self._tracker_options = tracker_options
        else:
            self._tracker_options = TrackerOptions.from_kwargs(**dict(tracker_options or {}))
        self._tracking = bool(track)
        self._max_frames = None if max_frames is None else int(max_frames)
        if isinstance(model, Detector):
            self._detector, self._owns_detector = model, False
        else:
            self._detector = Detector(model, providers=providers, threads=threads,
                                      labels=labels, **dict(detector_kwargs or {}))
            self._owns_detector = True
        self._options = PostprocessOptions(
            confidence=confidence, iou_threshold=iou_threshold, class_agnostic=class_agnostic,
            max_candidates=max_candidates, max_detections=max_detections,
            classes=self._detector.resolve_classes(classes))
        self._lock = threading.RLock()
        self._tracker: Optional[Tracker] = None
        self._ids = itertools.count()
        self._stats = StatsRecorder()
        self._stats.stopped()
        self._run: Optional[_Run] = None
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
        return self._options

    @property
    def tracking(self) -> bool:
        return self._tracking

    @property
    def tracker_options(self) -> TrackerOptions:
        return self._tracker_options

    @property
    def tracker(self) -> Optional[Tracker]:
        """Return the tracker in use (None when tracking is off), e.g. for track_ids_seen."""
        return self._tracker

    @property
    def running(self) -> bool:
        run = self._run
        return run is not None and not run.finished.is_set()

    @property
    def error(self) -> Optional[BaseException]:
        """Return the exception that ended the last run (None when it ended normally)."""
        run = self._run
        return None if run is None else run.error

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

    def on_source_state(self, callback: Callable[[str, str], Any]) -> Callable[[], None]:
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

    def _on_source_state(self, state: str, message: str) -> None:
        for callback in self._state_cbs.items:
            self._call(callback, state, message)

    # ------------------------------------------------------------------ runtime updates
    def update_options(self, **changes: Any) -> PostprocessOptions:
        """
        Change postprocess options (PostprocessOptions fields) from the next frame on.

        classes may be names or indices. Thread-safe; invalid values raise ValueError and
        leave the options unchanged.
        """
        accepted = [f.name for f in fields(PostprocessOptions)]
        unknown = sorted(set(changes) - set(accepted))
        if unknown:
            raise ValueError(f'unknown option(s) {unknown}; accepted: {accepted}')
        if 'classes' in changes:
            changes['classes'] = self._detector.resolve_classes(changes['classes'])
        with self._lock:
            self._options = replace(self._options, **changes)
            return self._options

    def set_tracking(self, enabled: bool, **tracker_params: Any) -> TrackerOptions:
        """
        Turn ByteTrack on or off and/or change its parameters; always starts fresh tracks.

        tracker_params are TrackerOptions fields. Thread-safe; applied from the next frame.
        """
        with self._lock:
            options = TrackerOptions.from_kwargs(self._tracker_options, **tracker_params)
            self._tracker_options = options
            self._tracking = bool(enabled)
            self._tracker = Tracker(options) if self._tracking else None
            return options

    # ------------------------------------------------------------------ push mode
    def put_frame(self, image: np.ndarray, timestamp: Optional[float] = None,
                  meta: Any = None) -> bool:
        """
        Hand a BGR frame to a push-mode stream (source=None); never blocks.

        timestamp: the capture time in wall-clock seconds (default now); meta: anything, handed
        back untouched in StreamResult.frame.meta. A frame not yet taken is replaced by a newer
        one (counted as dropped). Returns False when the stream is not running.
        """
        source = self._source
        if not isinstance(source, PushSource):
            raise RuntimeError(f'put_frame needs push mode (source=None); this stream reads '
                               f'{source.description}')
        return source.put(image, timestamp, meta)

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> 'InferenceStream':
        """Open the source and start the capture, inference and delivery threads; return self."""
        run = self._begin()
        run.deliver_thread = threading.Thread(target=self._delivery_loop, args=(run,),
                                              name='stream_infer-deliver', daemon=True)
        run.loop_thread = run.deliver_thread
        run.capture_thread.start()
        run.infer_thread.start()
        run.deliver_thread.start()
        return self

    def run(self) -> Stats:
        """
        Run until the stream ends or stop() is called, delivering on the caller's thread.

        Capture and inference still run on their own threads; tracking and every callback run
        here. Returns the final stats. Ctrl-C (KeyboardInterrupt) stops the stream cleanly and
        is re-raised.
        """
        run = self._begin()
        run.loop_thread = threading.current_thread()
        run.capture_thread.start()
        run.infer_thread.start()
        try:
            self._delivery_loop(run)
        except KeyboardInterrupt:
            run.end(STOPPED)
            self._finish(run)
            raise
        return self.stats()

    def _begin(self) -> _Run:
        with self._lock:
            if self._closed:
                raise RuntimeError('this InferenceStream is closed; create a new one')
            if self.running:
                raise RuntimeError('the stream is already running; stop() it first')
            self._source.open()  # raises SourceError with a clear message
            run = _Run(drop=self._source.live)
            self._stats.reset()
            self._tracker = Tracker(self._tracker_options) if self._tracking else None
            run.capture_thread = threading.Thread(target=self._capture_loop, args=(run,),
                                                  name='stream_infer-capture', daemon=True)
            run.infer_thread = threading.Thread(target=self._inference_loop, args=(run,),
                                                name='stream_infer-infer', daemon=True)
            self._run = run
        LOG.info('streaming from %s (%s; model on %s, tracking %s)', self.source_description,
                 'live: newest frame wins' if run.drop else 'every frame',
                 self._detector.provider, 'on' if self._tracking else 'off')
        return run

    def wait(self, timeout: Optional[float] = None) -> bool:
        """Block until the current run ends; False on timeout."""
        run = self._run
        return True if run is None else run.done.wait(timeout)

    def stop(self, timeout: float = 1.0) -> bool:
        """
        Stop the run, join its threads and release the source; True when all were joined.

        Returns within timeout seconds. A thread still blocked in a native read (a stalled
        network stream, up to read_timeout) is left to finish by itself and reported (False).
        Called from a callback (the inference thread), it only asks the run to end.
        """
        run = self._run
        if run is None:
            return True
        run.end(STOPPED)
        self._source.interrupt()
        run.close_slots()
        current = threading.current_thread()
        if current is run.loop_thread or current in run.workers():
            return False  # a callback: the run ends when it returns
        deadline = time.monotonic() + timeout
        run.done.wait(max(0.0, deadline - time.monotonic()))
        for thread in run.workers():
            thread.join(max(0.0, deadline - time.monotonic()))
        alive = [t.name for t in run.workers() if t.is_alive()]
        if alive or not run.done.is_set():
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
        run = self._run
        source = self._source
        return self._stats.snapshot(
            source=self.source_description, source_state=source.state,
            running=self.running, stop_reason=run.reason if run and run.finished.is_set() else '',
            connection_losses=source.losses, reconnects=source.reconnects,
            source_skipped=source.skipped + (run.slot.dropped if run else 0))

    # ------------------------------------------------------------------ threads
    def _capture_loop(self, run: _Run) -> None:
        """Read, number, stamp and prepare frames; hand each over through the slot."""
        source, detector = self._source, self._detector
        captured = errors = 0
        limit = None if run.drop else self._max_frames  # nothing is dropped: stop reading
        try:
            while not run.stop.is_set():
                raw = source.read()
                if raw is None or run.stop.is_set():
                    break
                frame = Frame(raw.image, next(self._ids), raw.timestamp, raw.monotonic, raw.meta)
                self._stats.frame_in()
                try:
                    prepared = detector.prepare(frame.image)
                    errors = 0
                except Exception as exc:  # noqa: BLE001 - counted; too many in a row end it
                    if run.stop.is_set():
                        break
                    errors += 1
                    self._frame_error('preprocessing', frame, exc)
                    if errors >= MAX_CONSECUTIVE_ERRORS:
                        run.end(ERROR, exc)
                        break
                    continue
                try:
                    run.slot.put(_Packet(frame, prepared), block=not run.drop)
                except SlotClosed:
                    break
                captured += 1
                if limit is not None and captured >= limit:
                    run.note(MAX_FRAMES)
                    break
        except Exception as exc:  # noqa: BLE001 - reported as the run's error
            LOG.exception('capture thread failed on %s', self.source_description)
            run.end(ERROR, exc)
        finally:
            run.slot.finish()  # the inference thread drains what is left, then ends
            try:
                source.close()
            except Exception:  # noqa: BLE001 - releasing must not raise
                LOG.exception('closing %s failed', self.source_description)

    def _inference_loop(self, run: _Run) -> None:
        """Take the newest prepared frame, run the model on it, pass the result on."""
        detector = self._detector
        errors = 0
        try:
            for packet in run.items(run.slot):
                try:
                    detected = detector.run(packet.prepared, self._options)
                    errors = 0
                except Exception as exc:  # noqa: BLE001 - counted; too many in a row end it
                    if run.stop.is_set():
                        break
                    errors += 1
                    self._frame_error('inference', packet.frame, exc)
                    if errors >= MAX_CONSECUTIVE_ERRORS:
                        run.end(ERROR, exc)
                        break
                    continue
                detected.timings_ms['preprocess'] = packet.prepared.preprocess_ms
                try:
                    run.results.put(_Inferred(packet.frame, detected), block=True)
                except SlotClosed:
                    break
        except Exception as exc:  # noqa: BLE001 - reported as the run's error
            LOG.exception('inference thread failed on %s', self.source_description)
            run.end(ERROR, exc)
        finally:
            run.results.finish()  # the delivery loop delivers what is left, then ends

    def _delivery_loop(self, run: _Run) -> None:
        """Track each inferred frame in order and hand the result to the callbacks."""
        try:
            for inferred in run.items(run.results):
                try:
                    result = self._track(inferred)
                except Exception as exc:  # noqa: BLE001 - counted, the frame is skipped
                    self._frame_error('tracking', inferred.frame, exc)
                    continue
                run.processed += 1
                if not run.started_fired:
                    run.started_fired = True
                    stats = self.stats()
                    for callback in self._start_cbs.items:
                        self._call(callback, stats)
                self._deliver(result)
                if self._max_frames is not None and run.processed >= self._max_frames:
                    run.end(MAX_FRAMES)
                    break
        finally:
            self._finish(run)

    def _track(self, inferred: _Inferred) -> StreamResult:
        frame, detected = inferred
        tracker = self._tracker  # one read per frame: set_tracking applies from the next one
        detections = detected.detections
        start = time.perf_counter()
        if tracker is not None:
            detections = tracker.update(detections)
        else:
            detections.tracker_id = np.full(len(detections), NO_TRACK, dtype=int)
        timings = dict(detected.timings_ms)
        timings['track'] = (time.perf_counter() - start) * 1000.0
        age_ms = (time.monotonic() - frame.monotonic) * 1000.0
        return StreamResult(frame, detections, timings, age_ms)

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

    def _frame_error(self, stage: str, frame: Frame, exc: Exception) -> None:
        self._stats.count('errors')
        LOG.error('%s failed on frame %d of %s: %s: %s', stage, frame.frame_id,
                  self.source_description, type(exc).__name__, exc)

    def _finish(self, run: _Run) -> None:
        """End a run once: stop the other threads (they release the source), call on_stop."""
        if run.finished.is_set():
            return
        source_state = self._source.state
        if source_state == FAILED:
            run.end(FAILED_REASON)
        elif source_state == ENDED:
            run.end(ENDED_REASON)
        else:
            run.end(STOPPED)
        self._source.interrupt()
        run.close_slots()
        current = threading.current_thread()
        deadline = time.monotonic() + 1.0
        for thread in run.workers():
            if thread is not current:
                thread.join(max(0.0, deadline - time.monotonic()))
        self._stats.stopped()
        run.finished.set()
        stats = self.stats()
        LOG.info('stream from %s %s: %d frames processed, %d dropped, %.1f fps', stats.source,
                 stats.stop_reason, stats.frames_processed, stats.frames_dropped,
                 stats.mean_processed_fps)
        for callback in self._stop_cbs.items:
            self._call(callback, stats)
        run.done.set()
