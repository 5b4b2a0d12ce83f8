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
Capture on a disk that fails: full, read-only, vanished, or past a file size limit.

Each case runs the real engine: capture stops with one clear log line and counters, the stream
processes every frame, and what was written before stays whole (every image decodes and has its
label, supervision loads the batch). The full and read-only disks are real small filesystems:
a tmpfs mounted for the test, which needs root (or CAP_SYS_ADMIN); where mounting is refused the
tests say so and skip, and the file size limit case (RLIMIT_FSIZE in a subprocess, no
privileges needed) still makes real writes fail.
"""

import hashlib
import json
import logging
import os
from pathlib import Path
import shutil
import subprocess
import sys
import time

import cv2
from helpers.capture_scene import NO_LIMITS, result
import numpy as np
import pytest
import supervision as sv

from stream_infer import InferenceStream
from stream_infer.capture import CaptureSink, CaptureState
from stream_infer.capture.dataset import read_manifest

ROOT = Path(__file__).resolve().parent.parent
FRAMES = 30


def noise_frames(count=FRAMES, width=640, height=480):
    rng = np.random.default_rng(3)
    return [rng.integers(0, 256, (height, width, 3), dtype=np.uint8) for _ in range(count)]


def one_box(image):
    return np.array([[10.0, 20.0, 110.0, 220.0, 0.9, 0.0]])


@pytest.fixture
def small_fs(tmp_path):
    """Mount a tmpfs of the size asked for; unmount it afterwards."""
    mounted = []

    def mount(size: str) -> Path:
        where = tmp_path / f'fs{len(mounted)}'
        where.mkdir()
        try:
            done = subprocess.run(['mount', '-t', 'tmpfs', '-o', f'size={size},mode=0755',
                                   'tmpfs', str(where)], capture_output=True, text=True)
        except OSError as exc:  # no mount command
            pytest.skip(f'cannot mount a small tmpfs here: {exc}')
        if done.returncode != 0:
            pytest.skip('cannot mount a small tmpfs here (needs root or CAP_SYS_ADMIN): '
                        + (done.stderr.strip() or f'mount exit {done.returncode}'))
        mounted.append(where)
        return where

    yield mount
    for where in mounted:
        subprocess.run(['umount', '-l', str(where)], capture_output=True)


def remount_read_only(where: Path, mode: str = 'ro') -> None:
    for _ in range(200):  # busy while the capture worker has a file open for writing
        done = subprocess.run(['mount', '-o', f'remount,{mode}', str(where)],
                              capture_output=True, text=True)
        if done.returncode == 0:
            return
        time.sleep(0.005)
    raise AssertionError(done.stderr)


def in_step(capture):
    """Return a callback that waits for the capture worker: every frame's fate is then known."""
    def wait(result):
        deadline = time.monotonic() + 30
        while capture.stats().pending and time.monotonic() < deadline:
            time.sleep(0.002)
    return wait


def run_stream_with_capture(directory, caplog, on_frame=None, **options):
    stream = InferenceStream(iter(noise_frames()), one_box, labels=['person'])
    if on_frame is not None:
        stream.on_result(on_frame)
    with caplog.at_level(logging.WARNING, logger='stream_infer.capture'):
        with CaptureSink(directory, stream.class_names, rules=['random'],
                         **dict(NO_LIMITS, queue_size=2, jpeg_quality=95, **options)) as capture:
            stream.on_result(capture)
            stream.on_result(in_step(capture))
            stats = stream.run()
    assert stats.frames_processed == FRAMES and stats.callback_errors == 0
    stopped = [r for r in caplog.records if 'capture stopped' in r.getMessage()]
    assert len(stopped) == 1, [r.getMessage() for r in caplog.records]
    return capture.stats(), stopped[0].getMessage()


def assert_whole(directory: Path, saved: int, read_only: bool = False) -> None:
    """
    Everything on disk is whole: images decode, labels match, the manifest lists them.

    read_only: the filesystem turned read-only under a write, so what the writer had begun
    could not be removed: a hidden .tmp file (no loader reads it), or a whole image and label
    whose manifest line never came. The next capture on a writable filesystem tidies it.
    """
    if not read_only:
        assert not list(directory.rglob('.*.tmp'))
    batches = [p for p in directory.iterdir() if p.is_dir()]
    listed = [Path(r['image']).name for b in batches
              for r in read_manifest(b / 'manifest.jsonl')]
    images = [p.name for b in batches for p in (b / 'images').glob('*.jpg')]
    assert len(listed) == saved
    assert set(listed) <= set(images) and len(images) <= saved + read_only
    assert set(images) == set(listed) or read_only
    for batch in batches:
        assert {p.stem for p in (batch / 'images').glob('*.jpg')} <= {
            p.stem for p in (batch / 'labels').glob('*.txt')}
        dataset = sv.DetectionDataset.from_yolo(str(batch / 'images'), str(batch / 'labels'),
                                                str(batch / 'data.yaml'))
        for path, image, detections in dataset:
            assert image is not None and cv2.imread(path) is not None
            assert len(detections) == 1


def test_a_full_disk_stops_capture_and_the_stream_goes_on(small_fs, caplog):
    where = small_fs('1m')
    stats, line = run_stream_with_capture(where / 'dataset', caplog)
    assert stats.state == CaptureState.FAILED and 'the disk is full' in stats.message
    assert 'the disk is full' in line and 'the stream goes on' in line
    assert 1 <= stats.saved < FRAMES and stats.write_errors == 1 and not stats.dropped_queue
    assert stats.dropped_stopped + stats.saved + 1 == FRAMES
    assert_whole(where / 'dataset', stats.saved)


