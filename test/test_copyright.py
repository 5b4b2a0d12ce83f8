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
Copyright/licence header check.

ament_copyright has no PyPI wheel, so when it is not importable this applies the same rule it
applies to our files: each source file opens with a 'Copyright <year> <holder>' line followed by
the Apache-2.0 licence notice.
"""

from pathlib import Path
import re

import pytest

HEADER = re.compile(
    r'\A(#!.*\n)?# Copyright (\(c\) )?\d{4}(-\d{4})? \S.*\n#\n'
    r'# Licensed under the Apache License, Version 2\.0')


def files_without_header(paths) -> list:
    """Return the .py files under paths that lack the copyright + Apache-2.0 header."""
    missing = []
    for root in map(Path, paths):
        files = [root] if root.is_file() else sorted(root.rglob('*.py'))
        missing += [str(f) for f in files if not HEADER.match(f.read_text(encoding='utf-8'))]
    return missing


@pytest.mark.copyright
@pytest.mark.linter
def test_copyright(lint_paths):
    try:
        from ament_copyright.main import main
    except ImportError:
        assert files_without_header(lint_paths) == []
    else:
        assert main(argv=lint_paths + ['test']) == 0, 'Found errors'


@pytest.mark.copyright
def test_checker_flags_a_file_without_header(tmp_path):
    good = tmp_path / 'good.py'
    good.write_text(Path(__file__).read_text(encoding='utf-8'), encoding='utf-8')
    bad = tmp_path / 'bad.py'
    bad.write_text('"""No header."""\n', encoding='utf-8')
    assert files_without_header([tmp_path]) == [str(bad)]
