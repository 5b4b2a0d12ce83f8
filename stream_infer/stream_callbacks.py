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
Who an InferenceStream tells what: the callback lists, registration and dispatch.

Results, predictions, a run's start and stop and a source's end are told on the delivery
thread (the caller's in run()); source state changes on the thread that saw them. Lists are
copy-on-write, so dispatch reads a snapshot without a lock and a callback may unsubscribe
(itself too) at any time. User code must never end the stream: what a callback raises is
logged (the first three, then every 100th) and counted in stats().callback_errors.
StreamCallbacks is a base of InferenceStream (stream.py), which owns the lanes and statistics
it reads.
"""

from dataclasses import replace
import logging
import threading
import time
from typing import Any, Callable, List, Tuple, Union

import cv2
import numpy as np

from stream_infer.lanes import Lane
from stream_infer.options import CHANNEL_ORDERS
from stream_infer.pipeline import LaneRun, Pipeline
from stream_infer.results import StreamResult
from stream_infer.sources import SourceState
from stream_infer.stats import Stats, StatsRecorder

LOG = logging.getLogger('stream_infer.stream')
SourceKey = Union[int, str, None]  # a source by index or name; None: the only one


class CallbackList:
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


def channel_order(order: str) -> str:
    """Return the checked channel order of the frame on_prediction callbacks get."""
    value = str(order).upper()
    if value not in CHANNEL_ORDERS:
        raise ValueError(f'output_channel_order={order!r}; accepted: {", ".join(CHANNEL_ORDERS)}')
    return value


class StreamCallbacks:
    """
    The callback registration and dispatch of an InferenceStream.

    The stream provides _lanes (its sources, in index order), _stats (the total recorder:
    callback errors are counted there), _channel_order, _index(source) and stats(source).
    """

    _lanes: List[Lane]
    _stats: StatsRecorder
    _channel_order: str

    def _init_callbacks(self) -> None:
        """Create the empty callback lists (one source-state list per source)."""
        self._result_cbs = CallbackList()
        self._prediction_cbs = CallbackList()
        self._start_cbs = CallbackList()
        self._stop_cbs = CallbackList()
        self._state_cbs = CallbackList()
        self._lane_state_cbs = [CallbackList() for _ in self._lanes]
        self._source_end_cbs = CallbackList()
        self._errors_logged = 0

    def stats(self, source: SourceKey = None) -> Stats:
        raise NotImplementedError  # InferenceStream's

    def _index(self, source: SourceKey) -> int:
        raise NotImplementedError  # InferenceStream's

    # ------------------------------------------------------------------ registration
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

    def on_source_end(self, callback: Callable[[str, Stats], Any]) -> Callable[[], None]:
        """
        Call callback(source name, its stats) once a source has delivered its last result.

        For a source that ended by itself (end of file, reconnects spent, max_frames, frames
        that kept failing: stats.stop_reason says which) while the run may go on with the
        others; on the delivery thread, after that source's last on_result. A source stopped
        by stop() is not reported here (on_stop is).
        """
        return self._source_end_cbs.add(callback)

    def on_source_state(self, callback: Callable[[SourceState, str], Any],
                        source: SourceKey = None) -> Callable[[], None]:
        """
        Call callback(state, message) on each source state change (loss, recovery...).

        source: only that source's changes. None: every source's (with several sources the
        message then starts with the source's name and ': '). The callback runs on the thread
        that saw the change (the source's capture thread, or the caller of start()), not on
        the delivery thread: keep it short and thread-safe.
        """
        if source is None:
            return self._state_cbs.add(callback)
        return self._lane_state_cbs[self._index(source)].add(callback)

    # ------------------------------------------------------------------ dispatch
    def _call(self, callback: Callable, *args: Any) -> None:
        """Call one callback; what it raises is counted and logged, never passed on."""
        try:
            callback(*args)
        except Exception:  # noqa: BLE001 - user code must never kill the stream
            self._stats.count('callback_errors')
            self._errors_logged += 1
            if self._errors_logged <= 3 or self._errors_logged % 100 == 0:
                LOG.exception('callback %r raised (%d callback errors so far; the stream goes '
                              'on)', callback, self._errors_logged)

    def _on_source_state(self, lane: Lane, state: SourceState, message: str) -> None:
        """Tell a source's state change to its own callbacks, then to every source's."""
        for callback in self._lane_state_cbs[lane.index].items:
            self._call(callback, state, message)
        shared = self._state_cbs.items
        if shared and len(self._lanes) > 1:
            message = f'{lane.name}: {message}' if message else lane.name
        for callback in shared:
            self._call(callback, state, message)

    # ------------------------------------------------------------------ pipeline hooks
    def _started(self) -> None:
        """Pipeline hook: a run delivered its first result."""
        stats = self.stats()
        for callback in self._start_cbs.items:
            self._call(callback, stats)

    def _deliver(self, result: StreamResult) -> None:
        """Pipeline hook: hand one result to the callbacks; record it with their time."""
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
        self._lanes[result.source_index].stats.processed(timings, result.age_ms)

    def _source_ended(self, run: LaneRun) -> None:
        """Pipeline hook: a source delivered its last result (the run may go on)."""
        stats = replace(self.stats(run.lane.index), stop_reason=run.reason, running=False)
        for callback in self._source_end_cbs.items:
            self._call(callback, run.lane.name, stats)

    def _finished(self, pipeline: Pipeline) -> None:
        """Pipeline hook: the run ended; log its summary and tell on_stop callbacks."""
        stats = self.stats()
        LOG.info('stream from %s %s: %d frames processed, %d dropped, %.1f fps', stats.source,
                 stats.stop_reason, stats.frames_processed, stats.frames_dropped,
                 stats.mean_processed_fps)
        for callback in self._stop_cbs.items:
            self._call(callback, stats)


__all__ = ['CallbackList', 'channel_order', 'SourceKey', 'StreamCallbacks']
