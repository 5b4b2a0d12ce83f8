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
The onnx package, imported where a test builds a graph, not where a test module is loaded.

An apt ROS install has no onnx (rosdep has no key for it), and a release built for another
numpy (ml_dtypes 0.7 under numpy 1.26) breaks its import: the tests that build a graph then
skip with that reason, and every other test in the same module still runs.
"""

import importlib

import pytest

FLOAT = 1  # onnx.TensorProto.FLOAT, fixed by the ONNX specification (usable as a default)


def require(module: str = 'onnx'):
    """Import `module` (onnx or one of its submodules), or skip the caller saying why."""
    try:
        return importlib.import_module(module)
    except Exception as exc:  # noqa: B902 - a broken build raises more than ImportError
        first = f'{type(exc).__name__}: {exc}'.splitlines()[0]
        pytest.skip(f'builds an ONNX graph with the onnx package, which does not import here '
                    f'({first})', allow_module_level=True)


class _Lazy:
    """Stands for an onnx module; the first attribute read imports it (or skips)."""

    def __init__(self, module: str, attribute: str = '') -> None:
        self._module, self._attribute = module, attribute

    def __getattr__(self, name: str):
        target = require(self._module)
        if self._attribute:
            target = getattr(target, self._attribute)
        return getattr(target, name)


onnx = _Lazy('onnx')
helper = _Lazy('onnx.helper')
numpy_helper = _Lazy('onnx.numpy_helper')
TensorProto = _Lazy('onnx', 'TensorProto')
