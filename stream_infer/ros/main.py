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
'stopped' event published) while the ROS context is still up; the executor spins in short
slices so the signal is noticed promptly. A start-up value that is refused (a bad `-p` or
params file value, an unparsable params file) ends the process with one error line and exit
status 2, so `ros2 launch` ends too (launch_support.end_launch_on_exit). The core's Python
logging goes to the node's ROS logger while the node lives (log_bridge).
"""

import re
import signal

import rclpy
from rclpy.exceptions import InvalidHandle
from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor
from rclpy.lifecycle import TransitionCallbackReturn
from rclpy.logging import get_logger
from rclpy.signals import SignalHandlerOptions

from stream_infer.ros.log_bridge import RosLogHandler
from stream_infer.ros.node import NODE_NAME, StartupError, StreamInferNode

BAD_START_EXIT = 2  # a start-up value or argument was refused


def spin_until_shutdown(executor, context=None, slice_s: float = 0.2) -> None:
    """
    Spin in short slices until the context shuts down (signals are noticed between slices).

    rclpy's executors (7.1 on Jazzy, 9.1 on Kilted) can raise InvalidHandle while building a
    wait set when another thread destroys a subscription's QoS event handler at that moment
    (our deactivate does, from a service callback). The wait set is rebuilt on the next
    slice, so that error is skipped instead of ending the node.
    """
    context = context or executor.context
    while context.ok():
        try:
            executor.spin_once(timeout_sec=slice_s)
        except InvalidHandle:
            continue
        except ExternalShutdownException:  # the context went down while waiting
            return


def _raise_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def _init_error_line(exc: Exception) -> str:
    """Return rcl's error about bad --ros-args or params files without its source locations."""
    return re.sub(r', at \S+:\d+', '', str(exc)).strip()


def main(args=None) -> int:
    """Entry point `stream_infer_node` (ros2 run / launch)."""
    try:
        rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)
    except Exception as exc:  # noqa: BLE001 - rcl's RCLError: an unparsable params file or -p
        get_logger(NODE_NAME).error(f'cannot start: {_init_error_line(exc)}')
        return BAD_START_EXIT
    signal.signal(signal.SIGINT, _raise_interrupt)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        node = StreamInferNode()
    except StartupError:  # logged by the node, in one line
        rclpy.try_shutdown()
        return BAD_START_EXIT
    core_logs = RosLogHandler.install(node)
    executor = MultiThreadedExecutor(num_threads=4)
    executor.add_node(node)
    code = 0
    try:
        if node.get_parameter('autostart').value:
            if node.trigger_configure() != TransitionCallbackReturn.SUCCESS:
                node.get_logger().error('autostart: configure failed (see above); the node stays '
                                        'unconfigured: fix the parameters and configure again')
            elif node.trigger_activate() != TransitionCallbackReturn.SUCCESS:
                node.get_logger().error('autostart: activate failed (see above); the node stays '
                                        'inactive: fix the parameters and activate again')
        spin_until_shutdown(executor)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.shutdown_now()
        executor.shutdown(timeout_sec=1.0)
        core_logs.remove()
        node.destroy_node()
        rclpy.try_shutdown()
    return code


if __name__ == '__main__':
    raise SystemExit(main())
