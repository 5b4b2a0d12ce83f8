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
What the process benchmarks share: start the installed node, read its resource use from /proc.

    >>> stats = process_stats(os.getpid())
    >>> stats.rss_mib > 0 and stats.threads >= 1 and stats.fds >= 3
    True
"""

import os
from pathlib import Path
import subprocess
from typing import NamedTuple, Sequence

import numpy as np


class ProcessStats(NamedTuple):
    """Resident memory, threads and open file descriptors of a process."""

    rss_mib: float
    threads: int
    fds: int


def process_stats(pid: int) -> ProcessStats:
    """Read VmRSS, Threads and the fd count of pid from /proc (Linux)."""
    values = {}
    with open(f'/proc/{pid}/status') as status:
        for line in status:
            key, _, value = line.partition(':')
            values[key] = value.split()
    return ProcessStats(int(values['VmRSS'][0]) / 1024.0, int(values['Threads'][0]),
                        len(os.listdir(f'/proc/{pid}/fd')))


def process_memory(pid='self') -> tuple:
    """Return (RSS, PSS) in MiB of a process, from /proc (PSS shares shared pages fairly)."""
    rss = pss = 0
    with open(f'/proc/{pid}/status') as status:
        for line in status:
            if line.startswith('VmRSS:'):
                rss = int(line.split()[1])
    with open(f'/proc/{pid}/smaps_rollup') as rollup:
        for line in rollup:
            if line.startswith('Pss:'):
                pss = int(line.split()[1])
    return rss / 1024.0, pss / 1024.0


def mapping_rss(pid='self') -> dict:
    """
    Return the resident KiB of each memory mapping of a process, from /proc/PID/smaps.

    Keys: the mapped file or kernel name ([heap], [stack], ...), or 'anon <start>' for an
    anonymous mapping (a malloc arena, a block glibc put on mmap, a thread's stack,
    Python's object arenas). Comparing two snapshots says which mappings grew.
    """
    rows, key = {}, None
    with open(f'/proc/{pid}/smaps') as smaps:
        for line in smaps:
            fields = line.split()
            if '-' in fields[0] and not fields[0].endswith(':'):
                start = int(fields[0].split('-')[0], 16)
                name = fields[5] if len(fields) > 5 else ''
                key = name or f'anon {start:x}'
            elif fields[0] == 'Rss:' and key is not None:
                rows[key] = rows.get(key, 0) + int(fields[1])
    return rows


def mapping_growth(before: dict, after: dict, top: int = 12) -> list:
    """Return [(key, KiB before, KiB after)] for the mappings whose Rss changed most."""
    keys = set(before) | set(after)
    changed = [(key, before.get(key, 0), after.get(key, 0)) for key in keys
               if before.get(key, 0) != after.get(key, 0)]
    return sorted(changed, key=lambda row: -abs(row[2] - row[1]))[:top]


def print_mapping_steps(before: dict, after: dict, step_kib: int = 512) -> None:
    """Print, indented under a row, the mappings whose Rss changed by step_kib or more."""
    for key, was, now in mapping_growth(before, after):
        if abs(now - was) >= step_kib:
            print(f'{"":8}{now - was:+7d} KiB  {key}', flush=True)


def node_executable() -> str:
    """Return the stream_infer_node colcon installed (what `ros2 run` starts)."""
    from ament_index_python.packages import get_package_prefix
    return str(Path(get_package_prefix('stream_infer')) / 'lib' / 'stream_infer'
               / 'stream_infer_node')


def start_node(namespace: str, params: Sequence[str], log_path: str) -> subprocess.Popen:
    """Start the node process in namespace with `-p` params; its output goes to log_path."""
    args = [node_executable(), '--ros-args', '-r', f'__ns:={namespace}']
    for param in params:
        args += ['-p', param]
    log = open(log_path, 'w')
    return subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ))


def percentiles(values: Sequence[float], points=(50, 90, 99)) -> list:
    """Return the percentiles of values (NaN when there are none), and the maximum."""
    if not len(values):
        return [float('nan')] * (len(points) + 1)
    return [float(v) for v in np.percentile(values, points)] + [float(max(values))]
