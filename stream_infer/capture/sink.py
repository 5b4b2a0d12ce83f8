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
CaptureSink: hand it every StreamResult; it keeps the frames worth labelling as a dataset.

On the delivery thread (the on_result callback) it only decides: the rules look at the frame's
detections (a few numpy operations), then the caps and the per-source interval; a chosen frame
is copied and offered to the capture worker (worker.py) without waiting. Encoding and writing
happen on the worker, so capture never slows the stream: when the disk is slower than the
rules, the excess is dropped and counted. For a front end (the CLI, the ROS node) the sink is
also the control surface: trigger() saves the next frame whatever the rules say (disk limits
still apply), stats() returns counters and state, from_options() builds it from flat option
values (CaptureOptions, the fields CLI flags and ROS parameters derive from).

    >>> import tempfile
    >>> from stream_infer import InferenceStream
    >>> from stream_infer.bundled import bundled_clip_path
    >>> directory = tempfile.mkdtemp()
    >>> stream = InferenceStream(bundled_clip_path(), max_frames=5)
    >>> with CaptureSink(directory, stream.class_names, rules=['random'], min_interval_s=0,
    ...                  min_free_mb=0) as capture:
    ...     unsubscribe = stream.on_result(capture)
    ...     stats = stream.run()
    >>> capture.stats().saved, capture.stats().state
    (5, <CaptureState.CLOSED: 'closed'>)
