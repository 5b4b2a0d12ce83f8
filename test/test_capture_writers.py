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

from helpers.capture_scene import NAMES, PERSON, result

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
