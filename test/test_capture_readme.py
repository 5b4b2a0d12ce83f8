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

"""The capture example of doc/capture.md runs as written (bundled clip, model) into a temp dir."""

import json
from pathlib import Path
import re
import subprocess
import sys

import supervision as sv

ROOT = Path(__file__).resolve().parent.parent


def test_readme_capture_example_writes_a_dataset(tmp_path):
    readme = (ROOT / 'doc' / 'capture.md').read_text()
    [example] = [block for block in re.findall(r'```python\n(.*?)```', readme, flags=re.S)
                 if 'CaptureSink' in block]
    directory = tmp_path / 'dataset'
    example = example.replace("'out/dataset'", repr(str(directory)))
    done = subprocess.run([sys.executable, '-c', example], cwd=ROOT, capture_output=True,
                          text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    requested = Path(lines[0].removeprefix('requested: '))
    assert requested.is_file() and requested.is_relative_to(directory)
    [batch] = list(directory.iterdir())
    assert f'images saved to {batch}' in lines[1]
    records = [json.loads(x) for x in (batch / 'manifest.jsonl').read_text().splitlines()]
    assert records[0]['rules'][-1] == 'manual' and records[0]['frame_id'] == 0
    assert any('new_track' in r['rules'] for r in records)
    dataset = sv.DetectionDataset.from_yolo(str(batch / 'images'), str(batch / 'labels'),
                                            str(batch / 'data.yaml'))
    assert len(dataset) == len(records) >= 2
    assert all(r['saved_width'] == 640 for r in records)  # max_image_size=640
