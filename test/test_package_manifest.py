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

"""package.xml parses without a warning and declares what the code imports."""

import ast
from pathlib import Path
import subprocess
import sys

import pytest

catkin_pkg_package = pytest.importorskip(
    'catkin_pkg.package', reason='catkin_pkg (python3-catkin-pkg) parses package.xml')

ROOT = Path(__file__).resolve().parent.parent
# import name -> rosdep key (ROS packages are their own keys)
KEYS = {'cv2': 'python3-opencv', 'numpy': 'python3-numpy', 'scipy': 'python3-scipy',
        'yaml': 'python3-yaml', 'PIL': 'python3-pil', 'onnxruntime': 'python3-onnxruntime-pip',
        'supervision': 'python3-supervision-pip'}
# Imported only by an optional command, which names the package when it is missing: onnx
# (`stream-infer quantize`; rosdep has no key for it, so it cannot be declared).
OPTIONAL = {'onnx'}


def imported_top_levels(paths):
    """Return the top-level module names the files under paths import."""
    names = set()
    for path in paths:
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.update(alias.name.split('.')[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split('.')[0])
    return names - set(sys.stdlib_module_names) - {'stream_infer'}


@pytest.fixture(scope='module')
def package():
    warnings = []
    parsed = catkin_pkg_package.parse_package(str(ROOT), warnings=warnings)
    return parsed, warnings


def test_package_xml_parses_without_a_warning(package):
    parsed, warnings = package
    assert warnings == []
    assert parsed.name == 'stream_infer'


def test_every_import_of_the_installed_code_is_an_exec_depend(package):
    parsed, _ = package
    code = [*(ROOT / 'stream_infer').rglob('*.py'), *(ROOT / 'launch').glob('*.py')]
    needed = {KEYS.get(name, name) for name in imported_top_levels(code) - OPTIONAL}
    declared = {d.name for d in parsed.exec_depends}
    assert needed - declared == set(), 'imported but not in package.xml'
    assert 'python3-scipy' in needed and 'rcl_interfaces' in needed  # the scan sees them


def test_licence_files_exist_and_the_version_has_one_place(package):
    parsed, _ = package
    assert [str(lic) for lic in parsed.licenses] == [
        'Apache-2.0', 'MIT', 'Apache-2.0 AND BSD-3-Clause']
    for lic in parsed.licenses:
        assert (ROOT / lic.file).is_file(), lic.file
    assert 'Apache License' in (ROOT / 'LICENSE').read_text()[:200]
    version = subprocess.run([sys.executable, 'setup.py', '--version'], cwd=ROOT,
                             capture_output=True, text=True, timeout=60)
    assert version.stdout.strip().splitlines()[-1] == parsed.version, version.stderr
    changelog = (ROOT / 'CHANGELOG.rst').read_text()
    assert f'\n{parsed.version} (' in changelog  # catkin_generate_changelog's heading
