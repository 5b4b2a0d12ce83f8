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
Real-ROS test harness: a context, a spinning MultiThreadedExecutor, and a probe node.

Everything goes through real rclpy and Fast DDS (no intra-process shortcut): the node under
test and the probe node talk over topics and services exactly as separate processes would.
"""

import faulthandler
import threading
import time
import traceback
from typing import Callable, List, Optional

from lazy_onnx import helper, onnx, TensorProto
import numpy as np
import rclpy
from rclpy.executors import MultiThreadedExecutor
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy

from stream_infer.ros.main import spin_until_shutdown

SENSOR_QOS = QoSProfile(depth=1, reliability=ReliabilityPolicy.BEST_EFFORT)
RELIABLE_QOS = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
LATCHED_QOS = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                         durability=DurabilityPolicy.TRANSIENT_LOCAL)


def constant_end2end_model(path, rows, size: int = 64, names=None) -> str:
    """
    Write an ONNX model whose output is always `rows` ([N, 6] x1,y1,x2,y2,score,class).

    Boxes are in model-input pixels of a size x size NCHW input; the input still feeds the
    output (times zero) so ONNX Runtime really runs the graph on each frame.
    """
    rows = np.asarray(rows, np.float32)[None]
    inp = helper.make_tensor_value_info('images', TensorProto.FLOAT, [1, 3, size, size])
    out = helper.make_tensor_value_info('output0', TensorProto.FLOAT, list(rows.shape))
    nodes = [
        helper.make_node('ReduceMean', ['images'], ['mean'], keepdims=0),
        helper.make_node('Mul', ['mean', 'zero'], ['nothing']),
        helper.make_node('Add', ['rows', 'nothing'], ['output0']),
    ]
    inits = [helper.make_tensor('rows', TensorProto.FLOAT, rows.shape, rows.ravel()),
             helper.make_tensor('zero', TensorProto.FLOAT, [], [0.0])]
    graph = helper.make_graph(nodes, 'constant_detections', [inp], [out], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 17)])
    model.ir_version = 8
    if names is not None:
        entry = model.metadata_props.add()
        entry.key, entry.value = 'names', repr(dict(enumerate(names)))
    onnx.save(model, str(path))
    return str(path)


class RosHarness:
    """Own context + executor thread; nodes added to it spin until close()."""

    def __init__(self) -> None:
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.executor = MultiThreadedExecutor(num_threads=4, context=self.context)
        self.probe = rclpy.create_node('test_probe', context=self.context)
        self.executor.add_node(self.probe)
        self.spin_error: Optional[BaseException] = None
        self._nodes: List = []
        self._ready_clients: set = set()
        self._thread = threading.Thread(target=self._spin, daemon=True)
        self._thread.start()

    def _spin(self) -> None:
        try:
            spin_until_shutdown(self.executor, self.context)  # what the node's main() runs
        except Exception as exc:  # noqa: BLE001 - a callback raised, or shutdown while spinning
            self.spin_error = exc
            if self.context.ok():  # not a shutdown: nothing would answer any more; say why
                traceback.print_exc()

    def add(self, node):
        self.executor.add_node(node)
        self._nodes.append(node)
        return node

    def destroy(self, node) -> None:
        """Take a node out of the executor and destroy it now."""
        self.executor.remove_node(node)
        self._nodes.remove(node)
        node.destroy_node()

    def collect(self, msg_type, topic: str, qos=RELIABLE_QOS) -> List:
        """Subscribe the probe to topic; returns the live list of received messages."""
        got: List = []
        self.probe.create_subscription(msg_type, topic, got.append, qos)
        return got

    def call(self, client, request, timeout: float = 10.0):
        """Call a service through the real service layer and wait for its response."""
        assert client.wait_for_service(timeout_sec=timeout), f'{client.srv_name} not available'
        if client not in self._ready_clients:
            # The client saw the server; give the server a moment to see the client's response
            # reader too, or DDS can drop the first response (a discovery race, not the node).
            time.sleep(0.2)
            self._ready_clients.add(client)
        future = client.call_async(request)
        deadline = time.monotonic() + timeout
        while not future.done() and time.monotonic() < deadline:
            time.sleep(0.01)
        if not future.done():
            faulthandler.dump_traceback(all_threads=True)  # where the server is stuck
        assert self.spin_error is None, f'the executor stopped: {self.spin_error!r}'
        assert future.done(), f'{client.srv_name} did not answer within {timeout} s'
        return future.result()

    def close(self) -> None:
        self.executor.shutdown(timeout_sec=2.0)  # (it also forgets its nodes)
        for node in [self.probe, *self._nodes]:
            node.destroy_node()
        rclpy.try_shutdown(context=self.context)
        self._thread.join(timeout=5.0)


def wait_for(predicate: Callable[[], bool], timeout: float = 15.0,
             pump: Optional[Callable[[], None]] = None, period: float = 0.05) -> bool:
    """Poll predicate (calling pump each round, e.g. to publish) until true or timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pump is not None:
            pump()
        if predicate():
            return True
        time.sleep(period)
    return predicate()
