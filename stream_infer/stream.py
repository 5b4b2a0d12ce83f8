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
InferenceStream: frames from one or several sources -> one detector -> trackers -> callbacks.

The stream is what a user holds: it builds the sources and the detector, holds the options in
force (thresholds, classes, tracking: live_options.py), the callbacks (stream_callbacks.py) and
the statistics (stream_stats.py), and starts one Pipeline (pipeline.py: capture, inference,
delivery) per run.
Nothing starts in the constructor: start() runs in the background, run() delivers on the
caller's thread. Options and tracking can be changed at any time from any thread (applied from
the next frame). Callbacks run on the delivery thread (the caller's in run()); their exceptions
are logged and counted.

    >>> from stream_infer import InferenceStream
    >>> from stream_infer.bundled import bundled_clip_path
    >>> stream = InferenceStream(bundled_clip_path(), max_frames=3, classes=['person'])
    >>> people = []
    >>> unsubscribe = stream.on_result(lambda result: people.append(len(result.detections)))
    >>> stream.run().frames_processed, len(people)
    (3, 3)

Several sources share the one model (served round-robin, batched when the model takes a
batch); each keeps its own frame numbering, tracker, statistics and, if set, options:

    >>> clip = bundled_clip_path()
    >>> stream = InferenceStream(sources={'left': clip, 'right': clip}, max_frames=2)
    >>> seen = []
    >>> unsubscribe = stream.on_result(lambda r: seen.append((r.source_name, r.frame_id)))
    >>> stream.run().frames_processed, sorted(seen)
    (4, [('left', 0), ('left', 1), ('right', 0), ('right', 1)])
"""

import functools
import logging
import threading
import time
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from stream_infer.depth import as_depth_image
from stream_infer.detection import Detector
from stream_infer.errors import UsageError
from stream_infer.lanes import (
    build_sources, find_index, Lane, LiveSettings, max_frames_limit, open_all, source_entries)
from stream_infer.live_options import LiveOptions
from stream_infer.options import (
    check_value, DepthOptions, from_mapping, ModelOptions, option_fields, PostprocessOptions,
    ReconnectPolicy, SourceOptions, TrackerOptions)
from stream_infer.pipeline import Hooks, Pipeline, StopReason
from stream_infer.results import Prediction, StreamResult
from stream_infer.run_control import check_previous_run_over, join_run, log_run
from stream_infer.sources import Frame, FrameSource, PushSource
from stream_infer.stats import Stats, StatsRecorder
from stream_infer.stream_callbacks import channel_order, SourceKey, StreamCallbacks
from stream_infer.stream_stats import source_snapshot, total_snapshot
from stream_infer.tracking import Tracker

LOG = logging.getLogger('stream_infer.stream')
DEFAULTS = PostprocessOptions()
RECONNECT = ReconnectPolicy()
DYNAMIC_BATCH = 8  # max_batch when the model's batch axis is dynamic and none is given

__all__ = ['Frame', 'InferenceStream', 'Prediction', 'StreamResult', 'Stats', 'StopReason']


class InferenceStream(StreamCallbacks):
    """
    Run a detector (and ByteTrack) over a stream of frames, delivering results to callbacks.

    source: None (push mode: frames come from put_frame), a camera index or 'webcam', a video
        or image file, an rtsp/http(s) URL, an iterable of BGR frames, or a FrameSource.
    sources: several sources instead of one, sharing the model: a list (named '0', '1', ...)
        or a {name: source} dict. Results carry source_index and source_name; stats(source=),
        update_options(source=), put_frame(source=) and on_source_state(source=) address one.
        max_frames then applies to each source. max_batch: most frames per model run when
        the model takes a batch (default: its fixed batch, or 8 when dynamic).
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
    depth_options: DepthOptions (or a dict of its fields) for frames that come with an aligned
        depth image (put_frame(depth=...), RGBDFrame items): their detections get 3D boxes.
    clock: a callable returning the current time in seconds; it stamps the frames the source
        captures (Frame.timestamp) and push-mode frames put without a timestamp. None = the
        wall clock (time.time()); the ROS node passes its own clock (simulated time with
        use_sim_time), as camera drivers do.
    The defaults are those of stream_infer.options.
    """

    def __init__(self, source: Any = None, model: Any = None, *,
                 sources: Union[Sequence[Any], Mapping[str, Any], None] = None,
                 max_batch: Optional[int] = None,
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
                 depth_options: Union[DepthOptions, Mapping[str, Any], None] = None,
                 clock: Optional[Callable[[], float]] = None) -> None:
        limit = max_frames_limit(max_frames)
        self._channel_order = channel_order(output_channel_order)
        self._max_batch = check_value(option_fields(ModelOptions)['max_batch'], max_batch)
        policy = reconnect or ReconnectPolicy(
            initial_delay=reconnect_delay, max_delay=reconnect_max_delay,
            max_attempts=reconnect_attempts, open_timeout=open_timeout,
            read_timeout=read_timeout)
        playback = SourceOptions(enforce_fps=enforce_fps, loop=loop)
        if clock is not None and not callable(clock):
            raise TypeError(f'clock must be a callable returning seconds, got {clock!r}')
        entries = source_entries(source, sources)
        built = build_sources(entries, playback, policy, clock)
        depth = from_mapping(DepthOptions, depth_options)
        if isinstance(model, Detector):
            self._detector, self._owns_detector = model, False
        else:
            self._detector = Detector(model, providers=providers, threads=threads,
                                      labels=labels, **dict(detector_kwargs or {}))
            self._owns_detector = True
        shared = PostprocessOptions(
            confidence=confidence, iou_threshold=iou_threshold, class_agnostic=class_agnostic,
            max_candidates=max_candidates, max_detections=max_detections,
            classes=self._detector.resolve_classes(classes))
        self._lock = threading.RLock()
        self._stats = StatsRecorder()  # the total; with one source also that source's
        self._stats.stopped()
        self._lanes: List[Lane] = []
        for index, ((name, _), frame_source) in enumerate(zip(entries, built)):
            stats = self._stats if len(entries) == 1 else StatsRecorder(parent=self._stats)
            stats.stopped()
            lane = Lane(index, name, frame_source, LiveSettings(shared, None, depth), stats,
                        limit)
            frame_source.listener = functools.partial(self._on_source_state, lane)
            self._lanes.append(lane)
        self._names = [lane.name for lane in self._lanes]
        self._live = LiveOptions(self._lanes, shared,
                                 from_mapping(TrackerOptions, tracker_options), track)
        self._pipeline: Optional[Pipeline] = None
        self._closed = False
        self._stop_asked = threading.Event()  # a stop() that could not wait for a start
        self._init_callbacks()  # on_result, on_stop, ...: stream_callbacks.py

    # ------------------------------------------------------------------ properties
    @property
    def detector(self) -> Detector:
        return self._detector

    @property
    def class_names(self) -> list:
        return self._detector.class_names

    @property
    def source(self) -> FrameSource:
        """Return the source of a single-source stream (several: see sources)."""
        return self._lane(None).source

    @property
    def sources(self) -> Tuple[FrameSource, ...]:
        """Return every source, in index order."""
        return tuple(lane.source for lane in self._lanes)

    @property
    def source_names(self) -> Tuple[str, ...]:
        """Return the sources' names, in index order ('' for a single-source stream)."""
        return tuple(self._names)

    @property
    def source_description(self) -> str:
        """Return what is being read, safe to log (URL credentials removed)."""
        if len(self._lanes) == 1:
            return self._lanes[0].source.description
        return ', '.join(f'{lane.name}: {lane.source.description}' for lane in self._lanes)

    @property
    def options(self) -> PostprocessOptions:
        """Return the postprocess options shared by the sources (the stream is their owner)."""
        return self._live.shared

    def options_for(self, source: SourceKey = None) -> PostprocessOptions:
        """Return the options in force for one source (the shared ones plus its overrides)."""
        return self._lane(source).settings.options

    @property
    def max_batch(self) -> int:
        """Return the most frames one model run takes in this stream (1: one at a time)."""
        requested = self._max_batch
        model = self._detector.max_batch  # 1, its fixed batch, or None (dynamic)
        if model is None:
            return requested or DYNAMIC_BATCH
        return model if requested is None else min(requested, model)

    @property
    def model_runs(self) -> int:
        """Return the model runs of the current (or last) run; a batch of frames is one."""
        pipeline = self._pipeline
        return 0 if pipeline is None else pipeline.model_runs

    @property
    def tracking(self) -> bool:
        return self._live.tracking

    @property
    def tracker_options(self) -> TrackerOptions:
        return self._live.tracker_options

    @property
    def tracker(self) -> Optional[Tracker]:
        """Return the tracker in use (None when tracking is off), e.g. for tracks_seen."""
        return self._lane(None).settings.tracker

    def tracker_for(self, source: SourceKey) -> Optional[Tracker]:
        """Return one source's tracker (each source has its own track ids)."""
        return self._lane(source).settings.tracker

    @property
    def running(self) -> bool:
        pipeline = self._pipeline
        return pipeline is not None and not pipeline.finished.is_set()

    @property
    def error(self) -> Optional[BaseException]:
        """Return the exception that ended the last run (None when it ended normally)."""
        pipeline = self._pipeline
        return None if pipeline is None else pipeline.error

    # ------------------------------------------------------------------ sources
    def _index(self, source: SourceKey) -> int:
        return find_index(self._names, source)

    def _lane(self, source: SourceKey) -> Lane:
        return self._lanes[self._index(source)]

    # ------------------------------------------------------------------ runtime updates
    def update_options(self, source: SourceKey = None, **changes: Any) -> PostprocessOptions:
        """
        Change postprocess options (PostprocessOptions fields) from the next frame on.

        source: None changes the options shared by every source (a source's own overrides
        stay); a name or index changes that source alone (overrides kept until
        reset_options). classes may be names or indices. Thread-safe; invalid values raise
        ConfigurationError (a ValueError) and change nothing. Returns the options now in
        force (shared, or that source's).
        """
        if 'classes' in changes:
            changes['classes'] = self._detector.resolve_classes(changes['classes'])
        return self._live.update(None if source is None else self._lane(source), changes)

    def reset_options(self, source: SourceKey) -> PostprocessOptions:
        """Drop one source's own option overrides: it follows the shared options again."""
        return self._live.reset(self._lane(source))

    def set_tracking(self, enabled: bool, **tracker_params: Any) -> TrackerOptions:
        """
        Turn ByteTrack on or off and/or change its parameters; always starts fresh tracks.

        tracker_params are TrackerOptions fields. Thread-safe; applied from the next frame.
        """
        return self._live.set_tracking(enabled, tracker_params)

    # ------------------------------------------------------------------ push mode
    def put_frame(self, image: np.ndarray, timestamp: Optional[float] = None,
                  meta: Any = None, source: SourceKey = None, *, depth: Any = None,
                  intrinsics: Any = None) -> bool:
        """
        Hand a BGR frame to a push-mode stream (source=None) or push source; never blocks.

        timestamp: the capture time in seconds (default: now, by the stream's clock); meta:
        anything, handed back untouched in StreamResult.frame.meta. A frame not yet taken is
        replaced by a newer one (counted as dropped). Returns False when the stream is not
        running. source: which source (name or index) with several, each given as None (push)
        in sources=. depth: an aligned depth image (uint16 mm or float m, or a DepthImage) with
        its intrinsics (a 3x3 K, (fx, fy, cx, cy) or CameraIntrinsics): travels with the frame.
        """
        frame_source = self._lane(source).source
        if not isinstance(frame_source, PushSource):
            raise UsageError(f'put_frame needs push mode (source=None); this stream reads '
                             f'{frame_source.description}')
        return frame_source.put(image, timestamp, meta, as_depth_image(depth, intrinsics))

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> 'InferenceStream':
        """Open the sources; start the capture, inference and delivery threads; return self."""
        self._begin(deliver_here=False)
        return self

    def run(self) -> Stats:
        """
        Run until the stream ends or stop() is called, delivering on the caller's thread.

        Capture and inference still run on their own threads; tracking and every callback run
        here. Returns the final stats. Ctrl-C (KeyboardInterrupt) stops the stream cleanly and
        is re-raised.
        """
        pipeline = self._begin(deliver_here=True)
        try:
            pipeline.deliver_loop()
        except KeyboardInterrupt:
            pipeline.end(StopReason.STOPPED)
            pipeline.finish()
            raise
        return self.stats()

    def _begin(self, deliver_here: bool) -> Pipeline:
        with self._lock:  # held until the threads run: a stop() meanwhile stops this run
            if self._closed:
                raise UsageError('this InferenceStream is closed; create a new one')
            if self.running:
                raise UsageError('the stream is already running; stop() it first')
            check_previous_run_over(self._pipeline)
            self._stop_asked.clear()
            open_all(self.sources)  # raises SourceError with a clear message
            self._stats.reset()
            for lane in self._lanes:
                lane.stats.reset()
            self._live.new_trackers()
            pipeline = Pipeline(self._lanes, self._detector, self._stats,
                                Hooks(self._deliver, self._started, self._finished,
                                      self._source_ended),
                                self.max_batch)
            if self._stop_asked.is_set():  # stop() during the opens: this run ends at once
                pipeline.end(StopReason.STOPPED)
            self._pipeline = pipeline
            log_run(pipeline, self._detector.provider, self._live.tracking)
            pipeline.start(deliver_here)
        return pipeline

    def wait(self, timeout: Optional[float] = None) -> bool:
        """Block until the current run ends; False on timeout."""
        pipeline = self._pipeline
        return True if pipeline is None else pipeline.done.wait(timeout)

    def stop(self, timeout: float = 1.0) -> bool:
        """
        Stop the run, join its threads and release the source; True when all were joined.

        Returns within timeout seconds. A thread still blocked in a native read (a stalled
        network stream, up to read_timeout) is left to finish by itself and reported (False);
        start() is refused until it has exited (stop() again waits for it). A start() still
        opening its sources ends its run as soon as they are open (False when that takes
        longer than timeout). Called from a callback (the delivery thread), it only asks the
        run to end.
        """
        deadline = time.monotonic() + timeout
        self._stop_asked.set()
        if not self._lock.acquire(timeout=max(0.0, timeout)):
            return False  # a start() is opening its sources: it sees _stop_asked
        pipeline = self._pipeline
        self._lock.release()
        if pipeline is None:
            return True
        pipeline.end(StopReason.STOPPED)
        pipeline.interrupt()
        current = threading.current_thread()
        if current is pipeline.loop_thread or current in pipeline.workers():
            return False  # a callback: the run ends when it returns
        return join_run(pipeline, deadline)

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
    def stats(self, source: SourceKey = None) -> Stats:
        """
        Return a snapshot of counters, rates and latencies (thread-safe).

        With several sources: the total over all of them (source_state 'connected' when all
        are, else each state with its count; stop_reason the most serious), or one source's
        (source=name or index; its stop_reason is set as soon as that source has ended).
        """
        pipeline = self._pipeline
        if len(self._lanes) == 1 or source is not None:
            return source_snapshot(self._lane(source), pipeline, self.running,
                                   several=len(self._lanes) > 1)
        return total_snapshot(self._stats, self.sources, self.source_description, pipeline,
                              self.running)

    def stats_by_source(self) -> Dict[str, Stats]:
        """Return {source name: that source's stats} (one entry, named '', for one source)."""
        return {lane.name: self.stats(lane.index) for lane in self._lanes}
