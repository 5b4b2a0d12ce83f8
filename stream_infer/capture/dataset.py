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
The dataset on disk: one batch folder per UTC day, each a YOLO dataset of its own.

    DIR/2026-05-04/data.yaml          class names (train/val: images)
    DIR/2026-05-04/images/000001_clip_000042.jpg
    DIR/2026-05-04/labels/000001_clip_000042.txt   class cx cy w h (normalised)
    DIR/2026-05-04/manifest.jsonl     one line per image: rules, source, frame, thresholds, boxes
    DIR/2026-05-04/annotations.coco.json            optional

supervision.DetectionDataset.from_yolo(DAY/images, DAY/labels, DAY/data.yaml) loads a batch as
it is. Each image and label is written to a temp file and renamed (label first: an image never
exists without its label); names never replace an existing file, and numbering goes on after
the highest number already there, so a restart adds to a batch without overwriting anything.
Opening a batch removes what a killed run can leave: temp files and a label whose image was
never renamed into place. A batch whose data.yaml lists other class names (another model) is
left alone: the day gets a new batch (DAY_2, ...). One writer per batch: a writer holds the
batch's lock (batch_lock) from opening it until it closes; a batch held by another writer is
waited for up to lock_wait_s (a restarted sink whose predecessor is finishing its queue) and
then left to it: this writer takes the day's next batch.
"""

from dataclasses import replace
from datetime import datetime, timezone
import errno
import json
import logging
import os
from pathlib import Path
import re
import time
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from stream_infer.capture.atomic import commit, discard, remove_stale, write_atomic, write_temp
from stream_infer.capture.batch_lock import BatchLock
from stream_infer.capture.coco import CocoAnnotations, FILE_NAME as COCO_FILE
from stream_infer.capture.encoding import encode, Encoded
from stream_infer.capture.job import CaptureJob, CaptureRecord

IMAGES, LABELS, DATA_YAML, MANIFEST = 'images', 'labels', 'data.yaml', 'manifest.jsonl'
STEM = re.compile(r'^(?P<seq>\d{6,})_')
MAX_BATCHES_PER_DAY = 100
LOCK_WAIT_S = 5.0  # a predecessor's close() writes its queue within 5 s (CaptureSink.close)
LOG = logging.getLogger('stream_infer.capture')


def day_of(wall_time: float) -> str:
    """Return the batch name of a wall-clock time: its UTC date."""
    return time.strftime('%Y-%m-%d', time.gmtime(wall_time))


def iso_utc(wall_time: float) -> str:
    return datetime.fromtimestamp(wall_time, timezone.utc).isoformat(
        timespec='milliseconds').replace('+00:00', 'Z')


def slug(source: str) -> str:
    """
    Return a short file-name-safe form of a source name: its last path component, no suffix.

        >>> slug('file media/vtest_clip.mp4'), slug('rtsp://***@cam/live'), slug('camera 0')
        ('vtest_clip', 'live', 'camera-0')
    """
    last = re.split(r'[\\/]', str(source).rstrip('/\\'))[-1]
    stem, suffix = os.path.splitext(last)
    text = re.sub(r'[^A-Za-z0-9_-]+', '-', stem if stem and suffix else last).strip('-')
    return text[:40] or 'source'


def read_names(directory: Path) -> Optional[List[str]]:
    """Return the class names of a batch's data.yaml (None: no data.yaml; [] unreadable)."""
    import yaml
    path = directory / DATA_YAML
    try:
        data = yaml.safe_load(path.read_text(encoding='utf-8'))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, yaml.YAMLError):
        return []
    names = data.get('names') if isinstance(data, dict) else None
    if isinstance(names, dict):
        names = [names[k] for k in sorted(names)]
    return [str(n) for n in names] if isinstance(names, list) else []


def data_yaml(names: Sequence[str]) -> bytes:
    import yaml
    text = yaml.safe_dump({'train': IMAGES, 'val': IMAGES, 'nc': len(names),
                           'names': list(names)}, sort_keys=False, allow_unicode=True)
    return ('# YOLO dataset of frames captured by stream_infer (labels: the model predictions)'
            '\n' + text).encode()


