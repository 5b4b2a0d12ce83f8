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
The suite where onnx does not import: an apt ROS install (no onnx) or a broken build.

The failure this guards against: ml_dtypes 0.7 (built for numpy 2 only) under numpy 1.26 made
`import onnx` raise while test helpers were being imported, and every ROS test module failed at
collection. Here a real `onnx` package that raises on import, as that one did, comes first on
the path of a child pytest: nothing may fail to collect, tests that build a graph skip saying
why, and tests of the bundled model still run.
"""

import os
from pathlib import Path
import subprocess
import sys

import pytest

ROOT = Path(__file__).resolve().parents[1]
BROKEN = ('raise RuntimeError("module was compiled against NumPy C-API version 0x12 (NumPy 2.0) '
          'but the running NumPy has C-API version 0x11")\n')


def run_pytest(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    broken = tmp_path / 'broken'
    (broken / 'onnx').mkdir(parents=True)
    (broken / 'onnx' / '__init__.py').write_text(BROKEN)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(broken), str(ROOT), os.environ.get('PYTHONPATH', '')]))
    return subprocess.run([sys.executable, '-m', 'pytest', '-p', 'no:cacheprovider', '-rs', *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_every_test_module_collects_without_onnx(tmp_path):
    pytest.importorskip('rclpy', reason='collects the ROS test modules too: needs the ROS venv')
    child = run_pytest(tmp_path, '--collect-only', '-q', 'test')
    assert child.returncode == 0, child.stdout[-3000:] + child.stderr[-3000:]
    assert 'error' not in child.stdout.splitlines()[-1].lower(), child.stdout[-3000:]


@pytest.mark.slow
def test_graph_tests_skip_with_the_reason_and_bundled_model_tests_run(tmp_path):
    child = run_pytest(tmp_path, '-q', 'test/test_detector_layouts.py',
                       'test/test_detector_real_images.py')
    out = child.stdout
    assert child.returncode == 0, out[-3000:] + child.stderr[-3000:]
    assert 'onnx package, which does not import here (RuntimeError: module was compiled' in out
    summary = out.splitlines()[-1]
    assert ' passed' in summary and ' skipped' in summary, summary
    assert 'failed' not in summary and 'error' not in summary, summary
