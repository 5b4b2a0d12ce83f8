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

"""`stream-infer` as a person runs it: a real subprocess on the bundled clip and model."""

import json
import os
from pathlib import Path
import subprocess
import sys

import cv2
import pytest

from stream_infer.bundled import bundled_clip_path

ROOT = Path(__file__).resolve().parent.parent


def cli(*args, timeout=120):
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get('PYTHONPATH', ''))
    return subprocess.run([sys.executable, '-m', 'stream_infer.cli', *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=env)


def test_clip_to_json_lines_and_annotated_video(tmp_path):
    video = tmp_path / 'out.mp4'
    done = cli(bundled_clip_path(), '--max-frames', 6, '--json', '-', '--output', video)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 6, 'one JSON object per processed frame, nothing else on stdout'
    records = [json.loads(line) for line in lines]
    assert [r['frame_id'] for r in records] == list(range(6))
    first = records[0]
    assert first['image'] == {'width': 768, 'height': 576}
    people = [p for p in first['predictions'] if p['class'] == 'person']
    assert people and set(people[0]) >= {'x', 'y', 'width', 'height', 'confidence', 'class',
                                         'class_id', 'tracker_id'}
    assert any(p['tracker_id'] for r in records for p in r['predictions'])
    assert '6 frames from file' in done.stderr and 'detections: person' in done.stderr
    assert 'tracks:' in done.stderr and 'annotated video' in done.stderr
    capture = cv2.VideoCapture(str(video))
    count = 0
    while capture.read()[0]:
        count += 1
    assert count == 6


def test_single_image_gives_one_line_and_a_summary_on_stdout(tmp_path):
    capture = cv2.VideoCapture(str(bundled_clip_path()))
    ok, frame = capture.read()
    image = tmp_path / 'street.jpg'
    cv2.imwrite(str(image), frame)
    out = tmp_path / 'det.jsonl'
    done = cli(image, '--json', out, '--classes', 'person', '--no-track')
    assert done.returncode == 0, done.stderr
    [line] = out.read_text().splitlines()
    record = json.loads(line)
    assert record['predictions'] and {p['class'] for p in record['predictions']} == {'person'}
    assert all(p['tracker_id'] is None for p in record['predictions'])
    assert done.stdout.startswith('1 frames from image') and 'frames 1' not in done.stderr


@pytest.mark.parametrize('args, message', [
    (['/no/such/video.mp4'], 'source not found'),
    ([str(bundled_clip_path()), '--model', '/no/such/model.onnx'], 'model'),
    ([str(bundled_clip_path()), '--classes', 'unicorn'], 'unicorn'),
    (['http://admin:hunter2@127.0.0.1:9/cam.mjpg'], 'cannot open http://***@127.0.0.1'),
    ([str(bundled_clip_path()), '--output', '/tmp/out.xyz'], 'unsupported video type'),
])
def test_bad_input_is_one_line_and_exit_code_2(args, message):
    done = cli(*args)
    assert done.returncode == 2, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith('stream-infer:')]
    assert len(errors) == 1 and message in errors[0], done.stderr
    assert 'Traceback' not in done.stderr and 'hunter2' not in done.stderr + done.stdout


def test_several_sources_one_json_stream_and_one_video_per_source(tmp_path):
    video = tmp_path / 'out.mp4'
    done = cli(bundled_clip_path(), f'rear={bundled_clip_path()}', '--max-frames', 4,
               '--json', '-', '--output', video)
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(records) == 8
    by_source = {}
    for record in records:
        by_source.setdefault((record['source_id'], record['source']), []).append(
            record['frame_id'])
    assert by_source == {(0, '0'): [0, 1, 2, 3], (1, 'rear'): [0, 1, 2, 3]}
    assert records[0]['predictions'] == records[1]['predictions'], 'same clip, same boxes'
    assert '8 frames from 0: file' in done.stderr and '  rear: 4 frames' in done.stderr
    for name in ('0', 'rear'):
        capture = cv2.VideoCapture(str(tmp_path / f'out_{name}.mp4'))
        count = 0
        while capture.read()[0]:
            count += 1
        assert count == 4, name
    assert not video.exists()


def test_a_source_name_given_twice_is_a_usage_error():
    done = cli(f'a={bundled_clip_path()}', f'a={bundled_clip_path()}')
    assert done.returncode == 2 and "source name 'a' is given twice" in done.stderr
