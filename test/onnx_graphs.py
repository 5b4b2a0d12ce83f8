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
Small ONNX models for the detector tests, built with the onnx helper and run by onnxruntime.

Each emits known tensors: a constant output (tied to the input so the graph has one), outputs
computed from the input's shape (to see which size the detector fed), or per-channel means of
the input (to see the channel order, layout and scale it fed).
"""

from pathlib import Path
from typing import Mapping, Optional, Sequence

from lazy_onnx import FLOAT, helper, numpy_helper, onnx, TensorProto
import numpy as np

OPSET = 17
IR_VERSION = 8  # loadable by every onnxruntime still in use (ROS users' apt/pip versions)


def save_model(path: Path, nodes: list, inputs: list, outputs: list,
               metadata: Optional[Mapping[str, str]] = None, initializers: Sequence = ()) -> Path:
    """Check and write a model; returns its path."""
    graph = helper.make_graph(nodes, 'test_graph', inputs, outputs, list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', OPSET)])
    model.ir_version = IR_VERSION
    for key, value in (metadata or {}).items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, str(value)
    onnx.checker.check_model(model)
    path = Path(path)
    onnx.save(model, str(path))
    return path


def _input(shape: Sequence, elem_type: int, name: str):
    return helper.make_tensor_value_info(name, elem_type, list(shape))


def constant_output_model(path: Path, output: np.ndarray, *,
                          input_shape: Sequence = (1, 3, 640, 640),
                          input_type: int = FLOAT,
                          output_dims: Optional[Sequence] = None,
                          metadata: Optional[Mapping[str, str]] = None,
                          input_name: str = 'images', output_name: str = 'output0') -> Path:
    """
    Model whose output is `output` (float32), whatever the input.

    output = constant + 0 * sum(input): the dependency keeps the input in the graph. output_dims
    overrides the declared output shape (e.g. symbolic names, to exercise shape probing).
    """
    value = np.ascontiguousarray(output, dtype=np.float32)
    nodes = [
        helper.make_node('Cast', [input_name], ['as_float'], to=TensorProto.FLOAT),
        helper.make_node('ReduceSum', ['as_float'], ['total'], keepdims=0),
        helper.make_node('Mul', ['total', 'zero'], ['nothing']),
        helper.make_node('Add', ['constant', 'nothing'], [output_name]),
    ]
    initializers = [numpy_helper.from_array(value, 'constant'),
                    numpy_helper.from_array(np.array(0.0, np.float32), 'zero')]
    dims = list(value.shape) if output_dims is None else list(output_dims)
    return save_model(path, nodes, [_input(input_shape, input_type, input_name)],
                      [helper.make_tensor_value_info(output_name, TensorProto.FLOAT, dims)],
                      metadata, initializers)


def shape_echo_model(path: Path, *, input_shape: Sequence = (1, 3, 'height', 'width'),
                     layout: str = 'NCHW', metadata: Optional[Mapping[str, str]] = None) -> Path:
    """
    End2end model whose boxes come from the input size W x H it was fed.

    Output [1, 2, 6]: (0, 0, W, H, 0.9, class 0) and (W/4, H/4, W/2, H/2, 0.8, class 1).
    """
    hw_index = [2, 3] if layout == 'NCHW' else [1, 2]
    consts = {
        'hw_index': np.array(hw_index, np.int64), 'wh_order': np.array([1, 0], np.int64),
        'origin': np.zeros(2, np.float32), 'tail0': np.array([0.9, 0.0], np.float32),
        'tail1': np.array([0.8, 1.0], np.float32), 'quarter': np.array(0.25, np.float32),
        'half': np.array(0.5, np.float32), 'axis0': np.array([0], np.int64),
    }
    nodes = [
        helper.make_node('Shape', ['images'], ['shape']),
        helper.make_node('Gather', ['shape', 'hw_index'], ['hw_int']),
        helper.make_node('Cast', ['hw_int'], ['hw'], to=TensorProto.FLOAT),
        helper.make_node('Gather', ['hw', 'wh_order'], ['wh']),
        helper.make_node('Concat', ['origin', 'wh', 'tail0'], ['row0'], axis=0),
        helper.make_node('Mul', ['wh', 'quarter'], ['wh_quarter']),
        helper.make_node('Mul', ['wh', 'half'], ['wh_half']),
        helper.make_node('Concat', ['wh_quarter', 'wh_half', 'tail1'], ['row1'], axis=0),
        helper.make_node('Unsqueeze', ['row0', 'axis0'], ['row0_2d']),
        helper.make_node('Unsqueeze', ['row1', 'axis0'], ['row1_2d']),
        helper.make_node('Concat', ['row0_2d', 'row1_2d'], ['rows'], axis=0),
        helper.make_node('Unsqueeze', ['rows', 'axis0'], ['detections']),
    ]
    initializers = [numpy_helper.from_array(v, k) for k, v in consts.items()]
    return save_model(path, nodes, [_input(input_shape, TensorProto.FLOAT, 'images')],
                      [helper.make_tensor_value_info('detections', TensorProto.FLOAT,
                                                     [1, 2, 6])],
                      metadata, initializers)


def channel_mean_model(path: Path, *, input_shape: Sequence = (1, 3, 64, 64),
                       layout: str = 'NCHW', input_type: int = FLOAT,
                       metadata: Optional[Mapping[str, str]] = None) -> Path:
    """
    End2end model reporting the mean of each input channel c as the score of class c.

    Output [1, 3, 6]: row c = (0, 0, 1e4, 1e4, mean of channel c, c), a box covering any frame,
    so the detections show the channel order, layout and scale the detector fed.
    """
    spatial_axes = [0, 2, 3] if layout == 'NCHW' else [0, 1, 2]
    consts = {
        'box': np.tile(np.array([0, 0, 1e4, 1e4], np.float32), (3, 1)),
        'class_column': np.arange(3, dtype=np.float32).reshape(3, 1),
        'column_shape': np.array([3, 1], np.int64), 'axis0': np.array([0], np.int64),
    }
    nodes = [
        helper.make_node('Cast', ['images'], ['as_float'], to=TensorProto.FLOAT),
        helper.make_node('ReduceMean', ['as_float'], ['means'], axes=spatial_axes, keepdims=0),
        helper.make_node('Reshape', ['means', 'column_shape'], ['score_column']),
        helper.make_node('Concat', ['box', 'score_column', 'class_column'], ['rows'], axis=1),
        helper.make_node('Unsqueeze', ['rows', 'axis0'], ['detections']),
    ]
    initializers = [numpy_helper.from_array(v, k) for k, v in consts.items()]
    return save_model(path, nodes, [_input(input_shape, input_type, 'images')],
                      [helper.make_tensor_value_info('detections', TensorProto.FLOAT,
                                                     [1, 3, 6])],
                      metadata, initializers)


def yolov8_output(cxcywh: np.ndarray, class_ids: np.ndarray, scores: np.ndarray, *,
                  num_classes: int, anchors: int = 8400, positions: Optional[Sequence] = None,
                  transposed: bool = False) -> np.ndarray:
    """[1, 4+nc, anchors] tensor holding the given boxes at `positions` (others score 0)."""
    out = np.zeros((4 + num_classes, anchors), np.float32)
    out[2:4] = 1.0  # empty anchors still have a size, like a real head
    positions = np.arange(len(scores)) * 7 + 3 if positions is None else np.asarray(positions)
    out[:4, positions] = np.asarray(cxcywh, np.float32).T
    out[4 + np.asarray(class_ids), positions] = scores
    return (out.T if transposed else out)[None]


def yolov5_output(cxcywh: np.ndarray, class_ids: np.ndarray, objectness: np.ndarray,
                  class_scores: np.ndarray, *, num_classes: int, anchors: int = 25200,
                  positions: Optional[Sequence] = None) -> np.ndarray:
    """[1, anchors, 5+nc] tensor holding the given boxes (score = objectness * class score)."""
    out = np.zeros((anchors, 5 + num_classes), np.float32)
    out[:, 2:4] = 1.0
    count = len(objectness)
    positions = np.arange(count) * 11 + 5 if positions is None else np.asarray(positions)
    out[positions, :4] = cxcywh
    out[positions, 4] = objectness
    out[positions, 5 + np.asarray(class_ids)] = class_scores
    return out[None]


def broadcast_anchor_model(path: Path, attributes: Sequence[float], *,
                           input_shape: Sequence = (1, 3, 'height', 'width')) -> Path:
    """
    YOLOv8-style model whose anchor count follows the input size (a truly dynamic output).

    Output [1, A, 3*H*W/A] (A = len(attributes)): every anchor holds `attributes`. onnxruntime
    cannot know the output shape before running it, and the reshape fails when 3*H*W is not a
    multiple of A.
    """
    attrs = np.asarray(attributes, np.float32).reshape(1, -1, 1)
    consts = {'to_anchors': np.array([1, attrs.shape[1], -1], np.int64),
              'zero': np.array(0.0, np.float32), 'attributes': attrs}
    nodes = [
        helper.make_node('Reshape', ['images', 'to_anchors'], ['anchors']),
        helper.make_node('Mul', ['anchors', 'zero'], ['zeros']),
        helper.make_node('Add', ['zeros', 'attributes'], ['output0']),
    ]
    initializers = [numpy_helper.from_array(v, k) for k, v in consts.items()]
    return save_model(path, nodes, [_input(input_shape, TensorProto.FLOAT, 'images')],
                      [helper.make_tensor_value_info('output0', TensorProto.FLOAT,
                                                     [1, attrs.shape[1], 'anchors'])],
                      None, initializers)


def frame_code_model(path: Path, *, batch: object = 'batch', size: int = 64,
                     extra_cost: int = 0) -> Path:
    """
    End2end model that reads each frame's code (helpers.frame_codes) and its own batch row.

    Input [batch, 3, size, size] float (0..255, stretched: frames of size x size reach it
    untouched); batch is a symbol (dynamic) or an int (fixed). Output [batch, 2, 6]: for the
    frame in row r with code c, (1, 1, size/2, size/2, 0.9, c) and
    (size*5/8, size*5/8, size*15/16, size*15/16, 0.5 + 0.01 * r, c): the class says which
    frame, the second score which batch row, so a test sees what came out of which row.
    extra_cost adds that many 3x3 convolutions on the input (a model that takes time).
    """
    cell = size // 4
    far = [size * 5 / 8, size * 5 / 8, size * 15 / 16, size * 15 / 16]
    consts = {
        'to_bits': np.array([-1, 16], np.int64), 'mid_grey': np.array(127.5, np.float32),
        'weights': (2.0 ** np.arange(16, dtype=np.float32)).reshape(16, 1),
        'zero_i': np.array(0, np.int64), 'one_i': np.array(1, np.int64),
        'first': np.array([0], np.int64), 'second': np.array([1], np.int64),
        'axis1': np.array([1], np.int64), 'zero': np.array(0.0, np.float32),
        'box_near': np.array([[1, 1, size / 2, size / 2]], np.float32),
        'box_far': np.array([far], np.float32), 'score_near': np.array(0.9, np.float32),
        'row_step': np.array(0.01, np.float32), 'row_base': np.array(0.5, np.float32),
    }
    if extra_cost:
        consts['conv_w'] = np.full((3, 3, 3, 3), 1e-6, np.float32)
    nodes = [helper.make_node('Identity', ['images'], ['pixels_0'])]
    for k in range(extra_cost):
        nodes.append(helper.make_node('Conv', [f'pixels_{k}', 'conv_w'], [f'conv_{k}'],
                                      pads=[1, 1, 1, 1]))
        nodes.append(helper.make_node('Mul', [f'conv_{k}', 'zero'], [f'none_{k}']))
        nodes.append(helper.make_node('Add', [f'pixels_{k}', f'none_{k}'],
                                      [f'pixels_{k + 1}']))
    nodes += [
        helper.make_node('AveragePool', [f'pixels_{extra_cost}'], ['cells'],
                         kernel_shape=[cell, cell], strides=[cell, cell]),
        helper.make_node('ReduceMean', ['cells'], ['grey'], axes=[1], keepdims=0),
        helper.make_node('Reshape', ['grey', 'to_bits'], ['grey_bits']),
        helper.make_node('Greater', ['grey_bits', 'mid_grey'], ['on']),
        helper.make_node('Cast', ['on'], ['bits'], to=TensorProto.FLOAT),
        helper.make_node('MatMul', ['bits', 'weights'], ['code']),  # [B, 1]
        helper.make_node('Mul', ['code', 'zero'], ['zeros']),  # [B, 1]
        helper.make_node('Shape', ['images'], ['shape']),
        helper.make_node('Slice', ['shape', 'first', 'second'], ['count_1d']),
        helper.make_node('Squeeze', ['count_1d'], ['count']),
        helper.make_node('Range', ['zero_i', 'count', 'one_i'], ['rows_i']),
        helper.make_node('Cast', ['rows_i'], ['rows_f'], to=TensorProto.FLOAT),
        helper.make_node('Unsqueeze', ['rows_f', 'axis1'], ['row']),  # [B, 1]
        helper.make_node('Add', ['zeros', 'box_near'], ['near_xyxy']),
        helper.make_node('Add', ['zeros', 'score_near'], ['near_score']),
        helper.make_node('Concat', ['near_xyxy', 'near_score', 'code'], ['near'], axis=1),
        helper.make_node('Add', ['zeros', 'box_far'], ['far_xyxy']),
        helper.make_node('Mul', ['row', 'row_step'], ['row_part']),
        helper.make_node('Add', ['row_part', 'row_base'], ['far_score']),
        helper.make_node('Concat', ['far_xyxy', 'far_score', 'code'], ['far'], axis=1),
        helper.make_node('Unsqueeze', ['near', 'axis1'], ['near_3d']),
        helper.make_node('Unsqueeze', ['far', 'axis1'], ['far_3d']),
        helper.make_node('Concat', ['near_3d', 'far_3d'], ['detections'], axis=1),
    ]
    initializers = [numpy_helper.from_array(v, k) for k, v in consts.items()]
    return save_model(path, nodes, [_input((batch, 3, size, size), TensorProto.FLOAT, 'images')],
                      [helper.make_tensor_value_info('detections', TensorProto.FLOAT,
                                                     [batch, 2, 6])],
                      {'layout': 'NCHW RGB float32 0..255, stretched resize'}, initializers)


def tiny_detector_model(path: Path, *, size: int = 64, box_bias: float = 0.0,
                        score_gain: float = 12.0, seed: int = 0) -> Path:
    """
    Build a small conv detector (yolov8 layout, 2 classes) whose detections follow the image.

    Two 2x2 stride-2 averaging convs (a little seeded noise on the weights) make a grid of
    4x4-pixel cells' mean colours; a 1x1 head scores class 0 by red and class 1 by blue,
    score_gain * (mean - 0.5) as a logit. The decode tail (the part quantization must leave
    in float): Reshape, Split, box = Sigmoid(offset) around the cell centre, Sigmoid scores,
    Concat -> [1, 6, cells]. box_bias shifts the box channels of the head's output by a large
    value (taken off again in the tail): one per-tensor uint8 scale then leaves the scores too
    coarse, the model INT8 cannot reproduce.
    """
    rng = np.random.default_rng(seed)
    cells = (size // 4) ** 2
    average = np.zeros((3, 3, 2, 2), np.float32)
    for c in range(3):
        average[c, c] = 0.25
    w1 = average + rng.normal(0, 0.01, average.shape).astype(np.float32)
    w2 = average + rng.normal(0, 0.01, average.shape).astype(np.float32)
    head = np.zeros((6, 3, 1, 1), np.float32)
    head[:4] = rng.normal(0, 0.3, (4, 3, 1, 1))
    head[4, 0, 0, 0] = head[5, 2, 0, 0] = score_gain
    head_bias = np.array([box_bias] * 4 + [-score_gain / 2] * 2, np.float32)
    grid = (np.arange(size // 4, dtype=np.float32) * 4 + 2)
    gy, gx = np.meshgrid(grid, grid, indexing='ij')
    consts = {
        'w1': w1, 'w2': w2, 'head_w': head, 'head_b': head_bias,
        'flat': np.array([1, 6, cells], np.int64), 'split': np.array([2, 2, 2], np.int64),
        'unbias': np.array(box_bias, np.float32), 'offset_scale': np.array(4.0, np.float32),
        'centres': np.stack([gx.ravel(), gy.ravel()])[None].astype(np.float32),
        'wh_scale': np.array(8.0, np.float32),
    }
    nodes = [
        helper.make_node('Conv', ['images', 'w1'], ['c1'], strides=[2, 2], name='conv1'),
        helper.make_node('Relu', ['c1'], ['r1'], name='relu1'),
        helper.make_node('Conv', ['r1', 'w2'], ['c2'], strides=[2, 2], name='conv2'),
        helper.make_node('Relu', ['c2'], ['r2'], name='relu2'),
        helper.make_node('Conv', ['r2', 'head_w', 'head_b'], ['h'], name='head'),
        helper.make_node('Reshape', ['h', 'flat'], ['hf'], name='flatten'),
        helper.make_node('Split', ['hf', 'split'], ['xy_raw', 'wh_raw', 'logits'], axis=1,
                         name='split'),
        helper.make_node('Sub', ['xy_raw', 'unbias'], ['xy_u'], name='unbias_xy'),
        helper.make_node('Sigmoid', ['xy_u'], ['xy_s'], name='xy_sigmoid'),
        helper.make_node('Mul', ['xy_s', 'offset_scale'], ['xy_o'], name='xy_offset'),
        helper.make_node('Add', ['xy_o', 'centres'], ['xy_c'], name='xy_decode'),
        helper.make_node('Sub', ['wh_raw', 'unbias'], ['wh_u'], name='unbias_wh'),
        helper.make_node('Sigmoid', ['wh_u'], ['wh_s'], name='wh_sigmoid'),
        helper.make_node('Mul', ['wh_s', 'wh_scale'], ['wh'], name='wh_decode'),
        helper.make_node('Sigmoid', ['logits'], ['scores'], name='score_sigmoid'),
        helper.make_node('Concat', ['xy_c', 'wh', 'scores'], ['output0'], axis=1,
                         name='concat'),
    ]
    initializers = [numpy_helper.from_array(v, k) for k, v in consts.items()]
    return save_model(path, nodes, [_input((1, 3, size, size), FLOAT, 'images')],
                      [helper.make_tensor_value_info('output0', TensorProto.FLOAT,
                                                     [1, 6, cells])],
                      {'names': "{0: 'red', 1: 'blue'}"}, initializers)


def qdq_float_depthwise_model(path: Path, small_weight: float = 0.003) -> Path:
    """
    QDQ graph with a float depthwise 1x1 conv between a DequantizeLinear and a QuantizeLinear.

    x [1, 2, 4, 4] -> Q/DQ (uint8, scale 1) -> Conv (float weights 1.0 and small_weight, as a
    layer `stream-infer quantize` keeps in float) -> Relu -> Q/DQ (uint8, scale 1/255) -> y.
    Per-tensor int8 weights (scale 1/127) would round small_weight to 0: channel 1 of y lost.
    """
    scalar = lambda name, value, dtype: numpy_helper.from_array(  # noqa: E731
        np.array(value, dtype), name)
    weights = numpy_helper.from_array(
        np.array([1.0, small_weight], np.float32).reshape(2, 1, 1, 1), 'w')
    nodes = [
        helper.make_node('QuantizeLinear', ['x', 's_in', 'zp'], ['x_q']),
        helper.make_node('DequantizeLinear', ['x_q', 's_in', 'zp'], ['x_dq']),
        helper.make_node('Conv', ['x_dq', 'w'], ['conv'], group=2, name='float_depthwise'),
        helper.make_node('Relu', ['conv'], ['relu']),
        helper.make_node('QuantizeLinear', ['relu', 's_out', 'zp'], ['y_q']),
        helper.make_node('DequantizeLinear', ['y_q', 's_out', 'zp'], ['y'])]
    return save_model(
        path, nodes, [_input((1, 2, 4, 4), FLOAT, 'x')], [_input((1, 2, 4, 4), FLOAT, 'y')],
        initializers=[weights, scalar('s_in', 1.0, np.float32),
                      scalar('s_out', 1.0 / 255.0, np.float32), scalar('zp', 0, np.uint8)])


def conv_relu_conv_model(path: Path, activation: str = 'Relu') -> Path:
    """
    Conv -> activation -> depthwise conv -> Relu -> conv: pairs for cross-layer equalization.

    x [1, 2, 8, 8] -> 1x1 conv (output channels' weights 0.01 and 10 apart) -> activation ->
    depthwise 3x3 conv -> 1x1 conv to one channel -> y: a pair equalization can balance
    (activation Relu), or must leave alone (Clip: relu6 is not scale-invariant).
    """
    rng = np.random.default_rng(3)
    w1 = rng.normal(size=(2, 2, 1, 1)).astype(np.float32) * np.array(
        [0.01, 10.0], np.float32).reshape(2, 1, 1, 1)
    tensors = [numpy_helper.from_array(w1, 'w1'),
               numpy_helper.from_array(np.array([0.001, 2.0], np.float32), 'b1'),
               numpy_helper.from_array(rng.normal(size=(2, 1, 3, 3)).astype(np.float32), 'w2'),
               numpy_helper.from_array(rng.normal(size=(1, 2, 1, 1)).astype(np.float32), 'w3'),
               numpy_helper.from_array(np.array(6.0, np.float32), 'six'),
               numpy_helper.from_array(np.array(0.0, np.float32), 'zero')]
    act = helper.make_node('Relu', ['c1'], ['a1']) if activation == 'Relu' else \
        helper.make_node('Clip', ['c1', 'zero', 'six'], ['a1'])
    nodes = [helper.make_node('Conv', ['x', 'w1', 'b1'], ['c1'], name='first'), act,
             helper.make_node('Conv', ['a1', 'w2'], ['c2'], name='depthwise', group=2,
                              pads=[1, 1, 1, 1]),
             helper.make_node('Relu', ['c2'], ['a2']),
             helper.make_node('Conv', ['a2', 'w3'], ['y'], name='last')]
    return save_model(path, nodes, [_input((1, 2, 8, 8), FLOAT, 'x')],
                      [_input((1, 1, 8, 8), FLOAT, 'y')], initializers=tensors)