def test_low_free_space_pauses_capture_before_the_disk_is_full(small_fs, caplog):
    where = small_fs('2m')
    stream = InferenceStream(iter(noise_frames()), one_box, labels=['person'])
    with caplog.at_level(logging.WARNING, logger='stream_infer.capture'):
        with CaptureSink(where / 'dataset', stream.class_names, rules=['random'],
                         **dict(NO_LIMITS, queue_size=2, jpeg_quality=95,
                                min_free_mb=0.75)) as capture:
            stream.on_result(capture)
            stream.on_result(in_step(capture))
            assert stream.run().frames_processed == FRAMES
    stats = capture.stats()
    assert stats.state == CaptureState.CLOSED and stats.write_errors == 0  # paused, not failed
    assert 1 <= stats.saved and stats.saved + stats.dropped_disk == FRAMES
    assert shutil.disk_usage(where).free >= 0.75 * 1024 * 1024
    paused = [r.getMessage() for r in caplog.records if 'capture paused' in r.getMessage()]
    assert len(paused) == 1 and '0.75 MB must stay free' in paused[0]
    assert_whole(where / 'dataset', stats.saved)


def test_a_filesystem_turned_read_only_stops_capture(small_fs, caplog):
    where = small_fs('64m')

    def turn_read_only(result):
        if result.frame_id == 10:
            remount_read_only(where)

    stats, line = run_stream_with_capture(where / 'dataset', caplog, on_frame=turn_read_only)
    assert stats.state == CaptureState.FAILED and 'read-only' in stats.message
    assert 'read-only' in line and stats.write_errors == 1 and stats.saved == 10
    assert_whole(where / 'dataset', stats.saved, read_only=True)
    remount_read_only(where, 'rw')  # writable again: the next capture tidies what was left
    with CaptureSink(where / 'dataset', ['person'], rules=['random'], **NO_LIMITS) as capture:
        capture(result(0, [[10, 20, 50, 90, 0.9, 0]]))
    assert not list((where / 'dataset').rglob('.*.tmp'))
    assert_whole(where / 'dataset', stats.saved + 1, read_only=True)  # an image may lack a line


def test_a_read_only_directory_at_start_writes_nothing_and_harms_nothing(small_fs, caplog):
    where = small_fs('8m')
    with CaptureSink(where / 'dataset', ['person'], rules=['random'], **NO_LIMITS) as capture:
        for i in range(3):
            capture(result(i, [[10, 20, 50, 90, 0.9, 0]]))
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest()
              for p in where.rglob('*') if p.is_file()}
    remount_read_only(where)
    stats, line = run_stream_with_capture(where / 'dataset', caplog)
    assert stats.state == CaptureState.FAILED and stats.saved == 0
    assert 'cannot write to' in line and 'read-only' in line
    assert {p: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in where.rglob('*') if p.is_file()} == before


@pytest.mark.skipif(os.geteuid() == 0, reason='root writes into a mode 0555 directory anyway; '
                    'the read-only tmpfs tests cover root')
def test_a_directory_without_write_permission(tmp_path, caplog):
    directory = tmp_path / 'dataset'
    directory.mkdir(mode=0o555)
    stats, line = run_stream_with_capture(directory, caplog)
    assert stats.state == CaptureState.FAILED and 'permission denied' in line


def test_a_vanished_directory_stops_capture(tmp_path, caplog):
    directory = tmp_path / 'dataset'

    def remove_it(result):
        if result.frame_id == 8:
            while directory.exists():  # the worker may be adding a file meanwhile
                shutil.rmtree(directory, ignore_errors=True)

    stats, line = run_stream_with_capture(directory, caplog, on_frame=remove_it)
    assert stats.state == CaptureState.FAILED and 'the directory vanished' in line
    assert stats.write_errors == 1 and stats.saved == 8 and not directory.exists()


FILE_SIZE_LIMITED = """
import json, resource, signal, sys
sys.path.insert(0, {test!r})
import numpy as np
from stream_infer import InferenceStream
from stream_infer.capture import CaptureSink
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))
rng = np.random.default_rng(4)
frames = [rng.integers(0, 256, (720, 1280, 3), dtype=np.uint8) for _ in range(20)]
stream = InferenceStream(iter(frames), lambda image: np.array([[10., 20., 110., 220., .9, 0.]]))
with CaptureSink({directory!r}, ['person'], rules=['random'], min_interval_s=0, per_minute=0,
                 per_hour=0, per_day=0, disk_budget_mb=0, min_free_mb=0) as capture:
    stream.on_result(capture)
    processed = stream.run().frames_processed
stats = capture.stats()
print(json.dumps({{'processed': processed, 'state': str(stats.state), 'saved': stats.saved,
                  'message': stats.message, 'write_errors': stats.write_errors}}))
"""


def test_a_file_size_limit_stops_capture_and_the_stream_goes_on(tmp_path):
    directory = tmp_path / 'dataset'
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get('PYTHONPATH', ''))
    script = FILE_SIZE_LIMITED.format(test=str(ROOT / 'test'), directory=str(directory))
    done = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True,
                          env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.splitlines()[-1])
    assert report['processed'] == 20 and report['state'] == 'failed'
    assert 'the file size limit is reached' in report['message'] and report['saved'] == 0
    assert done.stderr.count('capture stopped') == 1
    assert_whole(directory, 0)
