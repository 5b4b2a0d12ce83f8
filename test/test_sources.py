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

"""Frame sources on real files, real arrays and real threads; URL credential redaction."""

import os
import threading
import time

import cv2
from helpers.frame_codes import read_index, stamp_index, write_video
import numpy as np
import pytest

from stream_infer.bundled import bundled_clip_path
from stream_infer.errors import SourceError
from stream_infer.sources import (
    as_bgr, CaptureSource, ImageSource, IteratorSource, open_source, PushSource,
    ReconnectPolicy, redact, SourceState, VideoFileSource)

CONNECTED, ENDED, FAILED, STOPPED = (SourceState.CONNECTED, SourceState.ENDED,
                                     SourceState.FAILED, SourceState.STOPPED)


def read_all(source, limit=10000):
    out = []
    while len(out) < limit:
        raw = source.read()
        if raw is None:
            break
        out.append(raw)
    return out


@pytest.fixture
def video(tmp_path):
    return write_video(tmp_path / 'numbered.avi', range(40), fps=50.0)


@pytest.mark.parametrize('text, expected', [
    ('rtsp://admin:hunter2@10.0.0.5:554/live', 'rtsp://***@10.0.0.5:554/live'),
    ('http://user@host/x.mjpg', 'http://***@host/x.mjpg'),
    ('https://host/stream?token=abc123&fps=5', 'https://host/stream?token=***&fps=5'),
    ('cannot open http://u:p%40ss@h/a and rtsp://x:y@z/b', 'cannot open http://***@h/a and '
     'rtsp://***@z/b'),
    ('file /data/clip.mp4', 'file /data/clip.mp4'),
])
def test_redact_hides_credentials(text, expected):
    assert redact(text) == expected


def test_open_source_picks_the_right_kind(tmp_path, video):
    image_path = tmp_path / 'one.png'
    cv2.imwrite(str(image_path), stamp_index(7))
    assert isinstance(open_source(None), PushSource)
    webcam = open_source('webcam')
    assert isinstance(webcam, CaptureSource) and webcam.target == 0 and webcam.kind == 'camera'
    assert open_source('2').target == 2 and open_source(3).target == 3
    url = open_source('rtsp://me:secret@127.0.0.1:8554/cam')
    assert url.kind == 'network' and 'secret' not in url.description and url.live
    assert isinstance(open_source(video), VideoFileSource)
    assert isinstance(open_source(str(image_path)), ImageSource)
    assert isinstance(open_source(stamp_index(1)), ImageSource)
    assert isinstance(open_source(iter([stamp_index(1)])), IteratorSource)
    assert isinstance(open_source([stamp_index(1)]), IteratorSource)
    assert open_source(video, enforce_fps=True).live and not open_source(video).live


@pytest.mark.parametrize('spec, message', [
    ('/no/such/clip.mp4', 'source not found'),
    ('ftp://user:pw@host/clip.mp4', 'unsupported URL scheme'),
    (3.5, 'bad source of type float'),
    (-1, 'camera index must be >= 0'),
    (True, 'bad source'),
])
def test_bad_sources_give_clear_errors(spec, message):
    with pytest.raises(SourceError, match=message) as info:
        open_source(spec)
    assert 'accepted' in str(info.value) and 'pw' not in str(info.value)


def test_directory_and_undecodable_files(tmp_path):
    with pytest.raises(SourceError, match='directory'):
        open_source(tmp_path)
    junk = tmp_path / 'junk.mp4'
    junk.write_text('not a video')
    with pytest.raises(SourceError, match='cannot decode video file'):
        open_source(junk).open()
    bad_image = tmp_path / 'junk.png'
    bad_image.write_text('not an image')
    with pytest.raises(SourceError, match='cannot decode image'):
        open_source(bad_image).open()


def test_missing_camera_is_a_source_error():
    with pytest.raises(SourceError, match='cannot open camera 97'):
        open_source(97).open()


def test_v4l2_device_paths_open_as_cameras_other_special_files_are_refused(tmp_path):
    camera = open_source('/dev/video7')
    assert isinstance(camera, CaptureSource) and camera.kind == 'camera' and camera.live
    assert camera.target == 7 and camera.description == 'camera /dev/video7'
    link = tmp_path / 'usb-cam-video-index0'  # like /dev/v4l/by-id/... -> ../../video7
    link.symlink_to('/dev/video7')
    by_link = open_source(str(link))
    assert by_link.target == 7 and by_link.description == f'camera {link} (/dev/video7)'
    with pytest.raises(SourceError, match='cannot open camera /dev/video97'):
        open_source('/dev/video97').open()  # no such device here: the camera error, not 'file'
    fifo = tmp_path / 'pipe'
    os.mkfifo(fifo)
    for special in ('/dev/null', str(fifo)):
        with pytest.raises(SourceError, match='not a regular file') as info:
            open_source(special)
        assert special in str(info.value) and '/dev/videoN' in str(info.value)
        assert str(info.value).count('\n') == 0


