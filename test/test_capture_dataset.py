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
The captured dataset on disk: what supervision loads back equals what the stream delivered.

Real files, the real engine on the bundled clip and model; restarts, other class names, day
batches, and a capture process killed (SIGKILL) in the middle of writing.
"""

import hashlib
import os
from pathlib import Path
import signal
import subprocess
import sys
import time

import cv2
from helpers.capture_scene import NAMES, NO_LIMITS, PERSON, result
import numpy as np
import pytest
import supervision as sv

from stream_infer import InferenceStream
from stream_infer.bundled import bundled_clip_path
from stream_infer.capture import CaptureSink
from stream_infer.capture.dataset import read_manifest
from stream_infer.capture.limits import tree_size

ROOT = Path(__file__).resolve().parent.parent
DAY = 1_780_000_000.0  # 2026-05-28 (UTC), any wall-clock time will do


def batches(root):
    return sorted(p for p in Path(root).iterdir() if p.is_dir())


def run_clip(directory, frames, **capture_options):
    """Capture every frame of the clip's first frames; return {frame_id: (xyxy, names)}."""
    stream = InferenceStream(bundled_clip_path(), max_frames=frames)
    delivered = {}
    stream.on_result(lambda r: delivered.__setitem__(r.frame_id, (
        r.detections.xyxy.copy(), [str(n) for n in r.detections.data['class_name']])))
    options = dict(NO_LIMITS, **capture_options)
    with CaptureSink(directory, stream.class_names, rules=['random'], source='clip',
                     **options) as capture:
        stream.on_result(capture)
        stream.run()
    assert capture.stats().saved == frames
    return delivered, capture.stats()


def assert_loads_as_delivered(dataset, batch, delivered, scale):
    by_image = {os.path.basename(r['image']): r for r in read_manifest(batch / 'manifest.jsonl')}
    assert len(dataset) == len(delivered) == len(by_image)
    compared = 0
    for path, _, loaded in dataset:
        record = by_image[os.path.basename(path)]
        xyxy, names = delivered[record['frame_id']]
        assert len(loaded) == len(xyxy)
        assert [dataset.classes[c] for c in loaded.class_id] == names
        np.testing.assert_allclose(loaded.xyxy / scale, xyxy, atol=2e-3)
        compared += len(xyxy)
    assert compared > 0


@pytest.mark.parametrize('max_image_size', [0, 384])
def test_yolo_and_coco_load_back_as_the_predictions_delivered(tmp_path, max_image_size):
    delivered, stats = run_clip(tmp_path, 8, max_image_size=max_image_size, coco=True)
    assert stats.dataset_bytes == tree_size(tmp_path)  # the COCO file rewritten included
    [batch] = batches(tmp_path)
    scale = 384 / 768 if max_image_size else 1.0
    for image in (batch / 'images').iterdir():
        assert cv2.imread(str(image)).shape == (round(576 * scale), round(768 * scale), 3)
    yolo = sv.DetectionDataset.from_yolo(str(batch / 'images'), str(batch / 'labels'),
                                         str(batch / 'data.yaml'))
    assert yolo.classes[:3] == ['person', 'bicycle', 'car'] and len(yolo.classes) == 80
    assert_loads_as_delivered(yolo, batch, delivered, scale)
    coco = sv.DetectionDataset.from_coco(str(batch / 'images'),
                                         str(batch / 'annotations.coco.json'))
    assert coco.classes == yolo.classes
    assert_loads_as_delivered(coco, batch, delivered, scale)


def test_manifest_says_which_rules_source_frame_thresholds_and_tracks(tmp_path):
    stream = InferenceStream(bundled_clip_path(), max_frames=6, confidence=0.4)
    with CaptureSink(tmp_path, stream.class_names, rules=['count:name=busy,at_least=1'],
                     source=stream.source_description, **NO_LIMITS) as capture:
        stream.on_result(capture)
        stream.run()
    [batch] = batches(tmp_path)
    records = read_manifest(batch / 'manifest.jsonl')
    assert [r['frame_id'] for r in records] == list(range(6))
    first = records[0]
    assert first['rules'] == ['busy'] and first['source'].endswith('vtest_clip.mp4')
    assert first['thresholds']['confidence'] == 0.4 and first['thresholds']['iou_threshold']
    assert first['image'] == 'images/000001_vtest_clip_000000.jpg'
    assert all(d['confidence'] >= 0.4 for r in records for d in r['detections'])
    assert any(r['tracks'] for r in records)
    assert all(r['tracks'] == sorted({d['tracker_id'] for d in r['detections']} - {-1})
               for r in records)


def tree(root):
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in Path(root).rglob('*') if p.is_file()}


def capture_results(directory, frame_ids, names=NAMES, wall=DAY, **options):
    with CaptureSink(directory, names, rules=['random'], wall_clock=lambda: wall,
                     **dict(NO_LIMITS, **options)) as capture:
        for i in frame_ids:
            capture(result(i, [[10, 20, 50, 90, 0.9, PERSON]], [1]))
    return capture.stats()


