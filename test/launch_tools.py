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
Running the real `ros2` tools from tests: `ros2 launch` in a process of its own, CLI calls.

Every call gets this session's ROS_DOMAIN_ID (conftest.py), discovery kept on this machine,
logs in a temporary directory and no colour codes. ENV_READY is True, or the reason the tools
cannot run here (tests skip with it).
"""

import importlib.util
import os
from pathlib import Path
import shutil
import signal
import subprocess
import tempfile
import time
from typing import Callable, Tuple, Union

ROS2_PACKAGES = ('launch_ros', 'ros2launch', 'ros2param', 'ros2lifecycle', 'ros2topic',
                 'ros2service', 'ros2cli')


def _environment_ready() -> Union[bool, str]:
    """Return True when `ros2 launch stream_infer ...` can run, else why not."""
    missing = [name for name in ROS2_PACKAGES if importlib.util.find_spec(name) is None]
    if missing:
        return (f'{", ".join(missing)} not importable: a ROS install has them '
                '(ros-$ROS_DISTRO-launch-ros, -ros2cli, ...); the project venv gets them from '
                'shared/vendor/ros2-cli-jazzy (README there)')
    if shutil.which('ros2') is None:
        return 'the ros2 executable is not on PATH'
    try:
        from ament_index_python.packages import get_package_share_directory
        get_package_share_directory('stream_infer')
    except Exception as exc:  # noqa: BLE001 - any reason the package cannot be found
        return f'stream_infer is not installed where ros2 finds it ({exc}): colcon build first'
    return True


ENV_READY = _environment_ready()
ENV = {**os.environ, 'ROS_AUTOMATIC_DISCOVERY_RANGE': 'LOCALHOST', 'PYTHONUNBUFFERED': '1',
       'RCUTILS_COLORIZED_OUTPUT': '0',
       'ROS_LOG_DIR': tempfile.mkdtemp(prefix='stream_infer_test_ros_log_')}


def ros2(*args: str, timeout: float = 60, **kwargs) -> subprocess.CompletedProcess:
    """Run one `ros2` command and return it (stdout and stderr as text)."""
    return subprocess.run(['ros2', *args], capture_output=True, text=True, timeout=timeout,
                          env=ENV, **kwargs)


def shell(command: str, cwd, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run a command line as printed in a doc page (redirections included)."""
    return subprocess.run(command, shell=True, cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=ENV)


def stop_daemon() -> None:
    """Stop the ros2 daemon the CLI calls started (it outlives them)."""
    ros2('daemon', 'stop')


class Launch:
    """`ros2 launch stream_infer FILE ARGS...` in its own session, its output in a file."""

    def __init__(self, directory: Path, launch_file: str, *arguments: str) -> None:
        self.log_path = Path(tempfile.mkstemp(prefix=f'{launch_file}.', suffix='.log',
                                              dir=directory)[1])
        self._log = self.log_path.open('w')
        self.proc = subprocess.Popen(['ros2', 'launch', 'stream_infer', launch_file, *arguments],
                                     stdout=self._log, stderr=subprocess.STDOUT, env=ENV,
                                     start_new_session=True)

    def text(self) -> str:
        return self.log_path.read_text(errors='replace')

    def wait(self, timeout: float) -> Tuple[int, str]:
        """Wait for the launch to end by itself; return its status and output."""
        try:
            return self.proc.wait(timeout=timeout), self.text()
        finally:
            self._end()

    def wait_until(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Poll predicate while the launch runs; False when it timed out or the launch ended."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc.poll() is None:
            if predicate():
                return True
            time.sleep(0.1)
        return predicate()

    def wait_for_line(self, words: str, timeout: float = 90) -> None:
        assert self.wait_until(lambda: words in self.text(), timeout), self.text()[-4000:]

    def wait_for_node(self, node: str, timeout: float = 90) -> None:
        """Wait until `ros2 lifecycle get node` answers (the node is up, whatever its state)."""
        def answers() -> bool:
            return ros2('lifecycle', 'get', node).returncode == 0
        assert self.wait_until(answers, timeout), self.text()[-4000:]

    def stop(self, timeout: float = 30) -> Tuple[int, str]:
        """SIGINT to the launch process alone (as Ctrl-C); its status and output."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(timeout=timeout), self.text()
        finally:
            self._end()

    def _end(self) -> None:
        """Kill what is left of the launch's session (only after a failure) and close the log."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self._log.close()
