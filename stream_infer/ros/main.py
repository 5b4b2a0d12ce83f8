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
The `stream_infer_node` process: signals, spinning, and an orderly exit.

SIGINT and SIGTERM are handled here rather than by rclpy, so the stream is stopped (and its
'stopped' event published) while the ROS context is still up. A signal only raises a flag
(ShutdownRequest): nothing is raised into whatever the main thread is doing, so a second
signal during the orderly exit (process managers and `ros2 launch` escalate SIGINT to SIGTERM)
cannot interrupt it halfway; the executor spins in short slices so the flag is seen promptly.
Once the node is stopped and ROS shut down the process ends at once (exit_now): tearing the
interpreter down (collecting every module's objects: scipy, supervision, onnxruntime...) took
0.7 s of a 1.1 s exit and does nothing a finished node needs.

A start-up value that is refused (a bad `-p` or params file value, an unparsable params file)
ends the process with one error line and exit status 2, so `ros2 launch` ends too
(launch_support.end_launch_on_exit). The core's Python logging goes to the node's ROS logger
while the node lives (log_bridge).
"""

import logging
import os
import re
import signal
import sys
import threading
from typing import Optional

import rclpy
from rclpy.exceptions import InvalidHandle
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.lifecycle import TransitionCallbackReturn
from rclpy.logging import get_logger
from rclpy.signals import SignalHandlerOptions

from stream_infer.detection.preprocess import serial_opencv
from stream_infer.malloc_tuning import limit_arenas
from stream_infer.ros.log_bridge import RosLogHandler
from stream_infer.ros.node import NODE_NAME, StartupError, StreamInferNode

BAD_START_EXIT = 2  # a start-up value or argument was refused

SPIN_SLICE_S = 0.1  # how long a signal may go unnoticed while spinning


class ShutdownRequest:
    """
    Signal handler: the first SIGINT/SIGTERM asks for an orderly exit, later ones are ignored.

        >>> request = ShutdownRequest()
        >>> request(signal.SIGINT, None); request(signal.SIGTERM, None)
        >>> request.is_set(), request.signal_name
        (True, 'SIGINT')
    """

    def __init__(self) -> None:
        self.event = threading.Event()
        self.signal_name: Optional[str] = None
        self.repeated = 0

    def __call__(self, signum: int, frame) -> None:
        if self.event.is_set():
            self.repeated += 1  # already stopping: finish the orderly exit anyway
            return
        self.signal_name = signal.Signals(signum).name
        self.event.set()

    def is_set(self) -> bool:
        return self.event.is_set()

    def install(self) -> 'ShutdownRequest':
        signal.signal(signal.SIGINT, self)
        signal.signal(signal.SIGTERM, self)
        return self


def spin_until_shutdown(executor, context=None, slice_s: float = SPIN_SLICE_S,
                        stop: Optional[ShutdownRequest] = None) -> None:
    """
    Spin in short slices until the context shuts down or stop is set.

    rclpy's executors (7.1 on Jazzy, 9.1 on Kilted) can raise InvalidHandle while building a
    wait set when another thread destroys a subscription's QoS event handler at that moment
    (our deactivate does, from a service callback). The wait set is rebuilt on the next
    slice, so that error is skipped instead of ending the node.
    """
    context = context or executor.context
    while context.ok() and not (stop is not None and stop.is_set()):
        try:
            executor.spin_once(timeout_sec=slice_s)
        except InvalidHandle:
            continue
        except ExternalShutdownException:  # the context went down while waiting
            return


def make_executor(context=None) -> SingleThreadedExecutor:
    """
    Return the executor stream_infer_node spins: a single-threaded one.

    Every callback of the node is short (an image converted and handed over, a parameter
    checked, a transition, diagnostics) while the engine's own threads do the heavy work, so one
    thread serves them all, and a transition never runs beside an image callback. Under rclpy
    7.1's MultiThreadedExecutor the node delivered only 5, 4 and 27 detections a second from a
    topic fed at 300, 150 and 75 Hz (ros2/rclpy#1452; benchmarks/bench_accelerator.py --node)
    where this one keeps up (0.96-0.99 of the model's rate).
    """
    return SingleThreadedExecutor(context=context)


def exit_now(code: int) -> None:
    """End the process now: flush logs and standard streams, skip the interpreter teardown."""
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # closed or broken pipe: nothing left to keep
            pass
    os._exit(code)


def _init_error_line(exc: Exception) -> str:
    """Return rcl's error about bad --ros-args or params files without its source locations."""
    return re.sub(r', at \S+:\d+', '', str(exc)).strip()


def main(args=None) -> int:
    """Entry point `stream_infer_node` (ros2 run / launch)."""
    limit_arenas()  # before threads start: see malloc_tuning (flat memory over reloads)
    serial_opencv()  # the engine's threads already run beside the model
    stop = ShutdownRequest().install()
    try:
        rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)
    except Exception as exc:  # noqa: BLE001 - rcl's RCLError: an unparsable params file or -p
        get_logger(NODE_NAME).error(f'cannot start: {_init_error_line(exc)}')
        return BAD_START_EXIT
    try:
        node = StreamInferNode()
    except StartupError:  # logged by the node, in one line
        rclpy.try_shutdown()
        return BAD_START_EXIT
    core_logs = RosLogHandler.install(node)
    executor = make_executor()
    executor.add_node(node)
    try:
        if node.get_parameter('autostart').value and not stop.is_set():
            if node.trigger_configure() != TransitionCallbackReturn.SUCCESS:
                node.get_logger().error('autostart: configure failed (see above); the node stays '
                                        'unconfigured: fix the parameters and configure again')
            elif stop.is_set():
                pass
            elif node.trigger_activate() != TransitionCallbackReturn.SUCCESS:
                node.get_logger().error('autostart: activate failed (see above); the node stays '
                                        'inactive: fix the parameters and activate again')
        spin_until_shutdown(executor, stop=stop)
    except ExternalShutdownException:
        pass
    finally:
        if stop.signal_name:
            node.get_logger().info(f'{stop.signal_name}: stopping')
        node.shutdown_now()
        executor.shutdown(timeout_sec=1.0)
        core_logs.remove()
        node.destroy_node()
        rclpy.try_shutdown()
    exit_now(0)
    return 0  # not reached


if __name__ == '__main__':
    raise SystemExit(main())
