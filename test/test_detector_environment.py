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
Where the detector runs: read-only HOME, execution providers, threads, warm-up.

The HOME tests start a real Python process: onnxruntime sets up its telemetry storage under
$HOME/.cache when it is imported, so only a fresh process shows what happens there.
"""

import json
import logging
import os
from pathlib import Path
import shutil
import subprocess
import sys

import numpy as np
from onnx_graphs import constant_output_model
import pytest

from stream_infer.detection import Detector
from stream_infer.errors import ModelError

REPO = Path(__file__).resolve().parent.parent
DETECT_SCRIPT = r"""
import json, sys
import cv2
from stream_infer.detection import Detector
from stream_infer.errors import ModelError
detector = Detector(threads=1)
dets = detector(cv2.imread(sys.argv[1])).detections
print(json.dumps({'provider': detector.provider,
                  'names': dets.data['class_name'].tolist(),
                  'boxes': dets.xyxy.round().tolist()}))
"""
ORT_TELEMETRY_DIR = Path('.cache', 'Microsoft', 'DeveloperTools', '.onnxruntime')


def run_detector_process(home: str, cwd: Path, wrap: tuple = ()) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items()
           if k not in ('XDG_CACHE_HOME', 'ORT_DISABLE_TELEMETRY', 'PYTHONUSERBASE')}
    python_path = [str(REPO)] + [p for p in env.get('PYTHONPATH', '').split(os.pathsep) if p]
    env.update(HOME=home, PYTHONPATH=os.pathsep.join(python_path), PYTHONDONTWRITEBYTECODE='1')
    command = list(wrap) + [sys.executable, '-c', DETECT_SCRIPT,
                            str(REPO / 'test' / 'data' / 'astronaut.jpg')]
    return subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=120)


def check_person_found(proc: subprocess.CompletedProcess) -> None:
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result['provider'] == 'CPUExecutionProvider'
    assert 'person' in result['names']


@pytest.mark.parametrize('home', ['/proc/nonexistent/home', '/etc/hostname'])
def test_runs_with_a_home_that_cannot_be_written(tmp_path, home):
    # Root ignores permission bits, so use homes nobody can create anything under: a path
    # below /proc and a regular file.
    proc = run_detector_process(home, tmp_path)
    check_person_found(proc)
    assert not Path(home, '.cache').exists()


def test_runs_with_home_on_a_read_only_mount(tmp_path):
    if shutil.which('unshare') is None or os.geteuid() != 0:
        pytest.skip('needs root and unshare for a private read-only mount')
    home = tmp_path / 'home'
    home.mkdir()
    mount = ['unshare', '--mount', '--propagation', 'private', 'sh', '-c',
             f'mount -t tmpfs -o ro,size=1m tmpfs {home} && touch {home}/probe 2>/dev/null '
             '&& exit 99; exec "$@"', 'sh']
    probe = subprocess.run(mount + ['true'], capture_output=True, text=True)
    if probe.returncode not in (0, 99):
        pytest.skip(f'cannot make a private mount here: {probe.stderr.strip()}')
    assert probe.returncode == 0, 'the tmpfs was writable: the test would prove nothing'
    check_person_found(run_detector_process(str(home), tmp_path, tuple(mount)))


def test_only_onnxruntime_telemetry_is_written_under_a_writable_home(tmp_path):
    # What a writable HOME gets: onnxruntime's own telemetry files, nothing from stream_infer.
    home, cwd = tmp_path / 'home', tmp_path / 'cwd'
    home.mkdir()
    cwd.mkdir()
    check_person_found(run_detector_process(str(home), cwd))
    written = [p.relative_to(home) for p in home.rglob('*') if p.is_file()]
    assert all(ORT_TELEMETRY_DIR in p.parents for p in written), written
    assert list(cwd.iterdir()) == []


@pytest.fixture
def small_model(tmp_path):
    return constant_output_model(tmp_path / 'm.onnx', np.zeros((1, 3, 6), np.float32),
                                 input_shape=(1, 3, 64, 64))


def test_unavailable_providers_are_skipped_with_a_warning(small_model, caplog):
    caplog.set_level(logging.INFO, logger='stream_infer.detector')
    detector = Detector(small_model, providers=['CUDAExecutionProvider', 'tensorrt', 'cpu'])
    assert detector.provider == 'CPUExecutionProvider'
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any('CUDAExecutionProvider' in w and 'TensorrtExecutionProvider' in w
               and 'available' in w and 'CPUExecutionProvider' in w for w in warnings), warnings
    infos = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert any('runs on CPUExecutionProvider' in i for i in infos), infos
    assert all(r.name == 'stream_infer.detector' for r in caplog.records)


def test_no_available_provider_falls_back_to_cpu(small_model, caplog):
    caplog.set_level(logging.WARNING, logger='stream_infer.detector')
    detector = Detector(small_model, providers=['CoreMLExecutionProvider'])
    assert detector.provider == 'CPUExecutionProvider'
    assert any('none of the requested' in r.getMessage() for r in caplog.records)


def test_provider_sequences_of_every_shape(small_model):
    assert Detector(small_model, providers='cpu').provider == 'CPUExecutionProvider'
    both = ('CUDAExecutionProvider', 'CPUExecutionProvider')  # a tuple of names, not options
    assert Detector(small_model, providers=both).provider == 'CPUExecutionProvider'
    assert Detector(small_model, providers=('CPUExecutionProvider', {})).provider == \
        'CPUExecutionProvider'
    with pytest.raises(ModelError, match='expected a name or a'):
        Detector(small_model, providers=[('CPUExecutionProvider', 'fast')])


def test_provider_with_options_and_threads(small_model):
    detector = Detector(small_model, providers=[('CPUExecutionProvider', {})], threads=2)
    assert detector.provider == 'CPUExecutionProvider'
    assert detector.session.get_session_options().intra_op_num_threads == 2


def test_onnxruntime_threads_spin_briefly_unless_asked(small_model):
    """By default threads spin at most 20 us between operators and stop when a run ends."""
    brief = Detector(small_model).session.get_session_options()
    assert brief.get_session_config_entry('session.intra_op.allow_spinning') == '1'
    assert brief.get_session_config_entry('session.intra_op.spin_duration_us') == '20'
    assert brief.get_session_config_entry('session.force_spinning_stop') == '1'
    spinning = Detector(small_model, spin_wait=True).session.get_session_options()
    assert spinning.get_session_config_entry('session.intra_op.allow_spinning') == '1'
    for bounded in ('session.intra_op.spin_duration_us', 'session.force_spinning_stop'):
        with pytest.raises(RuntimeError, match='does not have configuration'):
            spinning.get_session_config_entry(bounded)  # onnxruntime's own default: unbounded


def test_warm_up_runs_at_load_only_when_asked(small_model, caplog):
    caplog.set_level(logging.DEBUG, logger='stream_infer.detector')
    Detector(small_model, warmup=True)
    assert any('warm-up run took' in r.getMessage() for r in caplog.records)
    caplog.clear()
    Detector(small_model, warmup=False)
    assert not any('warm-up' in r.getMessage() for r in caplog.records)
