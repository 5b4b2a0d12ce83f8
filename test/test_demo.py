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

"""The README's demo (scripts/demo.py) end to end: the installed node on the bundled clip."""

from pathlib import Path
import re
import subprocess
import sys

import cv2
import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.ros
def test_demo_prints_tracked_detections_and_writes_the_annotated_video(tmp_path):
    video = tmp_path / 'demo.mp4'
    done = subprocess.run([sys.executable, str(ROOT / 'scripts' / 'demo.py'), '--fast',
                           '--output', str(video)], capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    assert '[event] stream started' in out and '[event] stream stopped' in out
    published = int(re.search(r'frames with detections published: (\d+)', out).group(1))
    assert published == 200, out[-2000:]  # --fast: every frame of the clip, nothing dropped
    assert re.search(r"objects by class  \{'person': \d+", out), out[-2000:]
    assert int(re.search(r'distinct tracks   (\d+)', out).group(1)) >= 5
    assert re.search(r'person #\d+ 0\.\d\d @\(\d+,\d+\) \d+x\d+', out)  # a tracked person line
    capture = cv2.VideoCapture(str(video))
    frames = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    capture.release()
    assert frames > 150, frames  # annotated is keep-last-1: a busy viewer may miss a few
    assert 'node exit code    0' in out