def size_of(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def rewrite(path: Path, data: bytes, fsync: bool = False) -> int:
    """Replace path's content atomically; return how many bytes the directory grew by."""
    before = size_of(path)
    return write_atomic(path, data, fsync=fsync) - before


def append_line(path: Path, line: bytes, fsync: bool = False) -> None:
    """Append one line with a single write; on failure cut the file back to where it was."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        size = os.fstat(fd).st_size
        try:
            if os.write(fd, line) != len(line):
                raise OSError(errno.ENOSPC, 'No space left on device (short write)', str(path))
            if fsync:
                os.fsync(fd)
        except OSError:
            try:
                os.ftruncate(fd, size)
            except OSError:
                pass
            raise
    finally:
        os.close(fd)


def manifest_record(job: CaptureJob, stem: str, encoded: Encoded) -> Dict[str, Any]:
    """Return the manifest line of a capture: what chose it, where from, what the model saw."""
    detections = [
        {'class_id': int(c), 'class_name': str(n), 'confidence': float(s),
         'tracker_id': int(t), 'xyxy': [float(v) for v in box]}
        for box, s, c, t, n in zip(job.xyxy, job.confidence, job.class_id, job.tracker_id,
                                   job.class_name)]
    return {'image': f'{IMAGES}/{stem}.jpg', 'label': f'{LABELS}/{stem}.txt',
            'rules': list(job.rules), 'source': job.source, 'frame_id': job.frame_id,
            'timestamp': job.timestamp, 'captured_at': iso_utc(job.captured_at),
            'width': job.width, 'height': job.height, 'saved_width': encoded.width,
            'saved_height': encoded.height, 'thresholds': job.thresholds,
            'tracks': sorted({int(t) for t in job.tracker_id if t >= 0}),
            'detections': detections}


def read_manifest(path: Path) -> List[Dict[str, Any]]:
    """Return a manifest's records, skipping lines that are not whole JSON objects."""
    records = []
    try:
        lines = path.read_bytes().splitlines()
    except FileNotFoundError:
        return records
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


class Batch:
    """One batch folder: numbering, the class names, the manifest and the COCO file."""

    def __init__(self, directory: Path, names: Sequence[str], coco: bool = False,
                 fsync: bool = False) -> None:
        self.directory = directory
        self.images = directory / IMAGES
        self.labels = directory / LABELS
        self.manifest = directory / MANIFEST
        self.names = list(names)
        self.fsync = fsync
        self.coco = CocoAnnotations(self.names) if coco else None
        self.next_seq = 1
        self.written = 0
        self.lock = BatchLock(directory)

    def open(self, wait_s: float = 0.0) -> Optional[int]:  # noqa: A003 - as a file is
        """
        Create or resume the batch (see the module docstring); return the bytes it added.

        None when another writer holds the batch (BatchLock) for longer than wait_s: only the
        lock's holder numbers files and tidies the folder, so no in-flight file of another
        writer is ever taken for a killed run's leftover.
        """
        self.directory.mkdir(parents=True, exist_ok=True)
        if not self.lock.acquire(wait_s):
            return None
        try:
            return self._resume()
        except BaseException:
            self.lock.release()  # not opened: nobody would let go of it
            raise

    def _resume(self) -> int:
        """Tidy what a killed run left, number on, check data.yaml and the manifest's end."""
        self.images.mkdir(exist_ok=True)
        self.labels.mkdir(exist_ok=True)
        for directory in (self.directory, self.images, self.labels):
            remove_stale(directory)
        image_stems = {p.stem for p in self.images.iterdir() if STEM.match(p.name)}
        for label in self.labels.iterdir():
            if STEM.match(label.name) and label.suffix == '.txt' \
                    and label.stem not in image_stems:
                discard(label)  # its image was never renamed into place: a killed run
        seqs = [int(STEM.match(s)['seq']) for s in image_stems]
        self.next_seq = max(seqs, default=0) + 1
        added = 0
        if read_names(self.directory) != self.names:
            added += rewrite(self.directory / DATA_YAML, data_yaml(self.names), self.fsync)
        if self.manifest.exists() and self.manifest.stat().st_size:
            with open(self.manifest, 'rb') as tail:
                tail.seek(-1, os.SEEK_END)
                if tail.read(1) != b'\n':  # a cut line (power loss): keep it on its own
                    append_line(self.manifest, b'\n')
                    added += 1
        if self.coco is not None:
            for record in read_manifest(self.manifest):
                try:
                    self.coco.add(record)
                except (KeyError, TypeError, ValueError, ZeroDivisionError):
                    continue  # a record this version cannot read: COCO skips it
        return added

    def grow_names(self, class_ids: np.ndarray) -> int:
        """Name class ids the names do not cover by their number; return bytes written."""
        top = int(class_ids.max(initial=-1))
        if top < len(self.names):
            return 0
        self.names.extend(str(i) for i in range(len(self.names), top + 1))
        if self.coco is not None:
            self.coco.names = self.names
        return rewrite(self.directory / DATA_YAML, data_yaml(self.names), self.fsync)

    def write(self, job: CaptureJob, encoded: Encoded, source_slug: str) -> CaptureRecord:
        """Write the image, its label and its manifest line; nothing of it stays on failure."""
        nbytes = self.grow_names(job.class_id)
        for _ in range(MAX_BATCHES_PER_DAY):
            stem = f'{self.next_seq:06d}_{source_slug}_{job.frame_id:06d}'
            self.next_seq += 1
            image, label = self.images / f'{stem}.jpg', self.labels / f'{stem}.txt'
            if image.exists() or label.exists():
                continue
            image_temp = write_temp(image, encoded.image, self.fsync)
            try:
                label_temp = write_temp(label, encoded.label, self.fsync)
            except BaseException:
                discard(image_temp)
                raise
            try:
                commit(label_temp, label, exclusive=True, fsync=self.fsync)
            except FileExistsError:  # another process took the name just now
                discard(image_temp)
                continue
            except BaseException:
                discard(image_temp)
                raise
            try:
                commit(image_temp, image, exclusive=True, fsync=self.fsync)
            except BaseException:
                discard(label)
                raise
            record = manifest_record(job, stem, encoded)
            line = (json.dumps(record) + '\n').encode()
            try:
                append_line(self.manifest, line, self.fsync)
            except BaseException:
                discard(image)
                discard(label)
                raise
            if self.coco is not None:
                self.coco.add(record)
            self.written += 1
            return CaptureRecord(image, label, self.directory, job.rules, job.source,
                                 job.frame_id, nbytes + encoded.nbytes + len(line))
        raise FileExistsError(errno.EEXIST, 'no free file name after many tries',
                              str(self.images))

    def flush(self, force: bool = False) -> int:
        """Rewrite the COCO file if due (or force); return how many bytes the batch grew by."""
        path = self.directory / COCO_FILE
        before = size_of(path)
        if self.coco is not None and self.coco.save(path, time.monotonic(), force, self.fsync):
            return size_of(path) - before
        return 0

    def close(self, write: bool = True) -> int:
        """Write the COCO file (write) and let go of the batch; return the bytes it grew by."""
        try:
            return self.flush(force=True) if write else 0
        finally:
            self.lock.release()


class DatasetWriter:
    """Write captures into the day's batch under root (the capture worker's only writer)."""

    def __init__(self, root: Path, class_names: Sequence[str], jpeg_quality: int = 90,
                 max_image_size: int = 0, coco: bool = False,
                 fsync: bool = False, lock_wait_s: float = LOCK_WAIT_S) -> None:
        self.lock_wait_s = lock_wait_s
        self.root = Path(root)
        self.class_names = [str(n) for n in class_names]
        self.jpeg_quality = jpeg_quality
        self.max_image_size = max_image_size
        self.coco = coco
        self.fsync = fsync
        self.batch: Optional[Batch] = None
        self._day = ''

    def prepare(self) -> None:
        """Create the root and prove it is writable (OSError says why not)."""
        self.root.mkdir(parents=True, exist_ok=True)
        remove_stale(self.root)
        probe = self.root / '.write-probe'
        write_atomic(probe, b'')
        discard(probe)

    def encode(self, job: CaptureJob) -> Encoded:
        return encode(job.image, job.xyxy, job.class_id, self.jpeg_quality, self.max_image_size,
                      job.polygons)

    def open_batch(self, day: str) -> int:
        """
        Make the day's batch current (a new one if the day's has other names); bytes added.

        A batch another writer holds is waited for (lock_wait_s: a restarted sink's
        predecessor finishing its queue), then skipped for the next one (two writers at once).
        """
        added, wait_s = self.close(), self.lock_wait_s  # waited for once: the first fitting
        for n in range(1, MAX_BATCHES_PER_DAY + 1):
            directory = self.root / (day if n == 1 else f'{day}_{n}')
            existing = read_names(directory)
            names = self.class_names if existing is None else \
                max(existing, self.class_names, key=len)
            if existing is None or names[:min(len(existing), len(self.class_names))] == \
                    min(existing, self.class_names, key=len):  # one extends the other
                batch = Batch(directory, names, self.coco, self.fsync)
                opened, wait_s = batch.open(wait_s), 0.0
                if opened is None:
                    LOG.warning('capture batch %s is being written by another writer (another '
                                'sink or process on the same directory); trying the next one',
                                directory)
                    continue
                self.batch, self._day = batch, day
                return added + opened
        raise FileExistsError(errno.EEXIST, f'{MAX_BATCHES_PER_DAY} batches with other class '
                              'names or in use', str(self.root / day))

    def write(self, job: CaptureJob, encoded: Encoded) -> CaptureRecord:
        """Write one capture into the batch of the day it was chosen on."""
        day = day_of(job.captured_at)
        added = self.open_batch(day) if self.batch is None or day != self._day else 0
        record = self.batch.write(job, encoded, slug(job.source))
        added += self.batch.flush()
        return replace(record, nbytes=record.nbytes + added) if added else record

    def flush(self, force: bool = False) -> int:
        return 0 if self.batch is None else self.batch.flush(force)

    def close(self, write: bool = True) -> int:
        """Flush (write) and let go of the current batch (its lock); return bytes written."""
        self._day = ''  # the batch stays named (stats), but a later write opens it anew
        return 0 if self.batch is None else self.batch.close(write)


__all__ = ['Batch', 'DATA_YAML', 'DatasetWriter', 'IMAGES', 'LABELS', 'MANIFEST', 'append_line',
           'day_of', 'manifest_record', 'read_manifest', 'read_names', 'slug']