def test_frames_are_stamped_by_the_clock_given(video):
    source = open_source(video)
    source.clock = lambda: 1234.5
    source.open()
    stamps = [raw.timestamp for raw in read_all(source, limit=3)]
    source.close()
    assert stamps == [1234.5] * 3
    unclocked = open_source(video)
    unclocked.open()
    wall = unclocked.read().timestamp
    unclocked.close()
    assert abs(wall - time.time()) < 60
    push = PushSource()
    push.clock = lambda: 77.0
    push.open()
    push.put(stamp_index(1))
    assert push.read().timestamp == 77.0
    push.put(stamp_index(2), timestamp=5.0)  # the caller's stamp is kept
    assert push.read().timestamp == 5.0
    push.close()


def test_video_file_every_frame_in_order_then_ended(video):
    source = open_source(video)
    states = []
    source.listener = lambda state, message: states.append(state)
    source.open()
    assert source.fps == pytest.approx(50.0) and source.frame_count == 40
    frames = read_all(source)
    assert [read_index(f.image) for f in frames] == list(range(40))
    assert source.state == ENDED and source.read() is None
    stamps = [f.monotonic for f in frames]
    assert stamps == sorted(stamps)
    source.close()
    assert states[:2] == ['connecting', CONNECTED] and ENDED in states


def test_video_file_loop_starts_again(video):
    source = VideoFileSource(video, loop=True)
    source.open()
    indices = [read_index(f.image) for f in read_all(source, limit=100)]
    source.close()
    assert indices[:40] == list(range(40)) and indices[40:80] == list(range(40))


def test_enforce_fps_paces_like_a_camera_and_skips_when_behind(video):
    source = VideoFileSource(video, enforce_fps=True)
    source.open()
    start = time.monotonic()
    first = [read_index(f.image) for f in read_all(source, limit=10)]
    elapsed = time.monotonic() - start
    assert elapsed >= 9 / 50.0, 'real-time pacing: 10 frames at 50 fps take >= 0.18 s'
    assert first == sorted(first)
    slow = []
    for _ in range(5):  # a consumer 4x slower than the file: the source must skip frames
        raw = source.read()
        if raw is None:
            break
        slow.append(read_index(raw.image))
        time.sleep(4 / 50.0)
    source.close()
    assert source.skipped > 0
    assert all(b - a > 1 for a, b in zip(slow, slow[1:]))


def test_bundled_clip_opens():
    source = open_source(bundled_clip_path())
    source.open()
    raw = source.read()
    source.close()
    assert raw.image.shape == (576, 768, 3) and source.state == STOPPED


def test_image_source_gives_one_frame(tmp_path):
    path = tmp_path / 'x.jpg'
    cv2.imwrite(str(path), stamp_index(1234))
    source = open_source(path)
    source.open()
    frames = read_all(source)
    assert len(frames) == 1 and read_index(frames[0].image) == 1234
    assert source.state == ENDED
    array_source = open_source(np.zeros((8, 8), np.uint8))  # gray: converted to BGR
    array_source.open()
    assert array_source.read().image.shape == (8, 8, 3)


def test_iterator_source_and_a_bad_item():
    def frames():
        yield stamp_index(1)
        yield stamp_index(2)
        yield 'not a frame'
    source = IteratorSource(frames())
    source.open()
    got = read_all(source)
    assert [read_index(f.image) for f in got] == [1, 2]
    assert source.state == FAILED


def test_push_source_newest_wins_meta_untouched_and_interrupt():
    source = PushSource()
    assert source.put(stamp_index(1)) is False, 'not open yet: refused'
    source.open()
    meta = object()
    assert source.put(stamp_index(1), timestamp=5.0, meta='old')
    assert source.put(stamp_index(2), timestamp=6.0, meta=meta)
    raw = source.read()
    assert read_index(raw.image) == 2 and raw.meta is meta and raw.timestamp == 6.0
    assert source.skipped == 1
    result = []
    reader = threading.Thread(target=lambda: result.append(source.read()))
    reader.start()
    time.sleep(0.05)
    source.interrupt()
    reader.join(2)
    assert not reader.is_alive() and result == [None]
    source.close()
    assert source.put(stamp_index(3)) is False


def test_as_bgr_accepts_gray_and_bgra_and_refuses_the_rest():
    assert as_bgr(np.zeros((4, 5), np.uint8)).shape == (4, 5, 3)
    assert as_bgr(np.zeros((4, 5, 4), np.uint8)).shape == (4, 5, 3)
    for bad, message in ((np.zeros((4, 5, 3), np.float32), 'uint8'),
                         (np.zeros((4, 5, 2), np.uint8), 'shape'),
                         (np.zeros((0, 5, 3), np.uint8), 'empty'),
                         ([[1, 2]], 'numpy array')):
        with pytest.raises(ValueError, match=message):
            as_bgr(bad)


def test_reconnect_policy_backoff_and_validation():
    policy = ReconnectPolicy(initial_delay=0.1, max_delay=0.5)
    assert [policy.delay(k) for k in range(5)] == pytest.approx([0.1, 0.2, 0.4, 0.5, 0.5])
    for bad in ({'initial_delay': 0}, {'max_delay': 0.01, 'initial_delay': 0.1},
                {'max_attempts': 0}, {'read_timeout': -1}):
        with pytest.raises(ValueError):
            ReconnectPolicy(**bad)
