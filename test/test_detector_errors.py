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

"""Every bad model, option or frame gives a ModelError (or ValueError) that says what and why."""

from lazy_onnx import helper, numpy_helper, TensorProto
import numpy as np
from onnx_graphs import broadcast_anchor_model, constant_output_model, save_model
import pytest

from stream_infer.bundled import bundled_model_path
from stream_infer.detection import Detector
from stream_infer.errors import ModelError


def test_missing_model_file(tmp_path):
    missing = tmp_path / 'nope' / 'model.onnx'
    with pytest.raises(ModelError, match='model file not found: .*nope/model.onnx'):
        Detector(missing)


def test_directory_and_empty_file(tmp_path):
    with pytest.raises(ModelError, match='not a regular file'):
        Detector(tmp_path)
    empty = tmp_path / 'empty.onnx'
    empty.write_bytes(b'')
    with pytest.raises(ModelError, match='is empty'):
        Detector(empty)


def test_text_file_is_not_onnx(tmp_path):
    text = tmp_path / 'model.onnx'
    text.write_text('this is a README, not a network\n' * 10)
    with pytest.raises(ModelError, match=r'model\.onnx \(320 bytes\) is not an ONNX model'):
        Detector(text)


@pytest.mark.parametrize('fraction', [0.05, 0.5, 0.999])
def test_truncated_copy_of_the_real_model(tmp_path, fraction):
    data = bundled_model_path().read_bytes()
    truncated = tmp_path / 'truncated.onnx'
    truncated.write_bytes(data[:int(len(data) * fraction)])
    with pytest.raises(ModelError, match='looks like ONNX but is truncated or corrupt'):
        Detector(truncated)


def test_corrupt_bytes_in_the_middle(tmp_path):
    data = bytearray(bundled_model_path().read_bytes())
    data[1000:1400] = b'\xff' * 400
    corrupt = tmp_path / 'corrupt.onnx'
    corrupt.write_bytes(bytes(data))
    with pytest.raises(ModelError, match='corrupt'):
        Detector(corrupt)


def test_undecodable_output_lists_shapes_and_layouts(tmp_path):
    model = constant_output_model(tmp_path / 'odd.onnx', np.zeros((1, 7), np.float32),
                                  input_shape=(1, 3, 64, 64))
    with pytest.raises(ModelError) as error:
        Detector(model)
    message = str(error.value)
    assert 'images [1, 3, 64, 64] tensor(float)' in message
    assert 'output0 [1, 7] tensor(float)' in message
    for layout in ("'yolov8' [1, 4+nc, N]", "'yolov5' [1, N, 5+nc]", "'end2end' [1, N, 6]"):
        assert layout in message
    assert 'layout=' in message


def test_layout_option_that_does_not_fit(tmp_path):
    model = constant_output_model(tmp_path / 'v8.onnx', np.zeros((1, 84, 8400), np.float32))
    with pytest.raises(ModelError, match=r"layout 'end2end': needs \[1, N, 6\], got "
                                         r'\[1, 84, 8400\]'):
        Detector(model, layout='end2end')


def test_two_inputs(tmp_path):
    nodes = [helper.make_node('Add', ['images', 'sizes'], ['out'])]
    inputs = [helper.make_tensor_value_info('images', TensorProto.FLOAT, [1, 3, 8, 8]),
              helper.make_tensor_value_info('sizes', TensorProto.FLOAT, [1, 3, 8, 8])]
    model = save_model(tmp_path / 'two.onnx', nodes, inputs,
                       [helper.make_tensor_value_info('out', TensorProto.FLOAT, [1, 3, 8, 8])])
    with pytest.raises(ModelError, match=r'has 2 inputs \(images \[1, 3, 8, 8\].*sizes'):
        Detector(model)


@pytest.mark.parametrize('input_shape,match', [
    ((1, 64, 64), 'expected a 4-D image tensor'),
    ((1, 4, 64, 64), "cannot tell the colour-channel axis.*input_layout='NCHW'"),
    ((2, 3, 64, 64), 'batch size 2 is not supported'),
])
def test_unusable_input_shapes(tmp_path, input_shape, match):
    model = constant_output_model(tmp_path / 'm.onnx', np.zeros((1, 3, 6), np.float32),
                                  input_shape=input_shape)
    with pytest.raises(ModelError, match=match):
        Detector(model)


