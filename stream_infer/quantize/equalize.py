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
Cross-layer equalization (Nagel et al. 2019, "Data-Free Quantization") of Conv -> Relu -> Conv.

MobileNets' depthwise convs have output channels whose weight ranges differ by 1000x; the
activations between them share one uint8 scale per tensor, so small channels are lost. Relu is
positively homogeneous (relu(x / s) = relu(x) / s for s > 0), so output channel i of the first
conv (weights and bias) can be divided by s_i and input channel i of the convs after the Relu
multiplied by s_i: the float model computes the same, and with s_i = sqrt(r1_i * r2_i) / r2_i
(r: the channel's weight range in each layer) both layers' channels get equal ranges.

Only exact rewrites are made: the first conv's output feeds the Relu alone, the Relu feeds
convs alone (plain or depthwise), every weight and bias is an initializer used by that conv
only. Relu6 (Clip) is not homogeneous and is left alone. Works on an onnx.ModelProto in place
(the caller imports onnx); `numpy_helper` is passed in to keep onnx an optional import.
"""

from typing import Dict, List, Optional, Tuple

import numpy as np

ITERATIONS = 8  # passes over the pairs: the scales of chained pairs settle in a few


def _group(node) -> int:
    return next((a.i for a in node.attribute if a.name == 'group'), 1)


class _Graph:
    """Initializers as arrays, producers and consumers of one model."""

    def __init__(self, model, numpy_helper) -> None:
        self.model, self.nh = model, numpy_helper
        self.init = {t.name: t for t in model.graph.initializer}
        self.arrays: Dict[str, np.ndarray] = {}
        self.consumers: Dict[str, list] = {}
        self.uses: Dict[str, int] = {}
        for node in model.graph.node:
            for name in node.input:
                self.consumers.setdefault(name, []).append(node)
                self.uses[name] = self.uses.get(name, 0) + 1
        self.outputs = {o.name for o in model.graph.output}

    def array(self, name: str) -> np.ndarray:
        if name not in self.arrays:
            self.arrays[name] = self.nh.to_array(self.init[name]).astype(np.float32)
        return self.arrays[name]

    def own_initializer(self, node, index: int) -> bool:
        return (len(node.input) > index and node.input[index] in self.init
                and self.uses[node.input[index]] == 1)

    def write_back(self) -> None:
        for name, value in self.arrays.items():
            self.init[name].CopyFrom(self.nh.from_array(value.astype(np.float32), name))


def _input_slices(conv, channels: int, weights: np.ndarray) -> Optional[List[slice]]:
    """For each input channel of conv: which weight slice multiplies it (None: unsupported)."""
    group = _group(conv)
    if group == 1 and weights.shape[1] == channels:
        return [np.s_[:, i] for i in range(channels)]
    if group == channels and weights.shape[1] == 1:  # depthwise, multiplier m
        m = weights.shape[0] // channels
        return [np.s_[i * m:(i + 1) * m] for i in range(channels)]
    return None


def relu_pairs(model, numpy_helper) -> List[Tuple[str, List[str]]]:
    """(first conv, convs after its Relu) of every pair that can be equalized exactly."""
    g = _Graph(model, numpy_helper)
    pairs = []
    for node in model.graph.node:
        if node.op_type != 'Conv' or not g.own_initializer(node, 1):
            continue
        if len(node.input) > 2 and node.input[2] and not g.own_initializer(node, 2):
            continue
        out = node.output[0]
        after = g.consumers.get(out, [])
        if len(after) != 1 or after[0].op_type != 'Relu' or out in g.outputs:
            continue
        relu_out = after[0].output[0]
        convs = g.consumers.get(relu_out, [])
        if not convs or relu_out in g.outputs:
            continue
        channels = g.array(node.input[1]).shape[0]
        if all(c.op_type == 'Conv' and c.input[0] == relu_out and g.own_initializer(c, 1)
               and _input_slices(c, channels, g.array(c.input[1])) is not None
               for c in convs):
            pairs.append((node.name, [c.name for c in convs]))
    return pairs


def equalize(model, numpy_helper, iterations: int = ITERATIONS) -> int:
    """Equalize every Conv -> Relu -> Conv(s) pair in place; returns how many pairs."""
    pairs = relu_pairs(model, numpy_helper)
    if not pairs:
        return 0
    g = _Graph(model, numpy_helper)
    by_name = {node.name: node for node in model.graph.node}
    for _ in range(iterations):
        for first_name, after_names in pairs:
            first, after = by_name[first_name], [by_name[n] for n in after_names]
            w1 = g.array(first.input[1])
            channels = w1.shape[0]
            r1 = np.abs(w1.reshape(channels, -1)).max(axis=1)
            slices = [_input_slices(c, channels, g.array(c.input[1])) for c in after]
            r2 = np.array([max(np.abs(g.array(c.input[1])[s[i]]).max()
                               for c, s in zip(after, slices)) for i in range(channels)])
            ok = (r1 > 0) & (r2 > 0)
            scale = np.ones(channels, np.float32)
            scale[ok] = (np.sqrt(r1[ok] * r2[ok]) / r2[ok]).astype(np.float32)
            # output channel i of the first conv / s_i, input channel i of the next * s_i
            g.arrays[first.input[1]] = w1 / scale.reshape(-1, *([1] * (w1.ndim - 1)))
            if len(first.input) > 2 and first.input[2]:
                g.arrays[first.input[2]] = g.array(first.input[2]) / scale
            for conv, s in zip(after, slices):
                w2 = g.array(conv.input[1]).copy()
                for i in range(channels):
                    w2[s[i]] *= scale[i]
                g.arrays[conv.input[1]] = w2
    g.write_back()
    return len(pairs)
