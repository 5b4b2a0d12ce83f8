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
`stream-infer COLOR --depth DEPTH --intrinsics ...` as a person runs it on recorded RGB-D files.

The colour is a real photo the bundled model finds a person in (test_depth_stream.py); each
depth file, written here, puts her silhouette at a known distance over a wall 6 m away.
"""

import json
import os
from pathlib import Path
import subprocess
import sys

import cv2
from helpers.rgbd_scenes import ellipse_mask
import numpy as np
import pytest
import supervision as sv

from stream_infer.annotate import labels_for
from stream_infer.depth import CENTRE_KEY

ROOT = Path(__file__).resolve().parent.parent
PHOTO = Path(__file__).parent / 'data' / 'astronaut.jpg'
PERSON_BOX = np.array([20.0, 14.0, 362.0, 512.0])  # test_detector_real_images: her box
DISTANCES = (1.2, 2.0, 3.5)  # metres, frame by frame (names 1, 2, 10: numeric order)
WALL = 6.0


def cli(*args, timeout=180):
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get('PYTHONPATH', ''))
    return subprocess.run([sys.executable, '-m', 'stream_infer.cli', *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=env)


def photo():
    return cv2.imread(str(PHOTO))


def intrinsics(image):
    h, w = image.shape[:2]
    return 525.0, 525.0, w / 2 - 0.5, h / 2 - 0.5


def depth_plane(image, metres, encoding):
    """Return the scene's depth array and file suffix (encoding: png_mm, png_01mm, npy)."""
    h, w = image.shape[:2]
    person = ellipse_mask(PERSON_BOX, (h, w), fill=0.8)
    if encoding == 'npy':
        depth = np.full((h, w), WALL, np.float32)
        depth[person] = metres
        depth[::7, ::5] = np.nan  # holes, as a stereo camera has
        return depth, '.npy'
    unit = 0.001 if encoding == 'png_mm' else 0.0001
    depth = np.full((h, w), round(WALL / unit), np.uint16)
    depth[person] = round(metres / unit)
    depth[::7, ::5] = 0  # no data
    return depth, '.png'


def write_depth(path, depth):
    if path.suffix == '.npy':
        np.save(path, depth)
    else:
        assert cv2.imwrite(str(path), depth)


def recording(tmp_path, encoding='png_mm', count=len(DISTANCES), video=False):
    """Write color/ (frame_N.jpg, or color.avi) and depth/ (depth_N.png|npy); return them."""
    image = photo()
    depth_dir = tmp_path / 'depth'
    depth_dir.mkdir()
    names = [1, 2, 10][:count]
    for name, metres in zip(names, DISTANCES):
        depth, suffix = depth_plane(image, metres, encoding)
        write_depth(depth_dir / f'depth_{name}{suffix}', depth)
    if video:
        color = tmp_path / 'color.avi'
        writer = cv2.VideoWriter(str(color), cv2.VideoWriter_fourcc(*'MJPG'), 15.0,
                                 (image.shape[1], image.shape[0]))
        for _ in names:
            writer.write(image)
        writer.release()
    else:
        color = tmp_path / 'color'
        color.mkdir()
        for name in names:
            assert cv2.imwrite(str(color / f'frame_{name}.jpg'), image)
    return color, depth_dir


def run_json(color, depth_dir, *extra):
    k = intrinsics(photo())
    done = cli(color, '--depth', depth_dir, '--intrinsics', ','.join(map(str, k)),
               '--classes', 'person', '--no-track', '--json', '-', *extra)
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()], k, done


@pytest.mark.parametrize('encoding, flags, video', [
    ('png_mm', [], False), ('png_01mm', ['--depth-scale', '0.0001'], False),
    ('npy', [], True)])
def test_each_frame_gets_the_distance_of_its_own_depth_file(tmp_path, encoding, flags, video):
    color, depth_dir = recording(tmp_path, encoding, video=video)
    out = tmp_path / 'annotated.mp4'
    records, k, done = run_json(color, depth_dir, '--output', out, *flags)
    assert [r['frame_id'] for r in records] == [0, 1, 2]
    fx, fy, cx, cy = k
    for record, metres in zip(records, DISTANCES):
        person = max(record['predictions'], key=lambda p: p['confidence'])
        assert person['class'] == 'person'
        position, size = person['position_m'], person['size_m']
        assert position['z'] == pytest.approx(metres, rel=0.01)
        assert position['x'] == pytest.approx((person['x'] - 0.5 - cx) * metres / fx, abs=0.01)
        assert position['y'] == pytest.approx((person['y'] - 0.5 - cy) * metres / fy, abs=0.01)
        assert size['x'] == pytest.approx(person['width'] * metres / fx, rel=0.05)
        assert size['y'] == pytest.approx(person['height'] * metres / fy, rel=0.05)
    assert '3 frames from rgbd' in done.stderr
    assert out.is_file() and out.stat().st_size > 0