def test_a_restart_continues_the_batch_without_overwriting(tmp_path):
    assert capture_results(tmp_path, range(3)).saved == 3
    before = tree(tmp_path)
    [batch] = batches(tmp_path)
    # what a killed run leaves: a temp file of a dead process and a label whose image is not
    dead = subprocess.run([sys.executable, '-c', 'import os; print(os.getpid())'],
                          capture_output=True, text=True).stdout.strip()
    (batch / 'images' / f'.000004_source_000009.jpg.{dead}.tmp').write_bytes(b'\xff\xd8half')
    (batch / 'labels' / '000004_source_000009.txt').write_text('0 0.5 0.5 0.1 0.1\n')
    with open(batch / 'manifest.jsonl', 'ab') as manifest:
        manifest.write(b'{"image": "cut by a power lo')
    old_manifest = (batch / 'manifest.jsonl').read_bytes()
    stats = capture_results(tmp_path, range(3))
    assert stats.saved == 3 and stats.dataset_bytes == tree_size(tmp_path)
    after = tree(tmp_path)
    unchanged = {k: v for k, v in before.items() if not k.endswith('manifest.jsonl')}
    assert {k: after[k] for k in unchanged} == unchanged
    assert sorted(p.name for p in (batch / 'images').iterdir()) == [
        f'{n:06d}_source_{i:06d}.jpg' for n, i in zip(range(1, 7), [0, 1, 2, 0, 1, 2])]
    assert sorted(p.name for p in (batch / 'labels').iterdir()) == [
        f'{n:06d}_source_{i:06d}.txt' for n, i in zip(range(1, 7), [0, 1, 2, 0, 1, 2])]
    manifest = (batch / 'manifest.jsonl').read_bytes()
    assert manifest.startswith(old_manifest + b'\n')  # the cut line stays on its own
    assert [r['frame_id'] for r in read_manifest(batch / 'manifest.jsonl')] == [0, 1, 2] * 2
    dataset = sv.DetectionDataset.from_yolo(str(batch / 'images'), str(batch / 'labels'),
                                            str(batch / 'data.yaml'))
    assert len(dataset) == 6


def test_other_class_names_get_a_new_batch_and_days_get_their_own(tmp_path):
    capture_results(tmp_path, [0])
    capture_results(tmp_path, [1], names=['person', 'car'] + NAMES[2:] + ['extra'])
    capture_results(tmp_path, [2], names=['cat', 'dog'])
    capture_results(tmp_path, [3], wall=DAY + 86400)
    assert [p.name for p in batches(tmp_path)] == [
        '2026-05-28', '2026-05-28_2', '2026-05-29']
    first, other, next_day = batches(tmp_path)
    assert len(list((first / 'images').iterdir())) == 2  # the longer name list extends it
    assert 'extra' in (first / 'data.yaml').read_text()
    assert len(list((other / 'images').iterdir())) == 1 and len(
        list((next_day / 'images').iterdir())) == 1


KILLED_WRITER = """
import sys, time
import numpy as np
sys.path.insert(0, {test!r})
from helpers.capture_scene import result
from stream_infer.capture import CaptureSink
noise = np.random.default_rng(0).integers(0, 256, (1080, 1920, 3), dtype=np.uint8)
with CaptureSink({directory!r}, ['person'], rules=['random'], min_interval_s=0, per_minute=0,
                 per_hour=0, per_day=0, disk_budget_mb=0, min_free_mb=0, queue_size=2,
                 jpeg_quality=100) as capture:
    for i in range(100000):
        capture(result(i, [[10, 20, 50, 90, 0.9, 0]], [1], image=noise))
        print(capture.stats().saved, flush=True)
        time.sleep(0.001)
"""


def test_a_killed_capture_never_leaves_half_an_image_or_label(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get('PYTHONPATH', ''))
    script = KILLED_WRITER.format(test=str(ROOT / 'test'), directory=str(tmp_path))
    for kill in range(4):
        process = subprocess.Popen([sys.executable, '-c', script], stdout=subprocess.PIPE,
                                   stderr=subprocess.DEVNULL, env=env, text=True)
        wanted = 2 + kill  # let it write a few images, then kill it at a moment of its own
        for line in process.stdout:
            if int(line) >= wanted:
                break
        time.sleep(0.013 * kill)
        process.send_signal(signal.SIGKILL)
        process.wait(30)
        process.stdout.close()
        [batch] = batches(tmp_path)
        images = sorted((batch / 'images').glob('*.jpg'))
        assert len(images) >= wanted
        for image in images:  # whole files only: every image decodes, has a whole label
            assert cv2.imread(str(image)) is not None, image
            with open(image, 'rb') as data:
                data.seek(-2, os.SEEK_END)
                assert data.read() == b'\xff\xd9', f'{image} is cut'
            label = batch / 'labels' / f'{image.stem}.txt'
            assert label.read_text() == '0 0.015625 0.050926 0.020833 0.064815\n'
    capture_results(tmp_path, [0], names=['person'], wall=time.time())  # the next run tidies
    [batch] = batches(tmp_path)
    assert not list(batch.rglob('.*.tmp'))
    assert sorted(p.stem for p in (batch / 'labels').iterdir()) == sorted(
        p.stem for p in (batch / 'images').iterdir())
    dataset = sv.DetectionDataset.from_yolo(str(batch / 'images'), str(batch / 'labels'),
                                            str(batch / 'data.yaml'))
    assert all(len(d) == 1 for _, _, d in dataset)
