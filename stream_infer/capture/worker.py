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
The capture worker: one thread that encodes and writes chosen frames, off the delivery path.

The delivery thread offers jobs without ever waiting (offer() returns False when the bounded
queue is full: the caller drops the frame and counts it). The worker encodes the JPEG and the
label, checks the disk budget and the free space, and writes through the DatasetWriter. A write
that fails (disk full, read-only or vanished directory, a file size limit) stops capture: one
log line, the state FAILED, write_errors counted, and every later job dropped and counted; what
was written before stays intact (each file is renamed into place whole, see dataset.py).
Running out of free space pauses capture (LOW_DISK) until space returns; reaching the budget
stops it (BUDGET_REACHED). Nothing here can raise into the stream.
"""

from concurrent.futures import Future
import errno
import logging
import os
from pathlib import Path
import queue
import threading
import time
from typing import Optional, Tuple

from stream_infer.capture.atomic import TEMP
from stream_infer.capture.coco import SAVE_EVERY_S
from stream_infer.capture.dataset import DatasetWriter
from stream_infer.capture.job import CaptureJob, CaptureRecord
from stream_infer.capture.limits import DiskSpace
from stream_infer.capture.state import CaptureState
from stream_infer.errors import StreamInferError

LOG = logging.getLogger('stream_infer.capture')
THREAD_NAME = 'stream_infer-capture'
MANIFEST_LINE = 4096  # bytes counted for a manifest line before it is written

WHY = {errno.ENOSPC: 'the disk is full', errno.EDQUOT: 'the disk quota is spent',
       errno.EROFS: 'the filesystem is read-only', errno.EACCES: 'permission denied',
       errno.EPERM: 'permission denied', errno.ENOENT: 'the directory vanished',
       errno.ENOTDIR: 'the directory vanished', errno.EFBIG: 'the file size limit is reached',
       errno.EIO: 'an I/O error'}


class CaptureError(StreamInferError):
    """A requested capture was not written (the message says why)."""


def describe(exc: OSError) -> str:
    """Say in a few words why a write failed."""
    why = WHY.get(exc.errno, 'it failed')
    detail = exc.strerror or str(exc)
    where = exc.filename and Path(os.fsdecode(exc.filename))
    if where and TEMP.match(where.name):  # name the file it was to become
        where = where.with_name(TEMP.match(where.name)['name'])
    return f'{why}: {detail}' + (f' ({where})' if where else '')


def _settle(futures: Tuple[Future, ...], record: Optional[CaptureRecord] = None,
            error: str = '') -> None:
    for future in futures:
        if future.done():
            continue
        if record is not None:
            future.set_result(record)
        else:
            future.set_exception(CaptureError(error))


class CaptureWorker:
    """A thread and a bounded queue that write CaptureJobs through a DatasetWriter."""

    def __init__(self, writer: DatasetWriter, disk: DiskSpace, queue_size: int = 4) -> None:
        self.writer = writer
        self.disk = disk
        self.queue: 'queue.Queue[Optional[CaptureJob]]' = queue.Queue(maxsize=queue_size)
        self.state = CaptureState.CAPTURING
        self.message = ''
        self.saved = 0
        self.saved_bytes = 0
        self.dropped_disk = 0
        self.dropped_stopped = 0
        self.write_errors = 0
        self.errors = 0
        self.last_image = ''
        self._batch: Optional[Path] = None
        self._pending = 0  # offered and not yet handled
        self._pending_lock = threading.Lock()
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._run, name=THREAD_NAME, daemon=True)

    # ------------------------------------------------------------------ delivery side
    def start(self) -> 'CaptureWorker':
        self._thread.start()
        return self

    @property
    def accepting(self) -> bool:
        """Return False once capture has stopped (jobs would only be dropped)."""
        return not self.state.stopped and not self._closing.is_set()

    @property
    def full(self) -> bool:
        return self.queue.full()

    @property
    def pending(self) -> int:
        """Return the jobs offered that are not yet written or dropped."""
        return self._pending

    def offer(self, job: CaptureJob) -> bool:
        """Queue job without waiting; False when the queue is full or capture is closing."""
        if self._closing.is_set():
            return False
        with self._pending_lock:
            try:
                self.queue.put_nowait(job)
            except queue.Full:
                return False
            self._pending += 1
        return True

    def close(self, timeout: float = 5.0) -> bool:
        """
        Write what is queued (within timeout), flush the COCO file, end; True when done.

        The worker ends by itself once closing is set and the queue is empty, so the end never
        depends on a marker fitting into a full queue behind a slow write; the marker only
        wakes a worker waiting on an empty queue. A close that timed out (False) can be
        called again: it waits again, and the worker still ends when its queue is written.
        """
        deadline = time.monotonic() + timeout
        self._closing.set()
        try:
            self.queue.put_nowait(None)  # wake it if it waits; when full it is busy anyway
        except queue.Full:
            pass
        if self._thread.ident is not None:
            self._thread.join(max(0.0, deadline - time.monotonic()))
        done = not self._thread.is_alive()
        if done and not self.state.stopped:
            self.state = CaptureState.CLOSED  # a stopped capture keeps saying why it stopped
        return done

    # ------------------------------------------------------------------ worker thread
    def _run(self) -> None:
        try:
            self.writer.prepare()
            self.disk.scan()
        except OSError as exc:
            self._fail(exc)
        while not (self._closing.is_set() and self.queue.empty()):
            try:
                job = self.queue.get(timeout=SAVE_EVERY_S)
            except queue.Empty:
                self._flush()
                continue
            if job is None:
                continue  # close()'s wake-up: the loop condition decides
            try:
                self._handle(job)
            finally:
                with self._pending_lock:
                    self._pending -= 1
        self._flush(close=True)  # the final COCO file, and the batch's lock let go
        while True:  # jobs that came after the end (a racing offer): not written
            try:
                job = self.queue.get_nowait()
            except queue.Empty:
                break
            if job is not None:
                self.dropped_stopped += 1
                with self._pending_lock:
                    self._pending -= 1
                _settle(job.futures, error='capture closed before the frame was written')

    def _handle(self, job: CaptureJob) -> None:
        if self.state.stopped:
            self.dropped_stopped += 1
            _settle(job.futures, error=f'capture stopped: {self.message}')
            return
        try:
            encoded = self.writer.encode(job)
            nbytes = encoded.nbytes + MANIFEST_LINE  # and its manifest line, at most about
            over = self.disk.over_budget(nbytes)
            if over:
                self.dropped_disk += 1
                self._stop(CaptureState.BUDGET_REACHED, over)
                _settle(job.futures, error=f'not written: {over}')
                return
            low = self.disk.low_space(nbytes)
            if low:
                self.dropped_disk += 1
                if self.state != CaptureState.LOW_DISK:
                    self.state, self.message = CaptureState.LOW_DISK, low
                    LOG.warning('capture paused: %s; frames are not written until space '
                                'returns (the stream goes on)', low)
                _settle(job.futures, error=f'not written: {low}')
                return
            if self.state == CaptureState.LOW_DISK:
                LOG.warning('capture resumed: free space is back above the minimum')
                self.state, self.message = CaptureState.CAPTURING, ''
            record = self.writer.write(job, encoded)
        except OSError as exc:
            self.write_errors += 1
            self._fail(exc)
            _settle(job.futures, error=f'capture stopped: {self.message}')
            return
        except Exception as exc:  # noqa: BLE001 - a bad frame must not end the worker
            self.errors += 1
            if self.errors <= 3 or self.errors % 100 == 0:
                LOG.exception('capture of frame %d failed (%d errors so far; capture goes on)',
                              job.frame_id, self.errors)
            _settle(job.futures, error=f'{type(exc).__name__}: {exc}')
            return
        if record.batch != self._batch:  # a batch opened (and tidied): count it all again
            self._batch = record.batch
            self.disk.scan()
        else:
            self.disk.add(record.nbytes)
        self.saved += 1
        self.saved_bytes += record.nbytes
        self.last_image = str(record.image)
        _settle(job.futures, record)

    def _flush(self, close: bool = False) -> None:
        failed = self.state == CaptureState.FAILED  # writes nothing more, but lets go
        if failed and not close:
            return
        try:
            self.disk.add(self.writer.close(write=not failed) if close else self.writer.flush())
        except OSError as exc:
            self.write_errors += 1
            self._fail(exc)

    def _stop(self, state: CaptureState, message: str) -> None:
        self.state, self.message = state, message
        level = logging.ERROR if state == CaptureState.FAILED else logging.WARNING
        LOG.log(level, 'capture stopped: %s; %d images were saved this run and what was written '
                'stays intact; the stream goes on', message, self.saved)

    def _fail(self, exc: OSError) -> None:
        self._stop(CaptureState.FAILED,
                   f'cannot write to {self.writer.root}: {describe(exc)}')


__all__ = ['CaptureError', 'CaptureWorker', 'describe']
