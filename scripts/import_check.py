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
Import each compiled dependency once and say, one line each, which ones are broken here.

Usage: python scripts/import_check.py [--ros] [--quiet]
A release built for another numpy (ml_dtypes 0.7 under numpy 1.26) otherwise shows up as a
collection error deep in a test run; here it is one line naming the package, its version and
the error. Exit status 1 when the runtime's own dependencies are broken; the test-only ones
(onnx and what it imports) only warn, since the tests that need them skip.
"""

import importlib
from importlib import metadata
import sys

# module -> distribution (for the version), what needs it
RUNTIME = {'numpy': 'numpy', 'cv2': 'opencv-python-headless', 'scipy': 'scipy',
           'onnxruntime': 'onnxruntime', 'supervision': 'supervision', 'PIL': 'pillow',
           'yaml': 'pyyaml'}
TEST_ONLY = {'ml_dtypes': 'ml_dtypes', 'onnx': 'onnx'}
ROS = {'rclpy': 'ros-rclpy', 'sensor_msgs.msg': 'ros-sensor-msgs', 'vision_msgs.msg': None}


def version(dist: str) -> str:
    """Installed version of a distribution, or '?' when it has no metadata (source builds)."""
    try:
        return metadata.version(dist) if dist else 'built here'
    except metadata.PackageNotFoundError:
        return '?'


def check(modules: dict) -> list:
    """Import each module in this process: (module, version, error or None) for each."""
    found = []
    for module, dist in modules.items():
        try:
            importlib.import_module(module)
            found.append((module, version(dist), None))
        except Exception as exc:  # noqa: B902 - any failure to import is what we report
            cause = f'{type(exc).__name__}: {exc}'.splitlines()
            context = exc.__cause__ or exc.__context__
            if context is not None:
                cause.append(f'{type(context).__name__}: {context}'.splitlines()[0])
            found.append((module, version(dist), ' / '.join(c for c in cause if c)[:300]))
    return found


def main(argv: list) -> int:
    """Print one line per broken import (and a summary); exit 1 if the runtime is broken."""
    quiet = '--quiet' in argv
    groups = [('runtime', RUNTIME, True), ('tests', TEST_ONLY, False)]
    if '--ros' in argv:
        groups.append(('ros', ROS, True))
    numpy_version = version('numpy')
    broken_runtime = False
    for group, modules, fatal in groups:
        results = check(modules)
        for module, ver, error in results:
            if error:
                broken_runtime |= fatal
                print(f'[import-check] BROKEN {module} {ver} under numpy {numpy_version} '
                      f'({group}{"" if fatal else ": tests that need it skip"}): {error}')
        if not quiet:
            good = ', '.join(f'{m} {v}' for m, v, e in results if e is None)
            print(f'[import-check] {group} ok: {good}')
    return 1 if broken_runtime else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
