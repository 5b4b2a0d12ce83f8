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

"""The usage examples in the core's docstrings run and print what they say (doctest)."""

import doctest
import importlib
import pkgutil

import pytest

import stream_infer

CORE_MODULES = sorted(
    info.name for info in pkgutil.walk_packages(stream_infer.__path__, prefix='stream_infer.')
    if not info.name.startswith('stream_infer.ros'))


def test_the_core_is_covered():
    assert {'stream_infer.options', 'stream_infer.stream', 'stream_infer.detection.detector',
            'stream_infer.sources.spec'} <= set(CORE_MODULES)


@pytest.mark.parametrize('name', CORE_MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, verbose=False)
    assert result.failed == 0, f'{result.failed} of {result.attempted} examples failed in {name}'
