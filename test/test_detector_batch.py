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
Detector.run_batch on real onnxruntime sessions: several frames in one session.run.

The frame-code model reads each frame's code from its pixels and reports its own batch row in a
score, so every result shows which frame it was computed from and in which row it sat.
"""

import logging

from helpers.frame_codes import stamp_index
from lazy_onnx import helper, numpy_helper, TensorProto
import numpy as np
from onnx_graphs import constant_output_model, frame_code_model, save_model
import pytest

from stream_infer.detection import Detector
from stream_infer.errors import ModelError
from stream_infer.options import PostprocessOptions


def row_of(result) -> int:
    """Return the batch row the frame-code model saw this frame in (the far box's score)."""
    far = result.detections.confidence[result.detections.xyxy[:, 0] > 32]
    return int(round((float(far[0]) - 0.5) * 100))


def codes_of(result) -> list:
    return sorted(set(result.detections.class_id.tolist()))


@pytest.fixture(scope='module')
def models(tmp_path_factory):
    folder = tmp_path_factory.mktemp('batch_models')
    return {'dynamic': frame_code_model(folder / 'dynamic.onnx', batch='batch'),
            'fixed4': frame_code_model(folder / 'fixed4.onnx', batch=4),
            'fixed1': frame_code_model(folder / 'fixed1.onnx', batch=1)}


def prepared_frames(detector, codes):
    return [detector.prepare(stamp_index(code)) for code in codes]


@pytest.mark.parametrize('count', [1, 2, 3, 7])
def test_dynamic_batch_one_run_rows_split_back_to_their_frames(models, count):
    detector = Detector(models['dynamic'])
    assert detector.max_batch is None
    codes = [101 * k + 3 for k in range(count)]
    results = detector.run_batch(prepared_frames(detector, codes))
    assert [codes_of(r) for r in results] == [[c] for c in codes]
    assert [row_of(r) for r in results] == list(range(count)), 'one run, rows in order'
    assert len({r.timings_ms['infer'] for r in results}) == 1, 'one model run for all'
    for result in results:
        assert len(result.detections) == 2
        assert result.detections.xyxy[0].tolist() == [1.0, 1.0, 32.0, 32.0]


def test_fixed_batch_is_padded_and_chunked(models):
    detector = Detector(models['fixed4'])
    assert detector.max_batch == 4
    assert codes_of(detector(stamp_index(77))) == [77], 'one frame: padded to 4'
    for count in (1, 3, 4, 6, 9):
        codes = [500 + k for k in range(count)]
        results = detector.run_batch(prepared_frames(detector, codes))
        assert [codes_of(r) for r in results] == [[c] for c in codes]
        assert [row_of(r) for r in results] == [k % 4 for k in range(count)]


def test_batch_of_one_model_runs_frame_by_frame(models):
    detector = Detector(models['fixed1'])
    assert detector.max_batch == 1
    results = detector.run_batch(prepared_frames(detector, [5, 6, 7]))
    assert [codes_of(r) for r in results] == [[5], [6], [7]]
    assert [row_of(r) for r in results] == [0, 0, 0]


def test_each_frame_of_a_batch_is_filtered_with_its_own_options(models):
    detector = Detector(models['dynamic'])
    options = [PostprocessOptions(), PostprocessOptions(confidence=0.7),
               PostprocessOptions(classes=[999]), PostprocessOptions(max_detections=1)]
    results = detector.run_batch(prepared_frames(detector, [10, 11, 12, 13]), options)
    assert [len(r.detections) for r in results] == [2, 1, 0, 1]
    assert codes_of(results[1]) == [11] and codes_of(results[3]) == [13]
    with pytest.raises(ValueError, match='2 frames but 1 options'):
        detector.run_batch(prepared_frames(detector, [1, 2]), [PostprocessOptions()])
    with pytest.raises(TypeError, match='PostprocessOptions'):
        detector.run_batch(prepared_frames(detector, [1, 2]), [PostprocessOptions(), {}])


def test_dynamic_input_with_a_batch_one_output_is_not_batched(tmp_path):
    rows = np.array([[[0, 0, 10, 10, 0.9, 1]]], np.float32)
    fixed_output = constant_output_model(tmp_path / 'a.onnx', rows,
                                         input_shape=('batch', 3, 32, 32))
    assert Detector(fixed_output).max_batch == 1


def one_row_whatever_the_batch_model(path, rows):
    """Dynamic batch in; always one output row, of a shape onnxruntime cannot infer."""
    consts = {'rows': rows, 'zero': np.array(0.0, np.float32),
              'one': np.array(1.0, np.float32), 'start': np.array([0], np.int64),
              'vector': np.array([1], np.int64)}
    nodes = [  # rows[0:k] with k = 1 computed from the pixels: no shape inference can know it
        helper.make_node('ReduceSum', ['images'], ['total'], keepdims=0),
        helper.make_node('Mul', ['total', 'zero'], ['nothing']),
        helper.make_node('Add', ['nothing', 'one'], ['k_float']),
        helper.make_node('Cast', ['k_float'], ['k_scalar'], to=TensorProto.INT64),
        helper.make_node('Reshape', ['k_scalar', 'vector'], ['end']),
        helper.make_node('Slice', ['rows', 'start', 'end'], ['detections']),
    ]
    return save_model(
        path, nodes, [helper.make_tensor_value_info('images', TensorProto.FLOAT,
                                                    ['batch', 3, 32, 32])],
        [helper.make_tensor_value_info('detections', TensorProto.FLOAT, ['n', 2, 6])],
        None, [numpy_helper.from_array(v, k) for k, v in consts.items()])


def test_a_dynamic_output_that_does_not_follow_the_batch_turns_batching_off(tmp_path, caplog):
    rows = np.array([[[0, 0, 10, 10, 0.9, 1], [0, 0, 5, 5, 0.8, 2]]], np.float32)
    model = one_row_whatever_the_batch_model(tmp_path / 'b.onnx', rows)
    detector = Detector(model)
    assert detector.max_batch is None
    caplog.set_level(logging.WARNING)
    frames = [detector.prepare(np.zeros((32, 32, 3), np.uint8)) for _ in range(3)]
    results = detector.run_batch(frames)
    assert [len(r.detections) for r in results] == [2, 2, 2]
    assert detector.max_batch == 1 and 'one at a time' in caplog.text


def test_fixed_batch_whose_output_has_no_batch_axis_is_refused(tmp_path):
    model = constant_output_model(tmp_path / 'c.onnx', np.zeros((1, 3, 6), np.float32),
                                  input_shape=(3, 3, 32, 32))
    with pytest.raises(ModelError, match=r'batch size 3 is not supported with output'):
        Detector(model)