def test_unsupported_input_type(tmp_path):
    model = constant_output_model(tmp_path / 'm.onnx', np.zeros((1, 3, 6), np.float32),
                                  input_shape=(1, 3, 64, 64), input_type=TensorProto.INT32)
    with pytest.raises(ModelError, match=r'element type tensor\(int32\) is not supported'):
        Detector(model)


def test_input_size_against_a_fixed_input(tmp_path):
    model = constant_output_model(tmp_path / 'm.onnx', np.zeros((1, 3, 6), np.float32),
                                  input_shape=(1, 3, 64, 64))
    with pytest.raises(ModelError, match=r'input_size=\(32, 48\).*fixed size \(64, 64\)'):
        Detector(model, input_size=(32, 48))
    assert Detector(model, input_size=64).input_spec.height == 64


@pytest.mark.parametrize('option,match', [
    ({'layout': 'yolox'}, 'layout'), ({'resize': 'crop'}, 'resize'),
    ({'scale': 'huge'}, 'scale'), ({'scale': -1.0}, 'scale'),
    ({'channel_order': 'RGBA'}, 'channel_order'), ({'input_layout': 'CHW'}, 'input_layout'),
    ({'input_size': (0, 10)}, 'input_size'), ({'threads': 0}, 'threads'),
    ({'providers': ['FooExecutionProvider']}, 'unknown execution provider'),
    ({'labels': 42}, 'labels'),
])
def test_bad_options(tmp_path, option, match):
    model = constant_output_model(tmp_path / 'm.onnx', np.zeros((1, 3, 6), np.float32),
                                  input_shape=(1, 3, 64, 64))
    with pytest.raises(ModelError, match=match):
        Detector(model, **option)


def test_not_a_model_at_all():
    with pytest.raises(ModelError, match='expected a path to an ONNX file, a callable'):
        Detector(42)


def test_model_that_fails_on_its_input_size(tmp_path):
    # Dynamic input, but the graph reshapes to a fixed 64x64: fails on 640x640 at warm-up.
    nodes = [helper.make_node('Reshape', ['images', 'fixed'], ['reshaped']),
             helper.make_node('ReduceSum', ['reshaped'], ['total'], keepdims=0),
             helper.make_node('Add', ['rows', 'total'], ['out'])]
    inits = [numpy_helper.from_array(np.array([1, 3, 64, 64], np.int64), 'fixed'),
             numpy_helper.from_array(np.zeros((1, 3, 6), np.float32), 'rows')]
    inputs = [helper.make_tensor_value_info('images', TensorProto.FLOAT, [1, 3, 'h', 'w'])]
    model = save_model(tmp_path / 'fixed.onnx', nodes, inputs,
                       [helper.make_tensor_value_info('out', TensorProto.FLOAT, [1, 3, 6])],
                       initializers=inits)
    with pytest.raises(ModelError, match='fixed.onnx failed on a black warm-up frame of 640x640'):
        Detector(model)
    assert Detector(model, input_size=64).layout.name == 'end2end'


def test_model_with_dynamic_output_that_fails_when_probed(tmp_path):
    model = broadcast_anchor_model(tmp_path / 'dyn.onnx', [1, 1, 1, 1, 0.5, 0.5])
    # 3 * 63 * 63 values do not split into 6 rows.
    with pytest.raises(ModelError, match=r'does not run on a \[1, 3, 63, 63\] input'):
        Detector(model, input_size=63)


def test_bad_frames():
    detector = Detector(lambda frame: np.zeros((0, 6)))
    with pytest.raises(ValueError, match=r'BGR uint8 with shape \(H, W, 3\).*\(480, 640\)'):
        detector(np.zeros((480, 640), np.uint8))
    with pytest.raises(ValueError, match='dtype float32'):
        detector(np.zeros((48, 64, 3), np.float32))
    with pytest.raises(TypeError, match='numpy array'):
        detector([[0, 0, 0]])
    with pytest.raises(ValueError, match='empty'):
        detector(np.zeros((0, 64, 3), np.uint8))


def test_closed_detector(tmp_path):
    model = constant_output_model(tmp_path / 'm.onnx', np.zeros((1, 3, 6), np.float32),
                                  input_shape=(1, 3, 64, 64))
    detector = Detector(model)
    prepared = detector.prepare(np.zeros((64, 64, 3), np.uint8))
    detector.close()
    with pytest.raises(ModelError, match='closed'):
        detector.run(prepared)
    with Detector(lambda frame: np.zeros((0, 6))) as python_model:
        pass
    with pytest.raises(ModelError, match='closed'):
        python_model(np.zeros((8, 8, 3), np.uint8))
