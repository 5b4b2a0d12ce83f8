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

"""`stream-infer SOURCE --capture DIR` as a person runs it: a real subprocess, real files."""

import json
import os
from pathlib import Path
import subprocess
import sys

import cv2
import supervision as sv

from stream_infer.bundled import bundled_clip_path

ROOT = Path(__file__).resolve().parent.parent


def cli(*args, timeout=180):
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get('PYTHONPATH', ''))
    return subprocess.run([sys.executable, '-m', 'stream_infer.cli', *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=env)


def only_batch(directory: Path) -> Path:
    [batch] = [p for p in directory.iterdir() if p.is_dir()]
    return batch


def test_capture_alone_keeps_a_trickle_with_the_default_rules(tmp_path):
    done = cli(bundled_clip_path(), '--max-frames', 30, '--capture', tmp_path / 'dataset',
               '--capture-min-free-mb', 0)
    assert done.returncode == 0, done.stderr
    [line] = [x for x in done.stdout.splitlines() if x.startswith('capture: ')]
    batch = only_batch(tmp_path / 'dataset')
    records = [json.loads(x) for x in (batch / 'manifest.jsonl').read_text().splitlines()]
    assert f'capture: {len(records)} images saved to {batch}' in line
    assert records[0]['frame_id'] == 0 and 'new_track' in records[0]['rules']
    assert len(records) < 30  # a trickle: rules, 1 s between frames and caps
    assert {rule for r in records for rule in r['rules']} <= {
        'near_threshold', 'new_track', 'flicker', 'untracked', 'random'}
    dataset = sv.DetectionDataset.from_yolo(str(batch / 'images'), str(batch / 'labels'),
                                            str(batch / 'data.yaml'))
    assert len(dataset) == len(records) and dataset.classes[0] == 'person'


def test_rules_file_and_capture_options(tmp_path):
    rules = tmp_path / 'rules.yaml'
    rules.write_text('rules:\n  - kind: count\n    name: anyone\n    at_least: 1\n'
                     '    classes: [person]\n')
    done = cli(bundled_clip_path(), '--max-frames', 6, '--json', '-', '--capture',
               tmp_path / 'dataset', '--capture-rules', rules, '--capture-min-interval-s', 0,
               '--capture-per-minute', 0, '--capture-min-free-mb', 0, '--capture-coco',
               '--capture-max-image-size', 384, '--capture-jpeg-quality', 70,
               '--capture-queue-size', 16)
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 6  # stdout keeps the JSON lines only
    assert 'capture: 6 images saved' in done.stderr and 'anyone 6' in done.stderr
    batch = only_batch(tmp_path / 'dataset')
    images = sorted((batch / 'images').iterdir())
    assert len(images) == 6 and cv2.imread(str(images[0])).shape == (288, 384, 3)
    coco = json.loads((batch / 'annotations.coco.json').read_text())
    assert len(coco['images']) == 6 and coco['annotations']


def test_bad_capture_arguments_give_one_line_and_exit_2(tmp_path):
    rules = tmp_path / 'rules.yaml'
    rules.write_text('- new_track\n')
    cases = [
        (('--capture', tmp_path, '--capture-rule', 'count:at_leest=3'),
         'unknown key(s) at_leest for count; accepted: name'),
        (('--capture', tmp_path, '--capture-rule', 'new_track', '--capture-rules', rules),
         'either --capture-rule or --capture-rules'),
        (('--capture-rule', 'new_track'), 'need --capture DIR'),
        (('--capture', tmp_path, '--capture-jpeg-quality', 101),
         'jpeg_quality=101: expected an integer in [1, 100]'),
        (('--capture', tmp_path, '--capture-rules', tmp_path / 'none.yaml'), 'no such file'),
    ]
    for args, message in cases:
        done = cli(bundled_clip_path(), '--max-frames', 1, *args)
        assert done.returncode == 2, (args, done.stderr)
        [line] = done.stderr.strip().splitlines()
        assert line.startswith('stream-infer: error: ') and message in line, line
