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

"""doc/parameters.md's table is the one generated from the parameter table (kept in step)."""

from pathlib import Path

import pytest

from stream_infer.ros.parameter_reference import BEGIN, END, main, table, updated
from stream_infer.ros.parameters import PARAMS

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / 'doc' / 'parameters.md'


def test_doc_parameter_table_is_the_generated_one():
    text = PAGE.read_text()
    assert updated(text) == text, (
        'doc/parameters.md is stale: run python -m stream_infer.ros.parameter_reference '
        'doc/parameters.md')


def test_table_has_one_row_per_parameter_with_its_default_and_kind():
    rows = [line for line in table().splitlines() if line.startswith('| `')]
    assert [row.split('`')[1] for row in rows] == [p.name for p in PARAMS]
    by_name = {row.split('`')[1]: row for row in rows}
    assert '| `0.3` | double in [0, 1] | live |' in by_name['confidence']
    assert '| `raw` | raw, compressed | source |' in by_name['image_transport']
    assert "| `['CPUExecutionProvider']` | string array | model |" in by_name['providers']


def test_check_mode_fails_on_a_stale_page_and_rewrite_fixes_it(tmp_path, capsys):
    page = tmp_path / 'parameters.md'
    page.write_text(f'# Parameters\n\nprose kept\n\n{BEGIN}\n| old | table |\n{END}\nafter\n')
    assert main(['--check', str(page)]) == 1
    assert 'stale' in capsys.readouterr().err
    assert main([str(page)]) == 0
    assert main(['--check', str(page)]) == 0
    text = page.read_text()
    assert 'prose kept' in text and text.endswith(f'{END}\nafter\n') and '| old |' not in text


def test_page_without_markers_is_refused(tmp_path):
    page = tmp_path / 'parameters.md'
    page.write_text('# Parameters\n')
    with pytest.raises(ValueError, match='markers'):
        main([str(page)])
