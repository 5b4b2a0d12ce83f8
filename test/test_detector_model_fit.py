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
A layout or labels file that does not fit the model fails loading with one clear line.

Forcing layout='yolov8' on an end-to-end model used to load and publish garbage (scores of 74,
two classes); a labels file such as /etc/passwd used to become the class names.
"""

import numpy as np
from onnx_graphs import constant_output_model, yolov8_output
import pytest

from stream_infer.detection import Detector
from stream_infer.errors import ModelError

# CenterNet-like end-to-end output: 100 rows x1, y1, x2, y2, score, class (-1: padding).
END2END_ROWS = np.zeros((100, 6), np.float32)
END2END_ROWS[:, 5] = -1
END2END_ROWS[:2] = [[10, 20, 110, 220, 0.9, 74], [300, 300, 360, 400, 0.6, 2]]


@pytest.mark.parametrize('layout', ['yolov8', 'yolov5'])
def test_a_forced_layout_the_metadata_contradicts_fails(layout):
    with pytest.raises(ModelError) as info:
        Detector(layout=layout)  # the bundled model: end-to-end [1, 100, 6], 80 names
    message = str(info.value)
    assert f"layout '{layout}' does not fit model centernet_mbv3_coco80.onnx" in message
    assert 'metadata names 80 classes' in message and "'auto' reads it as end2end" in message
    assert '\n' not in message


def test_a_forced_layout_whose_scores_leave_zero_to_one_fails(tmp_path):
    model = constant_output_model(tmp_path / 'e2e.onnx', END2END_ROWS[None])  # no metadata
    assert Detector(model).layout.name == 'end2end'  # auto: fine
    with pytest.raises(ModelError, match="layout 'yolov8' does not fit model e2e.onnx: its "
                       'score values range from .* to 74, not within 0..1'):
        Detector(model, layout='yolov8')
    forced = Detector(model, layout='end2end')  # forcing the layout that fits is fine
    assert forced(np.zeros((640, 640, 3), np.uint8)).detections.class_id.tolist() == [74, 2]


def _yolov8_model(tmp_path, num_classes=3):
    out = yolov8_output(np.array([[100, 100, 50, 50]]), [1], [0.9], num_classes=num_classes)
    return constant_output_model(tmp_path / 'y8.onnx', out)


@pytest.mark.parametrize('names', [['a', 'b'], ['a', 'b', 'c', 'd']], ids=['fewer', 'more'])
def test_labels_with_another_number_of_names_than_classes_fail(tmp_path, names):
    labels = tmp_path / 'labels.txt'
    labels.write_text('\n'.join(names) + '\n')
    with pytest.raises(ModelError, match=f'labels: {len(names)} class names for model y8.onnx, '
                       r'which has 3 classes \(its yolov8 output \[1, 7, 8400\]\)'):
        Detector(_yolov8_model(tmp_path), labels=labels)
    ok = tmp_path / 'ok.txt'
    ok.write_text('ant\nbee\ncow\n')
    assert Detector(_yolov8_model(tmp_path), labels=ok).class_names == ['ant', 'bee', 'cow']


def test_a_labels_file_that_is_not_the_models_fails(tmp_path):
    passwd = tmp_path / 'passwd'
    passwd.write_text(''.join(f'user{i}:x:{i}:{i}::/home/user{i}:/bin/sh\n' for i in range(24)))
    with pytest.raises(ModelError, match='labels: 24 class names for model '
                       r'centernet_mbv3_coco80.onnx, which has 80 classes \(its metadata\)'):
        Detector(labels=passwd)


def test_models_without_class_counts_accept_any_labels(tmp_path):
    model = constant_output_model(tmp_path / 'e2e.onnx', END2END_ROWS[None])
    labels = tmp_path / 'labels.txt'
    labels.write_text('person\ncar\n')  # end-to-end, no metadata: nothing to compare with
    assert Detector(model, labels=labels).class_names == ['person', 'car']
