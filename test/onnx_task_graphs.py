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
Small ONNX models standing in for YOLOv8/11-seg and -obb exports, with known outputs.

Each emits constant tensors of the shapes Ultralytics exports give (tied to the input so the
graph has one), so a test knows exactly which masks and corners must come out. onnx is
imported inside the builders, so collecting a test module does not need it.
"""

from pathlib import Path
from typing import Mapping, Optional, Sequence

import numpy as np


def constant_outputs_model(path: Path, outputs: Mapping[str, np.ndarray], *,
                           input_shape: Sequence = (1, 3, 64, 64),
                           metadata: Optional[Mapping[str, str]] = None) -> Path:
    """Model with one input 'images' and these constant float32 outputs, in this order."""
    from onnx import helper, numpy_helper, TensorProto

    from onnx_graphs import save_model

    nodes = [helper.make_node('ReduceSum', ['images'], ['total'], keepdims=0),
             helper.make_node('Mul', ['total', 'zero'], ['nothing'])]
    initializers = [numpy_helper.from_array(np.array(0.0, np.float32), 'zero')]
    declared = []
    for name, value in outputs.items():
        value = np.ascontiguousarray(value, dtype=np.float32)
        initializers.append(numpy_helper.from_array(value, f'{name}_constant'))
        nodes.append(helper.make_node('Add', [f'{name}_constant', 'nothing'], [name]))
        declared.append(helper.make_tensor_value_info(name, TensorProto.FLOAT,
                                                      list(value.shape)))
    images = helper.make_tensor_value_info('images', TensorProto.FLOAT, list(input_shape))
    return save_model(path, nodes, [images], declared, metadata, initializers)


def anchor_free_rows(boxes: np.ndarray, class_ids: Sequence[int], scores: Sequence[float],
                     num_classes: int, extra: np.ndarray, anchors: int) -> np.ndarray:
    """
    Return a [1, 4 + nc + E, anchors] output: the given boxes first, zero scores after.

    boxes (K, 4) cx, cy, w, h in model-input pixels; extra (K, E): the mask coefficients
    (-seg) or the angle (-obb) of each box.
    """
    count = len(boxes)
    extra = np.asarray(extra, np.float32).reshape(count, -1)
    out = np.zeros((1, 4 + num_classes + extra.shape[1], anchors), np.float32)
    out[0, :4, :count] = np.asarray(boxes, np.float32).T
    out[0, 4 + np.asarray(class_ids), np.arange(count)] = scores
    out[0, 4 + num_classes:, :count] = extra.T
    return out
