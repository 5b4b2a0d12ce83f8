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

"""The Python examples of doc/python-api.md run as written (on the bundled clip and model)."""

from pathlib import Path
import re
import subprocess
import sys

ROOT = Path(__file__).resolve().parent.parent


def test_readme_python_example_runs_and_prints_tracked_people():
    readme = (ROOT / 'doc' / 'python-api.md').read_text()
    example = re.findall(r'```python\n(.*?)```', readme, flags=re.S)[0]  # the API's
    done = subprocess.run([sys.executable, '-c', example], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert 'first frame processed' in lines
    people = [line.split() for line in lines if ' person ' in f' {line} ']
    assert len(people) > 20, done.stdout[-2000:]
    assert all(float(p[2]) >= 0.4 for p in people)  # the confidence given in the example
    assert any(p[3] != 'None' for p in people), 'no tracker ids'
    assert any(line.startswith('ended: stopped') for line in lines), done.stdout[-2000:]
    assert 'Stats(' in lines[-1]


def test_readme_many_sources_example_runs_per_source():
    readme = (ROOT / 'doc' / 'python-api.md').read_text()
    [example] = re.findall(r'```py\n(.*?)```', readme, flags=re.S)
    done = subprocess.run([sys.executable, '-c', example], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    per_frame = [line.split() for line in lines if line.startswith(('left ', 'right '))
                 and len(line.split()) == 3 and line.split()[1].isdigit()]
    assert sorted((name, int(i)) for name, i, _ in per_frame) == sorted(
        [('left', i) for i in range(20)] + [('right', i) for i in range(20)])
    [states] = [line for line in lines if line.startswith('right was ')]
    assert 'connected' in states and states.endswith('stopped'), states
    assert any(line.startswith('left 20 max_frames') for line in lines), lines[-4:]
    assert lines[-1] == 'total 40 max_frames'
