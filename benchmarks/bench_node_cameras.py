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
Several cameras, one node process vs one node process per camera: memory, CPU, frames.

Runs the installed stream_infer_node on the bundled clip (looping, in real time) three ways,
one after the other: one process serving --cameras cameras (parameters cameras/sources, what
multi_camera.launch.py shared_model:=true starts), --cameras processes with one camera each
(shared_model:=false), and one process with one camera. After --warmup seconds with every
camera publishing, it reads each process's RSS and PSS (shared pages split between processes)
and, over --seconds, the detections each camera published and the CPU time the processes used.

    python3 benchmarks/bench_node_cameras.py [--cameras 4] [--seconds 10] [--warmup 8]

Prints one line per configuration, then the ratios (goal: one process <= 0.4x the RSS of N).
"""

import argparse
import os
import signal
import tempfile
import time

from node_process import process_memory, start_node
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.qos import QoSProfile, ReliabilityPolicy
from vision_msgs.msg import Detection2DArray

from stream_infer.bundled import bundled_clip_path

TICKS = os.sysconf('SC_CLK_TCK')


def cpu_seconds(pid: int) -> float:
    """Return the user + system CPU time of a process (its threads included)."""
    with open(f'/proc/{pid}/stat') as stat:
        fields = stat.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


class Counter:
    """Count the detections messages of each camera topic (a probe node in this process)."""

    def __init__(self, topics) -> None:
        self.node = rclpy.create_node('bench_node_cameras')
        self.counts = dict.fromkeys(topics, 0)
        qos = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
        for topic in topics:
            self.node.create_subscription(Detection2DArray, topic,
                                          lambda _, t=topic: self._count(t), qos)
        self.executor = SingleThreadedExecutor()
        self.executor.add_node(self.node)

    def _count(self, topic: str) -> None:
        self.counts[topic] += 1

    def spin(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.executor.spin_once(timeout_sec=0.05)

    def close(self) -> None:
        self.executor.shutdown()
        self.node.destroy_node()


def run(label: str, launches: list, topics: list, args, logs: str) -> dict:
    """Start launches [(namespace, params)], wait for every topic, measure; stop them."""
    counter = Counter(topics)
    procs = [start_node(namespace, params, os.path.join(logs, f'{label}{i}.log'))
             for i, (namespace, params) in enumerate(launches)]
    try:
        deadline = time.monotonic() + 120
        while min(counter.counts.values()) == 0 and time.monotonic() < deadline:
            counter.spin(0.5)
            if any(proc.poll() is not None for proc in procs):
                raise RuntimeError(f'{label}: a node exited (logs in {logs})')
        if min(counter.counts.values()) == 0:
            raise RuntimeError(f'{label}: a camera published nothing in 120 s (logs in {logs})')
        counter.spin(args.warmup)
        before = dict(counter.counts)
        cpu_before = sum(cpu_seconds(p.pid) for p in procs)
        counter.spin(args.seconds)
        cpu = sum(cpu_seconds(p.pid) for p in procs) - cpu_before
        frames = {t: counter.counts[t] - before[t] for t in topics}
        memory = [process_memory(p.pid) for p in procs]
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGINT)
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except Exception:  # noqa: BLE001 - a benchmark: make sure it is gone
                proc.kill()
        counter.close()
    total = sum(frames.values())
    result = {'rss': sum(m[0] for m in memory), 'pss': sum(m[1] for m in memory),
              'fps': {t: n / args.seconds for t, n in frames.items()},
              'cpu_ms_per_frame': 1000.0 * cpu / max(total, 1)}
    per_camera = ', '.join(f'{t.split("/")[-2]} {fps:.1f}' for t, fps in result['fps'].items())
    print(f'{label:<28} RSS {result["rss"]:7.1f} MiB  PSS {result["pss"]:7.1f} MiB  '
          f'fps per camera: {per_camera}  CPU {result["cpu_ms_per_frame"]:.1f} ms/frame',
          flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--cameras', type=int, default=4)
    parser.add_argument('--seconds', type=float, default=10.0)
    parser.add_argument('--warmup', type=float, default=8.0)
    parser.add_argument('--threads', type=int, default=0,
                        help='ONNX Runtime threads per process (0: its default)')
    args = parser.parse_args()
    clip = str(bundled_clip_path())
    names = [f'c{i}' for i in range(args.cameras)]
    common = ['loop:=true', 'enforce_fps:=true', f'threads:={args.threads}']
    logs = tempfile.mkdtemp(prefix='bench_node_cameras_')
    rclpy.init()
    try:
        shared = run(f'1 process, {args.cameras} cameras',
                     [('/bench', [f'cameras:=[{",".join(names)}]',
                                  f'sources:=[{",".join([clip] * args.cameras)}]', *common])],
                     [f'/bench/{n}/detections' for n in names], args, logs)
        apart = run(f'{args.cameras} processes, 1 camera each',
                    [(f'/bench/{n}', [f'source:={clip}', *common]) for n in names],
                    [f'/bench/{n}/detections' for n in names], args, logs)
        alone = run('1 process, 1 camera', [('/bench/c0', [f'source:={clip}', *common])],
                    ['/bench/c0/detections'], args, logs)
    finally:
        rclpy.shutdown()
    print(f'one process / {args.cameras} processes: RSS {shared["rss"] / apart["rss"]:.2f}x, '
          f'PSS {shared["pss"] / apart["pss"]:.2f}x (goal <= 0.4); one process with '
          f'{args.cameras} cameras vs one camera: RSS +{shared["rss"] - alone["rss"]:.0f} MiB; '
          f'CPU per frame: shared {shared["cpu_ms_per_frame"]:.1f} ms, separate '
          f'{apart["cpu_ms_per_frame"]:.1f} ms')


if __name__ == '__main__':
    main()
