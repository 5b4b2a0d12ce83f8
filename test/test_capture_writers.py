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
Capture writers with real files under forced interleavings.

A close() behind a slow write, two sinks on one directory, a sink restarted while its
predecessor is still writing, a writer meeting another's in-flight files.
"""

import json
from pathlib import Path
import threading
import time

from helpers.capture_scene import NAMES, NO_LIMITS, PERSON, result

from stream_infer.capture import CaptureSink
from stream_infer.capture.atomic import temp_path
from stream_infer.capture.batch_lock import BatchLock
from stream_infer.capture.coco import FILE_NAME as COCO_FILE
from stream_infer.capture.dataset import DatasetWriter, read_manifest
from stream_infer.capture.job import CaptureJob
from stream_infer.capture.limits import DiskSpace
from stream_infer.capture.worker import CaptureWorker

DAY = 1_780_000_000.0  # 2026-05-28 (UTC)
BOX = [[10, 20, 50, 90, 0.9, PERSON]]


class GatedWriter(DatasetWriter):
    """A real DatasetWriter whose writes wait for a gate: a disk as slow as the test wants."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.gate = threading.Event()
        self.writing = threading.Event()

    def write(self, job, encoded):
        self.writing.set()
        assert self.gate.wait(120), 'the test never opened the gate'
        return super().write(job, encoded)


def wait_for(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def job(frame_id: int) -> CaptureJob:
    return CaptureJob.of(result(frame_id, BOX, [1]), ('manual',), 'cam', DAY)


def check_batch(batch: Path) -> list:
    """Images, labels, manifest and COCO file of a batch agree; return its frame ids."""
    images = sorted(p.stem for p in (batch / 'images').iterdir() if not p.name.startswith('.'))
    labels = sorted(p.stem for p in (batch / 'labels').iterdir() if not p.name.startswith('.'))
    records = read_manifest(batch / 'manifest.jsonl')
    assert images == labels == sorted(Path(r['image']).stem for r in records), batch
    seqs = [name.split('_')[0] for name in images]
    assert len(set(seqs)) == len(seqs), f'a sequence number used twice in {batch}: {seqs}'
    coco = json.loads((batch / COCO_FILE).read_text())
    assert sorted(Path(i['file_name']).stem for i in coco['images']) == images, batch
    assert not list(batch.rglob('.*.tmp')), 'temp files left behind'
    return [r['frame_id'] for r in records]


def test_close_behind_a_full_queue_and_a_slow_write_still_ends_the_worker(tmp_path):
    writer = GatedWriter(tmp_path, NAMES, coco=True)
    worker = CaptureWorker(writer, DiskSpace(tmp_path, 0, 0), queue_size=2).start()
    assert worker.offer(job(0))
    assert writer.writing.wait(60)  # the worker is inside write(), blocked
    assert worker.offer(job(1)) and worker.offer(job(2))
    assert not worker.offer(job(3)), 'the queue (2) is full'
    # no room for an end marker: the old close() gave up queueing it and the worker then
    # looped on get(timeout=10) forever; a second close() did not retry
    assert worker.close(timeout=0.2) is False
    assert worker.close(timeout=0.2) is False
    writer.gate.set()  # the disk catches up
    assert worker.close(timeout=60) is True, 'the worker thread never ended'
    assert worker.saved == 3 and worker.pending == 0
    [batch] = [p for p in tmp_path.iterdir() if p.is_dir()]
    assert check_batch(batch) == [0, 1, 2]  # the final COCO flush happened
    assert BatchLock(batch).acquire(wait_s=0.0), 'the batch lock was let go'


def feed(sink: CaptureSink, frame_ids) -> None:
    for i in frame_ids:
        sink(result(i, BOX, [1]))


def test_two_sinks_on_one_directory_write_two_consistent_batches(tmp_path):
    # what the concurrency review confirmed: 15 images and 15 manifest lines but 10 images in
    # the COCO file, sequence numbers 000008-000010 twice
    options = dict(NO_LIMITS, coco=True)
    sinks = [CaptureSink(tmp_path, NAMES, rules=['random'], wall_clock=lambda: DAY,
                         source=f'cam{k}', **options) for k in range(2)]
    threads = [threading.Thread(target=feed, args=(sink, range(k * 100, k * 100 + 15)))
               for k, sink in enumerate(sinks)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    # both stay open until both wrote everything: the second waits for the first's batch
    # (LOCK_WAIT_S, a predecessor's hand-over), then takes the day's next batch
    assert wait_for(lambda: all(s.stats().saved == 15 for s in sinks), timeout=60), \
        [s.stats() for s in sinks]
    for sink in sinks:
        assert sink.close(timeout=60)
    batches = sorted(p for p in tmp_path.iterdir() if p.is_dir())
    assert [p.name for p in batches] == ['2026-05-28', '2026-05-28_2'], batches
    frames = sorted(check_batch(b) for b in batches)
    assert frames == [list(range(15)), list(range(100, 115))], frames  # one writer each
    assert sum(s.stats().saved for s in sinks) == 30


def test_a_restarted_sink_takes_over_its_predecessors_batch(tmp_path):
    """The node's hand-over: the new sink starts while the old one still writes its queue."""
    options = dict(NO_LIMITS, coco=True)
    old = CaptureSink(tmp_path, NAMES, rules=['random'], wall_clock=lambda: DAY, **options)
    feed(old, range(5))
    # as in the node, the old sink already writes (holds the batch) when the new one starts;
    # a worker that had not opened its batch yet would leave it to the new one and take DAY_2
    deadline = time.monotonic() + 30
    while old.stats().saved < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    new = CaptureSink(tmp_path, NAMES, rules=['random'], wall_clock=lambda: DAY, **options)
    closer = threading.Thread(target=old.close, kwargs={'timeout': 60})
    closer.start()  # the old one closes aside while the new one already receives frames
    feed(new, range(5, 10))
    closer.join(60)
    assert new.close(timeout=60)
    [batch] = [p for p in tmp_path.iterdir() if p.is_dir()]
    assert sorted(check_batch(batch)) == list(range(10)), 'one batch, continued'
    assert old.stats().saved == new.stats().saved == 5


def test_temp_names_are_unique_within_a_process(tmp_path):
    target = tmp_path / 'a.jpg'
    names = {temp_path(target) for _ in range(1000)}
    assert len(names) == 1000


def test_a_locked_batch_is_not_tidied_by_another_writer(tmp_path):
    """A label whose image is not yet renamed is in flight, not a killed run's leftover."""
    holder = DatasetWriter(tmp_path, NAMES)
    holder.write(job(0), holder.encode(job(0)))
    batch = holder.batch.directory
    in_flight = batch / 'labels' / '000002_cam_000001.txt'
    in_flight.write_text('0 0.5 0.5 0.1 0.1\n')
    other = DatasetWriter(tmp_path, NAMES, lock_wait_s=0.0)
    record = other.write(job(1), other.encode(job(1)))
    assert in_flight.exists(), 'the other writer deleted an in-flight label'
    assert record.batch != batch and record.batch.name == batch.name + '_2'
    holder.close()
    other.close()
