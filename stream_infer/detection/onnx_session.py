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
ONNX Runtime sessions: execution-provider choice, threads, and loading errors that say why.

Providers are tried in the order given; the ones this onnxruntime build lacks are skipped with a
warning naming what is available, and the provider that really runs the model is logged (a GPU
provider that fails to initialise makes onnxruntime fall back to the CPU silently otherwise).

Read-only HOME: onnxruntime 1.32 (Linux) starts its 1DS telemetry when the module is imported.
It creates ~/.cache/Microsoft/DeveloperTools/.onnxruntime/ ($XDG_CACHE_HOME is honoured) holding
`deviceid` (a random UUID, written through a temporary file) and `onnxruntime.db` (an SQLite
event queue, with -journal/-wal/-shm side files), and flushes the queued events (process and
session information) into that database at exit. When that directory cannot be created it logs
"Failed to persist telemetry device ID; using an in-memory identifier" and carries on: session
creation and inference work unchanged, as test_detector_environment.py checks with HOME on an
unwritable path. Nothing here needs HOME, so no environment variable is set by this package;
ORT_DISABLE_TELEMETRY=1 in the environment of the process (set before onnxruntime is imported)
stops those writes altogether.
"""

import logging
import os
from pathlib import Path
from typing import Mapping, Optional, Sequence, Union

from stream_infer.errors import ModelError
from stream_infer.option_files import check_regular_file

logger = logging.getLogger('stream_infer.detector')

PROVIDER_ALIASES = {
    'cpu': 'CPUExecutionProvider',
    'cuda': 'CUDAExecutionProvider',
    'tensorrt': 'TensorrtExecutionProvider',
    'trt': 'TensorrtExecutionProvider',
    'openvino': 'OpenVINOExecutionProvider',
    'coreml': 'CoreMLExecutionProvider',
    'directml': 'DmlExecutionProvider',
    'dml': 'DmlExecutionProvider',
    'migraphx': 'MIGraphXExecutionProvider',
    'xnnpack': 'XnnpackExecutionProvider',
    'qnn': 'QNNExecutionProvider',
}
MAX_MODEL_BYTES = 2 << 30  # protobuf's limit for one ONNX file (larger use external data)
ONNX_FIRST_BYTE = 0x08  # ModelProto field 1 (ir_version, varint): how every ONNX file starts

ProviderEntry = Union[str, tuple]


def _ort():
    import onnxruntime  # imported on first use: importing it starts onnxruntime's telemetry
    return onnxruntime


def _is_entry_with_options(entry: object) -> bool:
    return (isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[0], str)
            and isinstance(entry[1], Mapping))


def provider_name(entry: ProviderEntry) -> str:
    """Full onnxruntime name of a provider entry ('cuda' -> 'CUDAExecutionProvider')."""
    name = entry[0] if isinstance(entry, tuple) else entry
    if not isinstance(name, str):
        raise ModelError(f'execution provider {entry!r}: expected a name such as '
                         f"'CUDAExecutionProvider' or 'cuda', or a (name, options) tuple")
    return PROVIDER_ALIASES.get(name.strip().lower(), name.strip())


def choose_providers(requested: Sequence[ProviderEntry], available: Sequence[str],
                     known: Sequence[str]) -> list:
    """
    Return the requested providers this build has, in order (names or (name, options)).

    Unknown names are an error; known but unavailable ones are skipped with a warning; when
    nothing is left the CPU provider is used.
    """
    if isinstance(requested, str) or _is_entry_with_options(requested):
        requested = [requested]  # one provider given on its own
    chosen, skipped = [], []
    for entry in requested:
        if isinstance(entry, tuple) and not _is_entry_with_options(entry):
            raise ModelError(f'execution provider {entry!r}: expected a name or a (name, '
                             'options dict) tuple')
        name = provider_name(entry)
        if name not in known:
            raise ModelError(f'unknown execution provider {entry!r}; onnxruntime knows '
                             f'{list(known)} (short names: {sorted(PROVIDER_ALIASES)})')
        if name not in available:
            skipped.append(name)
            continue
        options = entry[1] if isinstance(entry, tuple) else None
        chosen.append((name, dict(options)) if options else name)
    if skipped:
        logger.warning('execution provider(s) %s not available in this onnxruntime build; '
                       'skipped (available: %s)', skipped, list(available))
    if not chosen:
        logger.warning('none of the requested execution providers %s is available; using '
                       'CPUExecutionProvider', [provider_name(e) for e in requested])
        chosen = ['CPUExecutionProvider']
    return chosen


def check_model_file(path: Path) -> None:
    """Raise ModelError unless path is an existing, non-empty regular file (option_files)."""
    if not path.exists():
        raise ModelError(f'model file not found: {path} (expected an ONNX file, e.g. '
                         'models/centernet_mbv3_coco80.onnx)')
    check_regular_file(path, 'model', 'an ONNX file', ModelError, max_bytes=MAX_MODEL_BYTES)
    if path.stat().st_size == 0:
        raise ModelError(f'model file {path} is empty (expected an ONNX file)')


def _load_failure(path: Path, exc: Exception) -> ModelError:
    with open(path, 'rb') as f:
        first = f.read(1)
    size = path.stat().st_size
    if first and first[0] != ONNX_FIRST_BYTE:
        what = 'is not an ONNX model'
    else:
        what = 'looks like ONNX but is truncated or corrupt'
    return ModelError(f'model file {path} ({size} bytes) {what}: onnxruntime could not load it '
                      f'({type(exc).__name__}: {exc})')


# onnxruntime (>= 1.20) optimizers that change what a model computes, not only how fast.
# WeightBiasQuantization re-quantizes, per tensor, the float weights of a Conv/Gemm that sits
# between a DequantizeLinear and a QuantizeLinear of a QDQ model: the layers `stream-infer
# quantize` keeps in float on purpose. On a depthwise conv (per-channel weight magnitudes 1000x
# apart) that wipes out the small channels: the bundled CenterNet with its depthwise convs kept in
# float found no detections at all (doc/int8.md). A float model has no DequantizeLinear: no-op.
DISABLED_OPTIMIZERS = ('WeightBiasQuantization',)


BRIEF_SPIN_US = 20  # how long an idle intra-op thread spins between operators (spin_wait off)


def thread_config(spin_wait: bool) -> dict:
    """
    Session config entries for onnxruntime's intra-op threads: spinning in full, or briefly.

    spin_wait=True is onnxruntime's default: idle threads spin between operators and between
    runs, on cores that the stream's own threads (decoding, preprocessing, tracking) and other
    processes need (on a shared 2-core machine that doubled the model's CPU use:
    benchmarks/bench_cpu.py --spin-wait). Not spinning at all makes every operator wake its
    threads from sleep: on an idle 2-core machine that cost YOLOv8n-640 about 10 % of its
    rate (benchmarks/bench_small_frames.py). So by default a thread spins at most
    BRIEF_SPIN_US between operators (the next one is usually there by then) and stops
    spinning as soon as a run ends.

        >>> thread_config(False)['session.intra_op.spin_duration_us']
        '20'
    """
    if spin_wait:
        return {'session.intra_op.allow_spinning': '1'}
    return {'session.intra_op.allow_spinning': '1',
            'session.intra_op.spin_duration_us': str(BRIEF_SPIN_US),
            'session.force_spinning_stop': '1'}


def create_session(path: Union[str, os.PathLike], providers: Sequence[ProviderEntry],
                   threads: Optional[int] = None, spin_wait: bool = False):
    """
    Open an onnxruntime InferenceSession with clear errors; logs the provider that runs.

    spin_wait=False bounds onnxruntime's busy-waiting intra-op threads (see thread_config).
    """
    path = Path(path)
    check_model_file(path)
    if threads is not None and (not isinstance(threads, int) or threads < 1):
        raise ModelError(f'threads={threads!r}: expected a positive integer or None (all cores)')
    ort = _ort()
    chosen = choose_providers(providers, ort.get_available_providers(), ort.get_all_providers())
    options = ort.SessionOptions()
    if threads is not None:
        options.intra_op_num_threads = threads
    for key, value in thread_config(spin_wait).items():
        options.add_session_config_entry(key, value)
    try:
        session = ort.InferenceSession(str(path), sess_options=options, providers=chosen,
                                       disabled_optimizers=list(DISABLED_OPTIMIZERS))
    except Exception as exc:  # onnxruntime's errors derive from Exception only
        raise _load_failure(path, exc) from exc
    running = session.get_providers()[0]
    wanted = provider_name(chosen[0])
    if running != wanted:
        logger.warning('model %s: %s could not be initialised; running on %s instead',
                       path.name, wanted, running)
    logger.info('model %s runs on %s (session providers %s, intra-op threads %s)',
                path.name, running, session.get_providers(), threads or 'default')
    return session
