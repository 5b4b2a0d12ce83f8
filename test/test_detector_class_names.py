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

"""Class names from metadata and labels files, name lookup and class resolution."""

import logging

import numpy as np
import pytest

from stream_infer.detection import Detector
from stream_infer.detection.class_names import ClassNames, load_labels, names_from_metadata
from stream_infer.errors import ModelError


def test_metadata_dict_literal_list_and_gaps():
    assert names_from_metadata({'names': "{0: 'person', 1: 'bicycle'}"}) == ['person', 'bicycle']
    assert names_from_metadata({'names': "['a', 'b']"}) == ['a', 'b']
    assert names_from_metadata({'names': "{0: 'a', 2: 'c'}"}) == ['a', '1', 'c']
    assert names_from_metadata({}) is None


def test_metadata_is_never_executed(tmp_path, caplog):
    marker = tmp_path / 'pwned'
    code = f"__import__('pathlib').Path({str(marker)!r}).touch()"
    caplog.set_level(logging.WARNING, logger='stream_infer.detector')
    assert names_from_metadata({'names': code}) is None
    assert not marker.exists()
    assert any('unreadable class names' in r.getMessage() for r in caplog.records)
    assert names_from_metadata({'names': "{'x': 'a'}"}) is None  # non-integer keys


def test_bundled_model_names():
    names = Detector(warmup=False).class_names
    assert len(names) == 80 and names[0] == 'person' and names[41] == 'cup'


@pytest.mark.parametrize('filename,text', [
    ('labels.txt', 'cat\ndog\n\n'),
    ('labels.names', 'cat\r\ndog'),
    ('labels.yaml', '- cat\n- dog\n'),
    ('labels.yml', '0: cat\n1: dog\n'),
    ('data.yaml', 'path: ../datasets\nnames:\n  0: cat\n  1: dog\n'),
    ('data2.yaml', 'nc: 2\nnames: [cat, dog]\n'),
])
def test_labels_files(tmp_path, filename, text):
    path = tmp_path / filename
    path.write_text(text)
    assert load_labels(path) == ['cat', 'dog']
    assert load_labels(str(path)) == ['cat', 'dog']


def test_labels_sequence_and_errors(tmp_path):
    assert load_labels(('a', 'b')) == ['a', 'b']
    with pytest.raises(ModelError, match=r"labels='.*missing.txt': no such file"):
        load_labels(tmp_path / 'missing.txt')
    empty = tmp_path / 'empty.txt'
    empty.write_text('\n\n')
    with pytest.raises(ModelError, match='is empty'):
        load_labels(empty)
    scalar = tmp_path / 'scalar.yaml'
    scalar.write_text('42\n')
    with pytest.raises(ModelError, match='expected a list or an {id: name} mapping'):
        load_labels(scalar)
    broken = tmp_path / 'broken.yaml'
    broken.write_text('names: [a, b\n')
    with pytest.raises(ModelError, match='not valid YAML'):
        load_labels(broken)
    with pytest.raises(ModelError, match='expected a .txt file'):
        load_labels([1, 2])


def test_lookup_is_vectorised_and_names_unknown_ids_by_index():
    names = ClassNames(['person', 'cup'])
    out = names.lookup(np.array([1, 0, 5, -1]))
    assert out.tolist() == ['cup', 'person', '5', '-1']
    assert out.dtype.kind == 'U'
    assert ClassNames([]).lookup(np.array([3])).tolist() == ['3']
    assert ClassNames(['a']).lookup(np.zeros(0, np.int64)).shape == (0,)


def test_resolve_classes():
    names = ClassNames(['person', 'traffic light', 'Cup', '7'])
    assert names.resolve(None) is None
    assert names.resolve(['person', 2, 'traffic light']) == (0, 2, 1)
    assert names.resolve(['cup', 'CUP', 'Cup']) == (2,)
    assert names.resolve('person') == (0,)
    assert names.resolve(['7']) == (3,)  # a class literally named '7'
    assert names.resolve(['1']) == (1,)  # otherwise a numeric string is an index
    with pytest.raises(ValueError, match=r"unknown class name 'persn'.*did you mean \['person'\]"):
        names.resolve(['persn'])
    with pytest.raises(ValueError, match='out of range.*4 classes'):
        names.resolve([4])
    with pytest.raises(ValueError, match='expected a class index'):
        names.resolve([1.5])
    with pytest.raises(ValueError, match='no class names, use indices'):
        ClassNames([]).resolve(['cup'])
    assert ClassNames([]).resolve([17]) == (17,)  # callables without labels: any index