def test_depth_options_are_flags_and_reach_the_engine(tmp_path):
    """--depth-min above every distance in the scene: each person stays 2D (position null)."""
    color, depth_dir = recording(tmp_path)
    records, _, _ = run_json(color, depth_dir, '--depth-min', '10', '--depth-max', '20')
    people = [max(r['predictions'], key=lambda p: p['confidence']) for r in records]
    assert len(people) == 3 and all(p['position_m'] is None for p in people)
    assert '--depth-pairing-tolerance' not in cli('--help').stdout  # stamps: ROS only


def test_loop_starts_again_at_the_first_pair(tmp_path):
    color, depth_dir = recording(tmp_path, 'npy', video=True)
    records, _, _ = run_json(color, depth_dir, '--loop', '--max-frames', 5)
    distances = [max(r['predictions'], key=lambda p: p['confidence'])['position_m']['z']
                 for r in records]
    assert distances == pytest.approx([*DISTANCES, *DISTANCES[:2]], rel=0.01)


def without_last_depth(tmp_path):
    color, depth_dir = recording(tmp_path)
    sorted(depth_dir.iterdir())[-1].unlink()  # depth_2.png (name order: depth_1, _10, _2)
    return color, depth_dir, '3 colour frames in', 'but 2 depth files in'


def video_with_extra_depth(tmp_path):
    color, depth_dir = recording(tmp_path, 'npy', count=2, video=True)
    depth, _ = depth_plane(photo(), 3.0, 'npy')
    np.save(depth_dir / 'depth_11.npy', depth)
    return color, depth_dir, '2 colour frames in', 'but 3 depth files in'


def colour_image_as_depth(tmp_path):
    color, depth_dir = recording(tmp_path, count=1)
    assert cv2.imwrite(str(depth_dir / 'depth_1.png'), photo())
    return color, depth_dir, "depth file '", 'not 16-bit single-channel'


def truncated_npy(tmp_path):
    color, depth_dir = recording(tmp_path, 'npy', count=1)
    data = (depth_dir / 'depth_1.npy').read_bytes()
    (depth_dir / 'depth_1.npy').write_bytes(data[:len(data) // 2])
    return color, depth_dir, 'depth_1.npy', 'truncated'


def not_a_png(tmp_path):
    color, depth_dir = recording(tmp_path)
    (depth_dir / 'depth_10.png').write_bytes(b'\x89PNG\r\n\x1a\n' + b'\0' * 40)
    return color, depth_dir, 'depth_10.png', 'not a PNG'


@pytest.mark.parametrize('scene', [without_last_depth, video_with_extra_depth,
                                   colour_image_as_depth, truncated_npy, not_a_png])
def test_mismatched_or_unreadable_recordings_are_refused_in_one_line(tmp_path, scene):
    color, depth_dir, *expected = scene(tmp_path)
    done = cli(color, '--depth', depth_dir, '--intrinsics', '525,525,255.5,255.5')
    assert done.returncode == 2, done.stderr
    [line] = done.stderr.splitlines()
    assert line.startswith('stream-infer: error: ') and all(e in line for e in expected), line
    assert done.stdout == ''


def test_a_bad_depth_file_later_in_the_recording_ends_the_run_naming_it(tmp_path):
    """A PNG whose header is fine but whose pixel data is cut: found when it is decoded."""
    color, depth_dir = recording(tmp_path)
    path = depth_dir / 'depth_10.png'
    path.write_bytes(path.read_bytes()[:200])
    done = cli(color, '--depth', depth_dir, '--intrinsics', '525,525,255.5,255.5', '--json', '-',
               '--quiet')
    assert done.returncode == 1, done.stderr
    assert len(done.stdout.splitlines()) == 2, 'the two good pairs are processed'
    assert 'the stream ended on an error' in done.stderr and 'depth_10.png' in done.stderr


@pytest.mark.parametrize('args, message', [
    (['--intrinsics', '525,525,255.5'], 'expected FX,FY,CX,CY'),
    (['--intrinsics', '0,525,255.5,255.5'], 'fx > 0'),
    ([], 'needs --intrinsics'),
    (['--intrinsics', '525,525,255.5,255.5', '--enforce-fps'], 'no --enforce-fps'),
    (['--intrinsics', '525,525,255.5,255.5', '--depth-min', '5', '--depth-max', '2'],
     'depth_max (2) must be > depth_min'),
])
def test_bad_depth_flags_are_refused_in_one_line(tmp_path, args, message):
    color, depth_dir = recording(tmp_path, count=1)
    done = cli(color, '--depth', depth_dir, *args)
    assert done.returncode == 2, done.stderr
    [line] = done.stderr.splitlines()
    assert message in line, line


def test_annotated_labels_show_the_distance_when_known():
    detections = sv.Detections(xyxy=np.array([[0., 0., 10., 10.], [5., 5., 20., 20.]]),
                               confidence=np.array([0.9, 0.8]), class_id=np.array([0, 0]))
    assert labels_for(detections, ['person']) == ['person 0.90', 'person 0.80']
    detections.data[CENTRE_KEY] = np.array([[0.3, 0.0, 0.4], [np.nan] * 3])
    assert labels_for(detections, ['person']) == ['person 0.90 0.50 m', 'person 0.80']
