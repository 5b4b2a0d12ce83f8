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
Which nodes of a model stay in float: found from the graph, then by sensitivity.

The decode tail (rule): every node on the way to the outputs from which no convolution can be
reached, i.e. everything after the model's last Conv/ConvTranspose/Gemm/MatMul layers. For the
bundled CenterNet that is the sigmoid, the 3x3 max-pool peak test, TopK and the box decode; for
YOLOv8 the DFL softmax, the anchor decode and the class sigmoid's concat; for end2end exports
the NMS-like selection. Quantizing it breaks what the output means (a heatmap threshold of 0.3
on a uint8 scale over the whole logit range, indices computed from quantized peaks): the issue's
probe saw no detections at all. The layers feeding the tail (the heads: the last learned
layers) are the first candidates of the sensitivity search in command.py.

Works on an onnx.ModelProto (the caller imports onnx); nodes are taken in the graph's order,
which ONNX requires to be topological.
"""

from collections import defaultdict
from typing import Dict, List, Set

LEARNED_OPS = ('Conv', 'ConvTranspose', 'Gemm', 'MatMul')


def _consumers(graph) -> Dict[str, list]:
    consumers: Dict[str, list] = defaultdict(list)
    for node in graph.node:
        for name in node.input:
            consumers[name].append(node)
    return consumers


def _node_names(graph) -> List[str]:
    """Each node's name, a stable made-up one for unnamed nodes (quantization needs names)."""
    return [node.name or f'{node.op_type}_{i}' for i, node in enumerate(graph.node)]


def name_nodes(model) -> None:
    """Give every unnamed node a name, so it can be excluded by name (in place)."""
    for node, name in zip(model.graph.node, _node_names(model.graph)):
        node.name = name


def _feeds_learned(graph) -> Set[int]:
    """Return the nodes from which a learned layer (Conv, Gemm, ...) can be reached."""
    consumers = _consumers(graph)
    index = {id(node): i for i, node in enumerate(graph.node)}
    feeds: Set[int] = set()
    for i in range(len(graph.node) - 1, -1, -1):
        node = graph.node[i]
        for out in node.output:
            for consumer in consumers.get(out, ()):
                if consumer.op_type in LEARNED_OPS or index[id(consumer)] in feeds:
                    feeds.add(i)
                    break
    return feeds


def decode_tail(model) -> List[str]:
    """Names of the nodes after the last learned layers on the way to the outputs."""
    graph = model.graph
    feeds = _feeds_learned(graph)
    return [name for i, (node, name) in enumerate(zip(graph.node, _node_names(graph)))
            if node.op_type not in LEARNED_OPS and i not in feeds]


def head_layers(model) -> List[str]:
    """Names of the learned layers whose output feeds the decode tail directly (the heads)."""
    graph = model.graph
    tail = set(decode_tail(model))
    names = _node_names(graph)
    producer = {out: i for i, node in enumerate(graph.node) for out in node.output}
    heads: List[str] = []
    for i, node in enumerate(graph.node):
        if names[i] not in tail:
            continue
        for name in node.input:
            j = producer.get(name)
            if j is not None and names[j] not in tail and graph.node[j].op_type in LEARNED_OPS \
                    and names[j] not in heads:
                heads.append(names[j])
    return heads
