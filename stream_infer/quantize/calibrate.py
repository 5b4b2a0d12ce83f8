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
Static QDQ INT8 quantization with onnxruntime.quantization, on engine-prepared frames.

The calibration tensors are the engine's own (Detector.prepare of the fp32 model: same resize,
letterbox, channel order, scale and layout), so the ranges are those the model really sees.
Weights are quantized per output channel (int8), activations per tensor (uint8). The tensor
ranges are computed once and cached in a file, so trying other sets of float nodes costs a
quantization, not a calibration. `onnx` is imported here only: it is not needed to run models.
"""

import contextlib
import importlib
import io
import logging
from pathlib import Path
import tempfile
from typing import Dict, Iterator, Optional, Sequence, Tuple

import numpy as np

from stream_infer.errors import ModelError
from stream_infer.quantize import metadata as meta
from stream_infer.quantize.equalize import equalize
from stream_infer.quantize.float_nodes import name_nodes

METHODS = ('MinMax', 'Entropy', 'Percentile')
CHUNK = 8  # frames whose tensors are held at once while calibrating


def chunk_size(frames: int, most: int = CHUNK) -> int:
    """
    Largest divisor of frames up to most: the calibration reads frames in chunks of this size.

    onnxruntime's histogram calibrators (Percentile, Entropy) keep every tensor of every frame
    in memory until the end (about 200 MB a frame for the bundled model at 512x512); in chunks
    (its CalibStridedMinMax option, which must divide the frame count) the histograms are
    merged chunk by chunk, so more calibration frames cost time, not memory.

        >>> chunk_size(96), chunk_size(45), chunk_size(7), chunk_size(4)
        (8, 5, 7, 4)
    """
    if frames <= most:
        return frames
    return max(d for d in range(1, most + 1) if frames % d == 0)


def _needed(module: str, what: str):
    """Import module, or raise ModelError saying which package is missing."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ModelError(f'stream-infer quantize needs {what}, which could not be imported: '
                         f'{exc}') from None


def require_onnx():
    """Import onnx, or raise ModelError saying which package is missing."""
    return _needed('onnx', 'the Python package onnx (pip install onnx)')


def _quantization():
    return _needed('onnxruntime.quantization', 'onnxruntime.quantization')


def named_copy(model_path: Path, directory: Path, equalized: bool = False) -> Tuple[Path, int]:
    """
    Copy of the model whose every node has a name (excluding nodes goes by name); (path, pairs).

    equalized: Conv -> Relu -> Conv pairs rescaled first (equalize.py: the float model computes
    the same); pairs is how many were.
    """
    onnx = require_onnx()
    model = onnx.load(str(model_path))
    name_nodes(model)
    pairs = equalize(model, _needed('onnx.numpy_helper', 'onnx')) if equalized else 0
    out = directory / 'named.onnx'
    onnx.save(model, str(out))
    return out, pairs


class _NoPreprocessAdvice(logging.Filter):
    """
    Drop onnxruntime's advice to pre-process, logged on every quantization.

    Its pre-processing (quant_pre_process) was tried on the bundled model: same F1, no speed
    gain (doc/int8.md), and it needs sympy.
    """

    def filter(self, record: logging.LogRecord) -> bool:  # noqa: A003 - logging.Filter API
        return 'pre-processing before quantization' not in record.getMessage()


class _Reader:
    """onnxruntime's CalibrationDataReader over prepared input tensors."""

    def __init__(self, input_name: str, tensors: Sequence[np.ndarray]) -> None:
        self.input_name = input_name
        self.tensors = list(tensors)
        self._iter: Optional[Iterator] = None
        self.rewind()

    def get_next(self) -> Optional[Dict[str, np.ndarray]]:
        return next(self._iter, None)

    def rewind(self) -> None:
        self._iter = iter({self.input_name: t} for t in self.tensors)

    def set_range(self, start_index: int, end_index: int) -> None:
        """Read only tensors[start_index:end_index] (onnxruntime's chunked calibration)."""
        self._iter = iter({self.input_name: t} for t in self.tensors[start_index:end_index])

    def __len__(self) -> int:
        return len(self.tensors)