"""

from collections import Counter
from concurrent.futures import Future
import logging
from pathlib import Path
import threading
import time
from typing import Any, Callable, Iterable, List, Mapping, Optional, Sequence, Union

from stream_infer.capture.config import CaptureOptions
from stream_infer.capture.dataset import DatasetWriter
from stream_infer.capture.job import CaptureJob, source_of
from stream_infer.capture.limits import DiskSpace, MinInterval, RateCaps
from stream_infer.capture.rule_set import RuleSet
from stream_infer.capture.rules import FrameView, MANUAL
from stream_infer.capture.state import CaptureState, CaptureStats
from stream_infer.capture.worker import CaptureError, CaptureWorker
from stream_infer.errors import ConfigurationError
from stream_infer.options import from_mapping, updated

LOG = logging.getLogger('stream_infer.capture')


def _caps_text(options: CaptureOptions) -> str:
    caps = [f'{value}/{unit}' for value, unit in ((options.per_minute, 'min'),
                                                  (options.per_hour, 'h'),
                                                  (options.per_day, 'day')) if value]
    return ', '.join(caps) or 'no caps'


class CaptureSink:
    """
    Keep the frames the rules pick (plus requested ones) as a YOLO dataset under directory.

    directory: where the batches go (CaptureOptions.directory); class_names: the model's
    (stream.class_names), written to data.yaml. rules: Rules, mappings or spec strings; None =
    the options' rules (DEFAULT_RULES unless changed). options: a CaptureOptions (or a mapping
    of its fields); further keywords change single fields (min_interval_s=0.5, coco=True...).
    source: the name of a single-source stream's source in the manifest and file names
    (results of multi-source streams name their own). clock (monotonic seconds, for caps and
    intervals) and wall_clock (for the day's batch and captured_at) can be replaced in tests.
    The worker starts at once; close() (or leaving a with block) writes what is queued.
    """

    def __init__(self, directory: Union[str, Path, None] = None,
                 class_names: Sequence[str] = (), *,
                 rules: Optional[Iterable[Any]] = None,
                 options: Union[CaptureOptions, Mapping[str, Any], None] = None,
                 source: str = 'source',
                 clock: Callable[[], float] = time.monotonic,
                 wall_clock: Callable[[], float] = time.time,
                 **option_values: Any) -> None:
        options = from_mapping(CaptureOptions, options)
        if directory is not None:
            option_values['directory'] = str(directory)
        options = updated(options, **option_values)
        if not options.directory:
            raise ConfigurationError('capture needs a directory (CaptureOptions.directory)')
        self.options = options
        self._rules = RuleSet(options.rule_items() if rules is None else rules, options.seed)
        self._source = str(source or 'source')
        self._clock = clock
        self._wall_clock = wall_clock
        self._caps = RateCaps.of(options)
        self._rule_caps = {rule.name: RateCaps.of(rule) for rule in self._rules.rules}
        self._interval = MinInterval(options.min_interval_s)
        self._lock = threading.Lock()
        self._requests: List[Future] = []
        self._last: Any = None  # the last result seen: what trigger(current=True) saves
        self._fired: Counter = Counter()
        self._frames_seen = 0
        self._manual_requests = 0
        self._dropped_limits = 0
        self._dropped_queue = 0
        self._dropped_stopped = 0
        self._errors = 0
        self._closed = False
        root = Path(options.directory).expanduser()
        writer = DatasetWriter(root, class_names, options.jpeg_quality,
                               options.max_image_size, options.coco, options.fsync)
        disk = DiskSpace(root, options.disk_budget_mb, options.min_free_mb)
        self._worker = CaptureWorker(writer, disk, options.queue_size).start()
        LOG.info('capturing hard examples into %s (rules: %s; %s, %g s between frames of a '
                 'source)', root, ', '.join(self._rules.names) or 'none, requests only',
                 _caps_text(options), options.min_interval_s)

    @classmethod
    def from_options(cls, options: Union[CaptureOptions, Mapping[str, Any]],
                     class_names: Sequence[str], **kwargs: Any) -> 'CaptureSink':
        """Build a sink from flat option values (what a CLI or parameter table holds)."""
        return cls(class_names=class_names, options=options, **kwargs)

    # ------------------------------------------------------------------ properties
    @property
    def directory(self) -> Path:
        return self._worker.writer.root

    @property
    def rule_names(self) -> List[str]:
        return self._rules.names

    @property
    def state(self) -> CaptureState:
        return self._worker.state

    # ------------------------------------------------------------------ delivery thread
    def __call__(self, result: Any) -> None:
        """Look at one StreamResult (an on_result callback); never raises, never waits."""
        try:
            self._consider(result)
        except Exception:  # noqa: BLE001 - capture must never end the stream
            self._errors += 1
            if self._errors <= 3 or self._errors % 100 == 0:
                LOG.exception('capture could not look at frame %s (%d errors so far; the '
                              'stream goes on)', getattr(result, 'frame_id', '?'), self._errors)

    def _consider(self, result: Any) -> None:
        if self._closed:
            return
        source = source_of(result, self._source)
        view = FrameView.of(result)
        now = self._clock()
        with self._lock:
            self._last = result  # a reference: frames are never drawn on, copied when kept
            self._frames_seen += 1
            fired = self._rules.evaluate(view, source, getattr(result, 'track_epoch', 0))
            self._fired.update(fired)
            requests, self._requests = self._requests, []
            requests = [f for f in requests if f.set_running_or_notify_cancel()]
            if not fired and not requests:
                return
            if not self._worker.accepting:
                self._dropped_stopped += 1
                self._refuse(requests, f'capture stopped: {self._worker.message or "closed"}')
                return
            kept = [name for name in fired if self._rule_caps[name].allows(now)]
            within = bool(kept) and self._caps.allows(now) \
                and self._interval.allows(source, now)
            if not requests and not within:
                self._dropped_limits += 1
                return
            if self._worker.full:
                self._dropped_queue += 1
                self._refuse(requests, 'the capture queue is full (the disk is slower than '
                             'the captures)')
                return
            rules = tuple(kept if within else ()) + ((MANUAL,) if requests else ())
            job = CaptureJob.of(result, rules, source, self._wall_clock(), view, requests)
            if not self._worker.offer(job):
                self._dropped_queue += 1
                self._refuse(requests, 'the capture queue is full')
                return
            if within:
                for name in kept:
                    self._rule_caps[name].record(now)
                self._caps.record(now)
                self._interval.record(source, now)

    @staticmethod
    def _refuse(requests: List[Future], why: str) -> None:
        for future in requests:
            future.set_exception(CaptureError(why))

    # ------------------------------------------------------------------ any thread
    def trigger(self, current: bool = False) -> Future:
        """
        Save a frame whatever the rules, caps and interval say; return a Future.

        current=False: the next frame delivered; current=True: the last one delivered (what
        is on screen now, also when the stream is idle), or the next when none came yet.
        The future resolves with the CaptureRecord once the frame is written, or raises
        CaptureError saying why it was not (disk limits, full queue, capture stopped or
        closed). Waiting for it with a timeout suits a service: future.result(timeout=2.0);
        cancel() it to withdraw the request.
        """
        last = self._last if current else None
        if last is not None:
            return self.save(last)
        future: Future = Future()
        with self._lock:
            self._manual_requests += 1
            if not self._refused_when_stopped(future):
                self._requests.append(future)
        return future

    def save(self, result: Any) -> Future:
        """
        Save this StreamResult now, as a manual capture (rules, caps and interval bypassed).

        Returns a Future as trigger() does; the disk limits still apply.
        """
        future: Future = Future()
        with self._lock:
            self._manual_requests += 1
            if self._refused_when_stopped(future):
                return future
            future.set_running_or_notify_cancel()
            job = CaptureJob.of(result, (MANUAL,), source_of(result, self._source),
                                self._wall_clock(), futures=(future,))
            if not self._worker.offer(job):
                self._dropped_queue += 1
                self._refuse([future], 'the capture queue is full')
        return future

    def _refused_when_stopped(self, future: Future) -> bool:
        """Fail future and return True when capture is closed or stopped (lock held)."""
        if not self._closed and self._worker.accepting:
            return False
        future.set_running_or_notify_cancel()
        self._dropped_stopped += 1
        future.set_exception(CaptureError(f'capture stopped: {self._worker.message or "closed"}'))
        return True

    def stats(self) -> CaptureStats:
        """Return a snapshot of the counters and the state (thread-safe)."""
        worker = self._worker
        batch = worker.writer.batch
        with self._lock:
            return CaptureStats(
                state=worker.state, message=worker.message, directory=str(worker.writer.root),
                batch='' if batch is None else str(batch.directory),
                frames_seen=self._frames_seen,
                fired={name: self._fired.get(name, 0) for name in self._rules.names},
                manual_requests=self._manual_requests, saved=worker.saved,
                saved_bytes=worker.saved_bytes, dataset_bytes=worker.disk.used,
                dropped_limits=self._dropped_limits, dropped_queue=self._dropped_queue,
                dropped_disk=worker.dropped_disk,
                dropped_stopped=self._dropped_stopped + worker.dropped_stopped,
                write_errors=worker.write_errors, errors=self._errors + worker.errors,
                pending=worker.pending, last_image=worker.last_image)

    def close(self, timeout: float = 5.0) -> bool:
        """Stop choosing frames, write those queued (within timeout); True when all were."""
        with self._lock:
            self._closed = True
            self._last = None
            requests, self._requests = self._requests, []
        for future in requests:
            if future.set_running_or_notify_cancel():
                future.set_exception(CaptureError('capture closed before a frame arrived'))
        return self._worker.close(timeout)

    def __enter__(self) -> 'CaptureSink':
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()


__all__ = ['CaptureError', 'CaptureSink']
