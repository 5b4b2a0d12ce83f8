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
One run of the engine: the capture, inference and delivery loops over one source.

The capture thread reads a frame, numbers and stamps it, preprocesses it (Detector.prepare) and
puts the whole (Frame, PreparedFrame) pair into a single-slot buffer; the inference thread takes
the pair and runs the model (Detector.infer); the delivery thread postprocesses (decode, NMS:
Detector.postprocess), tracks and hands a StreamResult carrying exactly the frame that was
predicted to the callbacks. So preprocessing frame N+1 and postprocessing/tracking/delivering
frame N-1 overlap inference of frame N, and the model thread does nothing but run the model
(with the model on an accelerator, its rate is the model's). Live sources (cameras, URLs, push,
files with enforce_fps) replace a waiting frame with a newer one and count the drop, so latency
stays bounded; other sources wait for the consumer, so nothing is dropped. Every frame that was
inferred is delivered, in order (the inference -> delivery hand-off waits).

The InferenceStream (stream.py) builds one Pipeline per start()/run() and owns everything that
outlives a run: the detector, the options, the tracker, the callbacks and the statistics.
"""

from dataclasses import dataclass
from enum import StrEnum
import logging
import threading
import time
from typing import Callable, Iterator, NamedTuple, Optional

import numpy as np

from stream_infer.detection import DetectionResult, Detector, InferredFrame, PreparedFrame
from stream_infer.frame_buffer import LatestSlot, SlotClosed
from stream_infer.options import PostprocessOptions
from stream_infer.results import StreamResult
from stream_infer.sources import Frame, FrameSource, SourceState
from stream_infer.stats import StatsRecorder
from stream_infer.tracking import NO_TRACK, Tracker

LOG = logging.getLogger('stream_infer.stream')

MAX_CONSECUTIVE_ERRORS = 5  # frames in a row whose preprocess/inference raised: give up
POLL_S = 0.1  # how often blocked threads look at the stop flag
THREAD_PREFIX = 'stream_infer-'


class StopReason(StrEnum):
    """Why a run ended (Stats.stop_reason, on_stop)."""

    STOPPED = 'stopped'  # stop() was called (or Ctrl-C in run())
    ENDED = 'ended'  # the source has no more frames
    MAX_FRAMES = 'max_frames'  # max_frames were processed
    FAILED = 'failed'  # the source gave up (reconnect attempts spent, bad frame)
    ERROR = 'error'  # preprocessing or the model kept failing (Pipeline.error says why)


@dataclass
class LiveSettings:
    """What a run reads once per frame; the stream swaps whole objects in from any thread."""

    options: PostprocessOptions
    tracker: Optional[Tracker]


class Hooks(NamedTuple):
    """How a run reports to its stream: each delivered result, its first frame, its end."""

    deliver: Callable[[StreamResult], None]
    started: Callable[[], None]
    finished: Callable[['Pipeline'], None]


class _Packet(NamedTuple):
    frame: Frame
    prepared: PreparedFrame


class _Inferred(NamedTuple):
    frame: Frame
    inferred: InferredFrame
    options: PostprocessOptions


class Pipeline:
    """The state and threads of one start()..stop() run; a restart gets a fresh one."""

    def __init__(self, source: FrameSource, detector: Detector, settings: LiveSettings,
                 stats: StatsRecorder, hooks: Hooks, frame_ids: Iterator[int],
                 max_frames: Optional[int] = None) -> None:
        self.source = source
        self.detector = detector
        self.settings = settings
        self.stats = stats
        self.hooks = hooks
        self.frame_ids = frame_ids
        self.max_frames = max_frames
        self.drop = source.live
        self.slot: LatestSlot[_Packet] = LatestSlot()  # capture -> inference, newest wins
        self.results: LatestSlot[_Inferred] = LatestSlot()  # inference -> delivery, waits
        self.stop_flag = threading.Event()
        self.finished = threading.Event()  # ended: threads done, on_stop callbacks next
        self.done = threading.Event()  # ended and on_stop callbacks called
        self.reason: Optional[StopReason] = None
        self.error: Optional[BaseException] = None
        self.processed = 0
        self.started_fired = False
        self._lock = threading.Lock()
        self.capture_thread = threading.Thread(
            target=self._capture_loop, name=THREAD_PREFIX + 'capture', daemon=True)
        self.infer_thread = threading.Thread(
            target=self._inference_loop, name=THREAD_PREFIX + 'infer', daemon=True)
        self.deliver_thread: Optional[threading.Thread] = None  # None: run() on the caller
        self.loop_thread: Optional[threading.Thread] = None  # whoever runs the delivery loop

    # ------------------------------------------------------------------ control
    def start(self, deliver_here: bool = False) -> None:
        """Start the threads; deliver_here: the caller runs deliver_loop() itself next."""
        if deliver_here:
            self.loop_thread = threading.current_thread()
        else:
            self.deliver_thread = threading.Thread(
                target=self.deliver_loop, name=THREAD_PREFIX + 'deliver', daemon=True)
            self.loop_thread = self.deliver_thread
        self.capture_thread.start()
        self.infer_thread.start()
        if self.deliver_thread is not None:
            self.deliver_thread.start()

    def workers(self) -> list:
        """Return the run's own threads that were started."""
        return [t for t in (self.capture_thread, self.infer_thread, self.deliver_thread)
                if t is not None and t.ident is not None]

    def end(self, reason: StopReason, error: Optional[BaseException] = None) -> None:
        """Record why the run ends (the first reason wins) and raise the stop flag."""
        self.note(reason, error)
        self.stop_flag.set()

    def note(self, reason: StopReason, error: Optional[BaseException] = None) -> None:
        """Record why the run will end without stopping it (what is buffered is still done)."""
        with self._lock:
            if self.reason is None:
                self.reason = reason
                self.error = error

    def interrupt(self) -> None:
        """Wake every thread blocked in the source or a slot (they then see the stop flag)."""
        self.source.interrupt()
        self.slot.close()
        self.results.close()

    @property
    def dropped(self) -> int:
        """Frames replaced in the slot before the model took them."""
        return self.slot.dropped

    # ------------------------------------------------------------------ threads
    def _items(self, slot: LatestSlot) -> Iterator:
        """Yield what slot hands over until the run stops or the slot is closed or drained."""
        while not self.stop_flag.is_set():
            try:
                item = slot.take(POLL_S)
            except SlotClosed:
                return
            if item is not None:
                yield item

    def _capture_loop(self) -> None:
        """Read, number, stamp and prepare frames; hand each over through the slot."""
        source, detector = self.source, self.detector
        captured = errors = 0
        limit = None if self.drop else self.max_frames  # nothing is dropped: stop reading
        try:
            while not self.stop_flag.is_set():
                raw = source.read()
                if raw is None or self.stop_flag.is_set():
                    break
                frame = Frame(raw.image, next(self.frame_ids), raw.timestamp, raw.monotonic,
                              raw.meta)
                self.stats.frame_in()
                try:
                    prepared = detector.prepare(frame.image)
                    errors = 0
                except Exception as exc:  # noqa: BLE001 - counted; too many in a row end it
                    if self.stop_flag.is_set():
                        break
                    errors += 1
                    self._frame_error('preprocessing', frame, exc)
                    if errors >= MAX_CONSECUTIVE_ERRORS:
                        self.end(StopReason.ERROR, exc)
                        break
                    continue
                try:
                    self.slot.put(_Packet(frame, prepared), block=not self.drop)
                except SlotClosed:
                    break
                captured += 1
                if limit is not None and captured >= limit:
                    self.note(StopReason.MAX_FRAMES)
                    break
        except Exception as exc:  # noqa: BLE001 - reported as the run's error
            LOG.exception('capture thread failed on %s', source.description)
            self.end(StopReason.ERROR, exc)
        finally:
            self.slot.finish()  # the inference thread drains what is left, then ends
            try:
                source.close()
            except Exception:  # noqa: BLE001 - releasing must not raise
                LOG.exception('closing %s failed', source.description)

    def _inference_loop(self) -> None:
        """Take the newest prepared frame, run the model on it, pass the output on."""
        detector, settings = self.detector, self.settings
        errors = 0
        try:
            for packet in self._items(self.slot):
                options = settings.options  # one read per frame: changes apply from the next
                try:
                    inferred = detector.infer(packet.prepared)
                    errors = 0
                except Exception as exc:  # noqa: BLE001 - counted; too many in a row end it
                    if self.stop_flag.is_set():
                        break
                    errors += 1
                    self._frame_error('inference', packet.frame, exc)
                    if errors >= MAX_CONSECUTIVE_ERRORS:
                        self.end(StopReason.ERROR, exc)
                        break
                    continue
                try:
                    self.results.put(_Inferred(packet.frame, inferred, options), block=True)
                except SlotClosed:
                    break
        except Exception as exc:  # noqa: BLE001 - reported as the run's error
            LOG.exception('inference thread failed on %s', self.source.description)
            self.end(StopReason.ERROR, exc)
        finally:
            self.results.finish()  # the delivery loop delivers what is left, then ends

    def deliver_loop(self) -> None:
        """Postprocess and track each inferred frame in order; hand the result to the stream."""
        errors = 0
        try:
            for inferred in self._items(self.results):
                try:
                    detected = self.detector.postprocess(inferred.inferred, inferred.options)
                    errors = 0
                except Exception as exc:  # noqa: BLE001 - counted; too many in a row end it
                    errors += 1
                    self._frame_error('postprocessing', inferred.frame, exc)
                    if errors >= MAX_CONSECUTIVE_ERRORS:
                        self.end(StopReason.ERROR, exc)
                        break
                    continue
                try:
                    result = self._track(inferred.frame, detected, inferred.options)
                except Exception as exc:  # noqa: BLE001 - counted, the frame is skipped
                    self._frame_error('tracking', inferred.frame, exc)
                    continue
                self.processed += 1
                if not self.started_fired:
                    self.started_fired = True
                    self.hooks.started()
                self.hooks.deliver(result)
                if self.max_frames is not None and self.processed >= self.max_frames:
                    self.end(StopReason.MAX_FRAMES)
                    break
        finally:
            self.finish()

    def _track(self, frame: Frame, detected: DetectionResult,
               options: PostprocessOptions) -> StreamResult:
        tracker = self.settings.tracker  # one read per frame: changes apply from the next one
        detections = detected.detections
        start = time.perf_counter()
        if tracker is not None:
            detections = tracker.update(detections)
        else:
            detections.tracker_id = np.full(len(detections), NO_TRACK, dtype=int)
        timings = dict(detected.timings_ms)
        timings['track'] = (time.perf_counter() - start) * 1000.0
        age_ms = (time.monotonic() - frame.monotonic) * 1000.0
        return StreamResult(frame, detections, timings, age_ms, options)

    def _frame_error(self, stage: str, frame: Frame, exc: Exception) -> None:
        self.stats.count('errors')
        LOG.error('%s failed on frame %d of %s: %s: %s', stage, frame.frame_id,
                  self.source.description, type(exc).__name__, exc)

    def finish(self) -> None:
        """End the run once: stop the other threads (they release the source), report it."""
        if self.finished.is_set():
            return
        source_state = self.source.state
        if source_state == SourceState.FAILED:
            self.end(StopReason.FAILED)
        elif source_state == SourceState.ENDED:
            self.end(StopReason.ENDED)
        else:
            self.end(StopReason.STOPPED)
        self.interrupt()
        current = threading.current_thread()
        deadline = time.monotonic() + 1.0
        for thread in self.workers():
            if thread is not current:
                thread.join(max(0.0, deadline - time.monotonic()))
        self.stats.stopped()
        self.finished.set()
        try:
            self.hooks.finished(self)
        finally:
            self.done.set()


__all__ = ['Hooks', 'LiveSettings', 'Pipeline', 'StopReason']