class Quantizer:
    """
    Quantizes one (named) model again and again with other float nodes, calibrating once.

    method: 'MinMax', 'Entropy' or 'Percentile'; percentile: kept range of Percentile (99.99).
    """

    def __init__(self, named_model: Path, input_name: str, tensors: Sequence[np.ndarray],
                 method: str, work_dir: Path, percentile: float = 99.99) -> None:
        if method not in METHODS:
            raise ModelError(f'calibration method {method!r}: expected one of {METHODS}')
        self.model = named_model
        self.input_name = input_name
        self.tensors = list(tensors)
        self.method = method
        self.percentile = percentile
        self.cache = work_dir / f'ranges_{method}.json'

    def quantize(self, out_path: Path, float_nodes: Sequence[str]) -> Path:
        """Write the INT8 model with float_nodes left in float; returns out_path."""
        q = _quantization()
        extra = {'CalibPercentile': self.percentile} if self.method == 'Percentile' else {}
        if self.method != 'MinMax':
            extra['CalibStridedMinMax'] = chunk_size(len(self.tensors))
        advice = _NoPreprocessAdvice()
        logging.getLogger().addFilter(advice)
        try:  # the histogram methods print their progress: not the report's business
            with contextlib.redirect_stdout(io.StringIO()):
                self._quantize_static(q, out_path, float_nodes, extra)
        except (ValueError, RuntimeError) as exc:  # numpy's histogram, onnxruntime's sessions
            other = 'MinMax' if self.method != 'MinMax' else 'Percentile'
            raise ModelError(f'{self.method} calibration failed ('
                             f'{type(exc).__name__}: {exc}); try --method {other}') from exc
        finally:
            logging.getLogger().removeFilter(advice)
        return out_path

    def _quantize_static(self, q, out_path: Path, float_nodes: Sequence[str],
                         extra: dict) -> None:
        q.quantize_static(
            str(self.model), str(out_path), _Reader(self.input_name, self.tensors),
            quant_format=q.QuantFormat.QDQ, per_channel=True,
            activation_type=q.QuantType.QUInt8, weight_type=q.QuantType.QInt8,
            nodes_to_exclude=list(float_nodes),
            calibrate_method=getattr(q.CalibrationMethod, self.method),
            calibration_cache_path=str(self.cache), extra_options=extra)


def write_metadata(path: Path, values: Dict[str, str]) -> None:
    """Add (or replace) metadata_props of the ONNX file at path, in place."""
    onnx = require_onnx()
    model = onnx.load(str(path))
    kept = [p for p in model.metadata_props if p.key not in values]
    del model.metadata_props[:]
    model.metadata_props.extend(kept)
    for key, value in values.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, str(value)
    onnx.save(model, str(path))


def quantization_metadata(method: str, frames: int, source: str,
                          float_nodes: Sequence[str], agreement: str,
                          equalized_pairs: int = 0) -> Dict[str, str]:
    """Return the metadata_props saying what was done (read back by metadata.quantization_text)."""
    return {meta.PRECISION_KEY: 'int8 QDQ', meta.METHOD_KEY: method,
            meta.FRAMES_KEY: str(frames), meta.SOURCE_KEY: source,
            meta.PER_CHANNEL_KEY: 'true', meta.FLOAT_NODES_KEY: ','.join(float_nodes),
            meta.HELD_OUT_KEY: agreement, meta.EQUALIZED_KEY: str(equalized_pairs)}


def temporary_directory() -> tempfile.TemporaryDirectory:
    """Work directory of one quantize run (named copy, range cache, trial models)."""
    return tempfile.TemporaryDirectory(prefix='stream_infer_quantize_')
