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
Path parameters naming special or huge files, set through the node's real parameter service.

What the outside fault battery did: `ros2 param set /stream_infer capture_rules_file
/dev/urandom` (no answer, every service silent, RSS past 6.6 GB in ~20 s), /dev/zero, a FIFO
(the executor blocked in open(), SIGINT ignored) and a 2.2 MB rules file (~43 s silent). Each
set must be refused with a one-line reason, and the node must keep answering, stay small and
exit on SIGINT.
"""

import os
from pathlib import Path
import signal
import subprocess

from lifecycle_msgs.srv import GetState
from rcl_interfaces.srv import SetParameters
from rclpy.parameter import Parameter
from test_ros_node_process import installed_node

NAMESPACE = '/option_files'
RSS_LIMIT_MIB = 1024  # the node idles at ~150-300 MiB; the old reader passed 6.6 GB


def rss_mib(pid: int) -> float:
    for line in Path(f'/proc/{pid}/status').read_text().splitlines():
        if line.startswith('VmRSS:'):
            return int(line.split()[1]) / 1024.0
    raise AssertionError(f'no VmRSS for {pid}')


def test_special_and_huge_rules_files_are_refused_and_the_node_keeps_answering(ros, tmp_path):
    fifo = tmp_path / 'rules.fifo'
    os.mkfifo(fifo)
    big = tmp_path / 'big.yaml'
    big.write_text(''.join(f'- random:probability=0.5,name=r{i}\n' for i in range(200_000)))
    proc = subprocess.Popen([installed_node(), '--ros-args', '-r', f'__ns:={NAMESPACE}',
                             '-p', 'autostart:=false'], env=dict(os.environ),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        setter = ros.probe.create_client(SetParameters, f'{NAMESPACE}/stream_infer/set_parameters')
        state = ros.probe.create_client(GetState, f'{NAMESPACE}/stream_infer/get_state')
        cases = [('/dev/zero', 'a character device'), ('/dev/urandom', 'a character device'),
                 (str(fifo), 'a FIFO (named pipe)'), (str(tmp_path), 'a directory'),
                 (str(big), 'larger than the 64 KiB accepted')]
        for path, why in cases:
            request = SetParameters.Request(parameters=[
                Parameter('capture_rules_file', value=path).to_parameter_msg()])
            [result] = ros.call(setter, request, timeout=30).results
            assert not result.successful, path
            assert result.reason.startswith(f"capture_rules_file='{path}': "), result.reason
            assert why in result.reason and 'expected a YAML file with a list of rules, or' \
                in result.reason and '\n' not in result.reason, result.reason
            # the executor is free: the lifecycle service answers right after
            assert ros.call(state, GetState.Request(), timeout=30).current_state.label == \
                'unconfigured'
            assert rss_mib(proc.pid) < RSS_LIMIT_MIB, (path, rss_mib(proc.pid))
        # a good file is still accepted afterwards (the refusals changed nothing)
        good = tmp_path / 'good.yaml'
        good.write_text('- new_track\n')
        request = SetParameters.Request(parameters=[
            Parameter('capture_rules_file', value=str(good)).to_parameter_msg()])
        [result] = ros.call(setter, request, timeout=30).results
        assert result.successful, result.reason
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=30)  # the FIFO never blocked the executor: SIGINT is seen
    assert code == 0
