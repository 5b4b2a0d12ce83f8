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
One run of the engine: a capture loop per source, one inference loop, one delivery loop.

Each source is a lane: its capture thread reads a frame, numbers and stamps it, preprocesses it
(Detector.prepare) and puts the whole (Frame, PreparedFrame) pair into the lane's single-slot
buffer. The inference thread takes what the lanes hold, round-robin (frame_buffer.SlotGroup),
runs the model alone (Detector.infer, or infer_batch for several lanes at once when the model
takes a batch), and hands the outputs on; the delivery thread postprocesses each (decode, NMS:
Detector.postprocess, with its lane's options), tracks it with its lane's tracker and hands a
StreamResult carrying exactly the frame that was predicted (and its source) to the callbacks
(that last stage: track_stage.py).
So preprocessing the next frames and postprocessing/tracking/delivering the previous ones
overlap inference, and the model thread does nothing but run the model (with the model on an
accelerator, the rate is the model's). One source is one lane: the same three threads as ever.

Live sources (cameras, URLs, push, files with enforce_fps) replace a waiting frame with a newer
one and count the drop, so latency stays bounded; other sources wait for the consumer, so
nothing is dropped. Round-robin over the lanes that hold a frame means a fast camera cannot
starve a slow one, and a lane that is reconnecting, stalled or ended holds nothing and so
blocks nobody. Every frame that was inferred is delivered, in order per lane (the inference ->
delivery hand-off waits).

The InferenceStream (stream.py) builds one Pipeline per start()/run() and owns everything that
outlives a run: the detector, the lanes (lanes.py: source, options, tracker, frame numbering,
statistics), the callbacks.
"""

import logging
import threading
import time
from typing import Callable, Iterator, List, NamedTuple, Optional, Sequence, Union

from stream_infer.detection import Detector, InferredFrame, PreparedFrame
from stream_infer.frame_buffer import LatestSlot, SlotClosed, SlotGroup
from stream_infer.lanes import Lane, LiveSettings
from stream_infer.options import PostprocessOptions
from stream_infer.results import StreamResult
from stream_infer.sources import Frame, SourceState
from stream_infer.stats import StatsRecorder
from stream_infer.stop_reason import combined_reason, StopReason
from stream_infer.track_stage import tracked_result

LOG = logging.getLogger('stream_infer.stream')

MAX_CONSECUTIVE_ERRORS = 5  # frames in a row whose preprocess/inference raised: give up
POLL_S = 0.1  # how often blocked threads look at the stop flag
THREAD_PREFIX = 'stream_infer-'


class Hooks(NamedTuple):
    """
    How a run reports to its stream: each result, its first frame, its end.

    source_ended: one source's last result was delivered (it ended, failed, hit max_frames
    or kept failing: LaneRun.reason says which) while the run may go on with the others.
    """

    deliver: Callable[[StreamResult], None]
    started: Callable[[], None]
    finished: Callable[['Pipeline'], None]
    source_ended: Optional[Callable[['LaneRun'], None]] = None


class _Packet(NamedTuple):
    frame: Frame
    prepared: PreparedFrame


class LaneRun:
    """The per-run state of one lane: its slot, capture thread, counters and end reason."""

    def __init__(self, lane: Lane, slot: LatestSlot, thread_name: str,
                 target: Callable[['LaneRun'], None]) -> None:
        self.lane = lane
        self.slot = slot
        self.drop = lane.source.live
        self.stop_flag = threading.Event()
        self.reason: Optional[StopReason] = None
        self.error: Optional[BaseException] = None
        self.processed = 0
        # failed frames in a row per stage (inference on the model thread, postprocessing on
        # the delivery thread): each stage's own count, reset by its own next success
        self.errors_in_a_row = {'inference': 0, 'postprocessing': 0}
        self.closed = False  # ended early (max_frames, errors): nothing more is delivered
        self.end_announced = False  # its _SourceEnd went to the delivery thread (infer thread)
        self.end_reported = False  # source_ended was called for it (delivery thread; once)
        self._lock = threading.Lock()
        self.thread = threading.Thread(target=target, args=(self,), name=thread_name,
                                       daemon=True)

    def note(self, reason: StopReason, error: Optional[BaseException] = None) -> None:
        """Record why this lane ends (the first reason wins)."""
        with self._lock:
            if self.reason is None:
                self.reason = reason
                self.error = error

    @property
    def delivered_all(self) -> bool:
        """Return True once max_frames results were delivered (later frames are not)."""
        limit = self.lane.max_frames
        return limit is not None and self.processed >= limit


class _SourceEnd(NamedTuple):
    """Told to the delivery thread after the last frame of a source that will send no more."""

    run: 'LaneRun'


class _Inferred(NamedTuple):
    run: LaneRun
    frame: Frame
    inferred: InferredFrame
    options: PostprocessOptions


class Pipeline:
    """The state and threads of one start()..stop() run; a restart gets a fresh one."""

    def __init__(self, lanes: Sequence[Lane], detector: Detector, stats: StatsRecorder,
                 hooks: Hooks, max_batch: int = 1) -> None:
        self.detector = detector
        self.stats = stats  # the total (the only recorder with one lane)
        self.hooks = hooks
        self.max_batch = max(1, int(max_batch))
        self.group: SlotGroup[_Packet] = SlotGroup(len(lanes))  # capture -> inference
        single = len(lanes) == 1
        self.runs: List[LaneRun] = [
            LaneRun(lane, slot, THREAD_PREFIX + ('capture' if single else f'capture-{lane.name}'),
                    self._capture_loop)
            for lane, slot in zip(lanes, self.group.slots)]
        self.results: LatestSlot[tuple] = LatestSlot()  # inference -> delivery, waits
        self.stop_flag = threading.Event()
        self.finished = threading.Event()  # ended: threads done, on_stop callbacks next
        self.done = threading.Event()  # ended and on_stop callbacks called
        self.reason: Optional[StopReason] = None  # set when the run has finished
        self._error: Optional[BaseException] = None
        self.processed = 0
        self.model_runs = 0  # session runs (a batch is one)
        self.started_fired = False
        self._lock = threading.Lock()
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
        for run in self.runs:
            run.thread.start()
        self.infer_thread.start()
        if self.deliver_thread is not None:
            self.deliver_thread.start()

    def workers(self) -> list:
        """Return the run's own threads that were started."""
        threads = [run.thread for run in self.runs] + [self.infer_thread, self.deliver_thread]
        return [t for t in threads if t is not None and t.ident is not None]

    def end(self, reason: StopReason, error: Optional[BaseException] = None) -> None:
        """End the whole run: every source that has no reason yet ends for this one."""
        with self._lock:
            if error is not None and self._error is None:
                self._error = error
        for run in self.runs:
            run.note(reason, error)
            run.stop_flag.set()
        self.stop_flag.set()

    def end_lane(self, run: LaneRun, reason: StopReason,
                 error: Optional[BaseException] = None) -> None:
        """End one source now (max_frames, errors): its frames still waiting are discarded."""
        run.note(reason, error)
        run.closed = True
        run.stop_flag.set()
        run.slot.close()
        run.lane.source.interrupt()

    def interrupt(self) -> None:
        """Wake every thread blocked in a source or a slot (they then see the stop flag)."""
        for run in self.runs:
            run.lane.source.interrupt()
        self.group.close()
        self.results.close()

    @property
    def error(self) -> Optional[BaseException]:
        """Return the exception that ended the run or one of its sources (None: none did)."""
        if self._error is not None:
            return self._error
        return next((run.error for run in self.runs if run.error is not None), None)

    @property
    def dropped(self) -> int:
        """Frames replaced in the slots before the model took them (all sources)."""
        return self.group.dropped

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

    def _capture_loop(self, run: LaneRun) -> None:
        """Read, number, stamp and prepare one source's frames; hand each over in its slot."""
        lane, detector = run.lane, self.detector
        source = lane.source
        captured = errors = 0
        limit = None if run.drop else lane.max_frames  # nothing is dropped: stop reading
        try:
            while not run.stop_flag.is_set():
                raw = source.read()
                if raw is None or run.stop_flag.is_set():
                    break
                frame = Frame(raw.image, next(lane.frame_ids), raw.timestamp, raw.monotonic,
                              raw.meta, raw.depth)
                lane.stats.frame_in()
                try:
                    prepared = detector.prepare(frame.image)
                    errors = 0
                except Exception as exc:  # noqa: BLE001 - counted; too many in a row end it
                    if run.stop_flag.is_set():
                        break
                    errors += 1
                    self._frame_error(run, 'preprocessing', frame, exc)
                    if errors >= MAX_CONSECUTIVE_ERRORS:
                        self.end_lane(run, StopReason.ERROR, exc)
                        break
                    continue
                try:
                    run.slot.put(_Packet(frame, prepared), block=not run.drop)
                except SlotClosed:
                    break
                captured += 1
                if limit is not None and captured >= limit:
                    run.note(StopReason.MAX_FRAMES)
                    break
        except Exception as exc:  # noqa: BLE001 - reported as the source's error
            LOG.exception('capture thread failed on %s', source.description)
            self.end_lane(run, StopReason.ERROR, exc)
        finally:
            self._note_source_end(run)
            run.slot.finish()  # the inference thread drains what is left
            try:
                source.close()
            except Exception:  # noqa: BLE001 - releasing must not raise
                LOG.exception('closing %s failed', source.description)

    @staticmethod
    def _note_source_end(run: LaneRun) -> None:
        state = run.lane.source.state
        if state == SourceState.FAILED:
            run.note(StopReason.FAILED)
        elif state == SourceState.ENDED:
            run.note(StopReason.ENDED)

    def _inference_loop(self) -> None:
        """Take the lanes' newest prepared frames, round-robin; run the model; pass them on."""
        try:
            while not self.stop_flag.is_set():
                try:
                    taken = self.group.take(self.max_batch, POLL_S)
                except SlotClosed:  # every source drained: tell the last ends, then stop
                    self._hand_over(self._source_ends())
                    break
                inferred = self._infer([(self.runs[index], packet) for index, packet in taken]) \
                    if taken else ()
                if not self._hand_over(inferred + self._source_ends()):  # ends after frames
                    break
        except Exception as exc:  # noqa: BLE001 - reported as the run's error
            LOG.exception('inference thread failed')
            self.end(StopReason.ERROR, exc)
        finally:
            self.results.finish()  # the delivery loop delivers what is left, then ends

    def _hand_over(self, items: tuple) -> bool:
        """Pass items to the delivery thread (waiting for it); False once it is closed."""
        if items:
            try:
                self.results.put(items, block=True)
            except SlotClosed:
                return False
        return True

    def _source_ends(self) -> tuple:
        """Return a _SourceEnd for each source whose slot will give nothing more (once each)."""
        ends = []
        for run in self.runs:
            if not run.end_announced and run.slot.drained:
                run.end_announced = True
                ends.append(_SourceEnd(run))
        return tuple(ends)

    def _infer(self, taken: List[tuple]) -> tuple:
        """Run the model on one frame per lane taken; count and skip the frames that fail."""
        options = [run.lane.settings.options for run, _ in taken]  # one read per frame
        self.model_runs += 1
        outcomes: List[Union[InferredFrame, Exception]]
        if len(taken) == 1:
            outcomes = [self._infer_one(taken[0][1])]
        else:
            try:
                outcomes = list(self.detector.infer_batch(
                    [packet.prepared for _, packet in taken]))
            except Exception:  # noqa: BLE001 - find the frame(s) to blame: one at a time
                outcomes = [self._infer_one(packet) for _, packet in taken]
        inferred = []
        for (run, packet), opts, outcome in zip(taken, options, outcomes):
            if isinstance(outcome, Exception):
                if self.stop_flag.is_set():
                    return ()
                self._count_error(run, 'inference', packet.frame, outcome)
                continue
            run.errors_in_a_row['inference'] = 0
            inferred.append(_Inferred(run, packet.frame, outcome, opts))
        return tuple(inferred)

    def _infer_one(self, packet: _Packet) -> Union[InferredFrame, Exception]:
        try:
            return self.detector.infer(packet.prepared)
        except Exception as exc:  # noqa: BLE001 - the caller counts it against the frame
            return exc

    def _count_error(self, run: LaneRun, stage: str, frame: Frame, exc: Exception) -> None:
        """Count a frame that failed; too many in a row (model or postprocess) end its lane."""
        run.errors_in_a_row[stage] += 1
        self._frame_error(run, stage, frame, exc)
        if run.errors_in_a_row[stage] >= MAX_CONSECUTIVE_ERRORS:
            self.end_lane(run, StopReason.ERROR, exc)

    def deliver_loop(self) -> None:
        """Postprocess and track each inferred frame, in order per source; deliver the result."""
        try:
            for batch in self._items(self.results):
                for item in batch:
                    if isinstance(item, _SourceEnd):
                        self._source_ended(item.run)
                    else:
                        self._deliver_one(item)
                if all(run.closed for run in self.runs):
                    break  # every source ended early: nothing more to deliver
        finally:
            self.finish()

    def _source_ended(self, run: LaneRun) -> None:
        """Tell the stream a source delivered its last result (from the delivery thread)."""
        self._note_source_end(run)
        if run.reason in (None, StopReason.STOPPED) or run.end_reported:
            return  # stopped (not ended by itself): the run's end reports it; or told already
        run.end_reported = True
        hook = self.hooks.source_ended
        if hook is not None:
            hook(run)

    def _deliver_one(self, inferred: _Inferred) -> None:
        run = inferred.run
        if run.delivered_all or run.closed:
            return
        try:
            detected = self.detector.postprocess(inferred.inferred, inferred.options)
        except Exception as exc:  # noqa: BLE001 - counted; too many in a row end the lane
            self._count_error(run, 'postprocessing', inferred.frame, exc)
            return
        run.errors_in_a_row['postprocessing'] = 0
        try:
            result = tracked_result(run.lane, inferred.frame, detected, inferred.options)
        except Exception as exc:  # noqa: BLE001 - counted, the frame is skipped
            self._frame_error(run, 'tracking', inferred.frame, exc)
            return
        run.processed += 1
        self.processed += 1
        if not self.started_fired:
            self.started_fired = True
            self.hooks.started()
        self.hooks.deliver(result)
        if run.delivered_all:
            self.end_lane(run, StopReason.MAX_FRAMES)

    def _frame_error(self, run: LaneRun, stage: str, frame: Frame, exc: Exception) -> None:
        run.lane.stats.count('errors')
        LOG.error('%s failed on frame %d of %s: %s: %s', stage, frame.frame_id,
                  run.lane.source.description, type(exc).__name__, exc)

    def finish(self) -> None:
        """End the run once: stop the other threads (they release the sources), report it."""
        if self.finished.is_set():
            return
        for run in self.runs:  # ended by themselves, end not told yet (the loop ended first)
            self._source_ended(run)
        self.end(StopReason.STOPPED)
        self.interrupt()
        current = threading.current_thread()
        deadline = time.monotonic() + 1.0
        for thread in self.workers():
            if thread is not current:
                thread.join(max(0.0, deadline - time.monotonic()))
        self.reason = combined_reason([run.reason for run in self.runs])
        self.stats.stopped()
        for run in self.runs:
            if run.lane.stats is not self.stats:
                run.lane.stats.stopped()
        self.finished.set()
        try:
            self.hooks.finished(self)
        finally:
            self.done.set()


__all__ = ['Hooks', 'Lane', 'LaneRun', 'LiveSettings', 'Pipeline', 'StopReason',
           'combined_reason']
