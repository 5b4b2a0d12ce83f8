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
Node memory over lifecycle cycles: configure, activate, deactivate, cleanup, N times.

The node runs as its own process (the installed stream_infer_node, the bundled model, the
bundled clip looping in real time); this process drives it through its real change_state
service, as a lifecycle manager does, waits for each activation's first processed frame
('started' on ~/stream_events) and lets it stream a moment. Every --every cycles it prints the
node's RSS, threads and open fds from /proc, under it the memory mappings whose resident size
changed by 512 KiB or more since the row before (a step: which heap or arena it is in); the
summary gives the growth after the first --warmup cycles (goal: under 2 %) and the mappings
that changed most over them.
Run: ./dev.sh run python benchmarks/lifecycle_memory.py --cycles 200 --active-s 2
"""

import argparse
import signal
import time

from lifecycle_msgs.msg import Transition
from lifecycle_msgs.srv import ChangeState
from node_process import (mapping_growth, mapping_rss, print_mapping_steps, process_stats,
                          start_node)
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from std_msgs.msg import String

from stream_infer.bundled import bundled_clip_path

EVENTS_QOS = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE,
                        durability=DurabilityPolicy.TRANSIENT_LOCAL)
CYCLE = (Transition.TRANSITION_CONFIGURE, Transition.TRANSITION_ACTIVATE,
         Transition.TRANSITION_DEACTIVATE, Transition.TRANSITION_CLEANUP)


class Driver:
    """A node that calls change_state and counts the stream events of the node under test."""

    def __init__(self, namespace: str) -> None:
        self.node = rclpy.create_node('lifecycle_memory_driver')
        self.executor = SingleThreadedExecutor()
        self.executor.add_node(self.node)
        self.client = self.node.create_client(ChangeState, f'{namespace}/stream_infer/'
                                              'change_state')
        self.started = 0
        self.node.create_subscription(String, f'{namespace}/stream_infer/stream_events',
                                      self._on_event, EVENTS_QOS)

    def _on_event(self, msg: String) -> None:
        self.started += msg.data == 'started'

    def spin_until(self, predicate, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not predicate() and time.monotonic() < deadline:
            self.executor.spin_once(timeout_sec=0.05)
        return predicate()

    def change(self, transition_id: int, timeout: float = 60.0) -> bool:
        future = self.client.call_async(ChangeState.Request(
            transition=Transition(id=transition_id)))
        if not self.spin_until(future.done, timeout):
            raise RuntimeError(f'change_state {transition_id} got no answer in {timeout} s')
        return future.result().success


def run_cycles(cycles: int, every: int, warmup: int, active_s: float, params: list,
               mappings: list, step_kib: int = 512) -> list:
    """
    Drive the node through cycles; return [(cycle, ProcessStats)] every `every` cycles.

    At each row, also prints the mappings whose resident memory changed by step_kib or more
    since the last row (where a step came from), and appends the node's per-mapping Rss
    (mapping_rss) to mappings after the warm-up cycle and after the last one.
    """
    namespace = '/lifecycle_memory'
    proc = start_node(namespace, ['autostart:=false', *params], '/tmp/lifecycle_memory.log')
    driver = Driver(namespace)
    rows, previous = [], None
    try:
        if not driver.client.wait_for_service(timeout_sec=60.0):
            raise RuntimeError('the node did not come up (see /tmp/lifecycle_memory.log)')
        for cycle in range(1, cycles + 1):
            for transition_id in CYCLE:
                if not driver.change(transition_id):
                    raise RuntimeError(f'cycle {cycle}: transition {transition_id} failed')
                if transition_id == Transition.TRANSITION_ACTIVATE:
                    if not driver.spin_until(lambda: driver.started >= cycle, 60.0):
                        raise RuntimeError(f'cycle {cycle}: the stream never started')
                    driver.spin_until(lambda: False, active_s)
            if cycle % every == 0 or cycle in (1, warmup, cycles):
                stats, now = process_stats(proc.pid), mapping_rss(proc.pid)
                rows.append((cycle, stats))
                print(f'{cycle:6d} {stats.rss_mib:9.1f} {stats.threads:8d} {stats.fds:5d}',
                      flush=True)
                print_mapping_steps(previous or now, now, step_kib)
                previous = now
                if cycle in (warmup, cycles):
                    mappings.append(now)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=15)
        driver.node.destroy_node()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--cycles', type=int, default=100)
    parser.add_argument('--every', type=int, default=10, help='print a row every N cycles')
    parser.add_argument('--warmup', type=int, default=10,
                        help='cycles after which growth is measured')
    parser.add_argument('--active-s', type=float, default=0.3,
                        help='seconds each activation streams after its first frame')
    parser.add_argument('--model', default='', help='ONNX model (default: the bundled one)')
    args = parser.parse_args()
    rclpy.init()
    params = [f'source:={bundled_clip_path()}', 'loop:=true', 'enforce_fps:=true']
    if args.model:
        params.append(f'model:={args.model}')
    print(f'{"cycle":>6} {"RSS MiB":>9} {"threads":>8} {"fds":>5}')
    mappings = []
    rows = run_cycles(args.cycles, args.every, args.warmup, args.active_s, params, mappings)
    rclpy.shutdown()
    first = rows[0][1]
    base = next(stats for cycle, stats in rows if cycle >= args.warmup)
    last = rows[-1][1]
    peak = max(stats.rss_mib for _, stats in rows)
    print(f'\n{"":28}{"RSS MiB":>9} {"threads":>8} {"fds":>5}')
    print(f'{"after cycle 1":28}{first.rss_mib:9.1f} {first.threads:8d} {first.fds:5d}')
    print(f'{f"after cycle {args.warmup} (base)":28}{base.rss_mib:9.1f} {base.threads:8d} '
          f'{base.fds:5d}')
    print(f'{f"after cycle {rows[-1][0]}":28}{last.rss_mib:9.1f} {last.threads:8d} '
          f'{last.fds:5d}')
    growth = 100.0 * (last.rss_mib - base.rss_mib) / base.rss_mib
    print(f'growth after the first {args.warmup} cycles: {growth:+.1f} % '
          f'({(last.rss_mib - base.rss_mib) / max(1, rows[-1][0] - args.warmup):+.2f} MiB/'
          f'cycle), peak {peak:.1f} MiB')
    if len(mappings) == 2:
        print(f'\nmappings whose resident memory changed most from cycle {args.warmup} (KiB):')
        for key, before, after in mapping_growth(*mappings):
            print(f'{after - before:+9d} {before:9d} -> {after:9d}  {key}')


if __name__ == '__main__':
    main()
