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
The core's Python logging routed into a node's ROS logger.

The engine logs with Python's logging ('stream_infer.*' loggers: source states and reconnects,
source errors, execution provider fallbacks, frames that failed, stream summaries). In the node
process those records go to the node's ROS logger with the matching severity, so they reach
/rosout, rqt_console and `ros2 launch` log files under the node's name, and `--log-level`
controls them. main() installs the handler for its node and removes it before the node is
destroyed; the CLI and the Python API keep plain logging.

    >>> handler = RosLogHandler.install(node)                     # doctest: +SKIP
    >>> handler.remove()                                          # doctest: +SKIP
"""

import logging
from typing import Optional

CORE_LOGGER = 'stream_infer'


class RosLogHandler(logging.Handler):
    """A logging.Handler that writes records to an rclpy logger (the node's)."""

    def __init__(self, ros_logger) -> None:
        super().__init__()
        self.setFormatter(logging.Formatter('%(message)s'))
        self._ros_logger = ros_logger
        self._core: Optional[logging.Logger] = None
        self._saved = (logging.NOTSET, True)

    @classmethod
    def install(cls, node, logger_name: str = CORE_LOGGER) -> 'RosLogHandler':
        """Route logger_name (and its children) to node's logger, at the node's log level."""
        handler = cls(node.get_logger())
        core = logging.getLogger(logger_name)
        handler._core, handler._saved = core, (core.level, core.propagate)
        # rcutils severities use Python's numbers (DEBUG 10 ... FATAL 50): --log-level applies.
        core.setLevel(int(node.get_logger().get_effective_level()))
        core.propagate = False  # not twice (stderr via the root logger, and ROS)
        core.addHandler(handler)
        return handler

    def remove(self) -> None:
        """Give the core logger back its own level and propagation (safe to call twice)."""
        core, self._core = self._core, None
        if core is not None:
            core.removeHandler(self)
            core.setLevel(self._saved[0])
            core.propagate = self._saved[1]

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
            logger = self._ros_logger
            # One call site per severity: rclpy refuses a severity change at one call site.
            if record.levelno >= logging.CRITICAL:
                logger.fatal(text)
            elif record.levelno >= logging.ERROR:
                logger.error(text)
            elif record.levelno >= logging.WARNING:
                logger.warning(text)
            elif record.levelno >= logging.INFO:
                logger.info(text)
            else:
                logger.debug(text)
        except Exception:  # noqa: BLE001 - logging must never raise into the engine
            self.handleError(record)
