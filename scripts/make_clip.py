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
Make media/vtest_clip.mp4, the bundled demo clip, from OpenCV's vtest.avi.

Usage: python scripts/make_clip.py /path/to/vtest.avi [media/vtest_clip.mp4]
Keeps the first 200 frames (20 s at 10 fps), full 768x576 resolution, MPEG-4 part 2 ('mp4v'),
which every OpenCV build's FFmpeg decodes.
"""

import sys

import cv2

FRAMES = 200


def main() -> int:
    src = sys.argv[1]
    dst = sys.argv[2] if len(sys.argv) > 2 else 'media/vtest_clip.mp4'
    cap = cv2.VideoCapture(src)
    if not cap.isOpened():
        print(f'cannot open {src}', file=sys.stderr)
        return 1
    fps = cap.get(cv2.CAP_PROP_FPS) or 10.0
    size = (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    out = cv2.VideoWriter(dst, cv2.VideoWriter_fourcc(*'mp4v'), fps, size)
    written = 0
    while written < FRAMES:
        ok, frame = cap.read()
        if not ok:
            break
        out.write(frame)
        written += 1
    out.release()
    print(f'wrote {written} frames at {fps} fps, {size[0]}x{size[1]} to {dst}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
