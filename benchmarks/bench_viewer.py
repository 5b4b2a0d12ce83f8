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
Viewer benchmark: detections latency in ONE process that also takes the annotated image.

rviz (or any viewer) subscribes to `detections` and an image in one ROS context (one DDS
participant). The node runs as its own process (the installed stream_infer_node) on the bundled
clip in real time (source mode, loop, enforce_fps; frames stamped at capture), and this process
measures stamp -> receipt of each Detection2DArray in three cases, each with a fresh viewer node
in the same context, interleaved over rounds: detections alone, detections +
`annotated/compressed` (JPEG), detections + raw `annotated`. Target: the JPEG case's p99 within
150 ms of the detections-alone p99.
Run: ./dev.sh run python benchmarks/bench_viewer.py [--seconds 20] [--rounds 2]
"""

import argparse
import os
from pathlib import Path
import signal
import subprocess
import time

from ament_index_python.packages import get_package_prefix
import numpy as np
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import String
from vision_msgs.msg import Detection2DArray

from stream_infer.bundled import bundled_clip_path

NS = '/viewer_bench'
DETECTIONS_QOS = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
IMAGE_QOS = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE)  # rviz's default
CASES = {
    'detections only': None,
    '+ annotated/compressed': (CompressedImage, f'{NS}/annotated/compressed'),
    '+ annotated (raw)': (Image, f'{NS}/annotated'),
}


def start_node() -> subprocess.Popen:
    exe = Path(get_package_prefix('stream_infer')) / 'lib' / 'stream_infer' / 'stream_infer_node'
    return subprocess.Popen(
        [str(exe), '--ros-args', '-r', f'__ns:={NS}', '-p', f'source:={bundled_clip_path()}',
         '-p', 'loop:=true', '-p', 'enforce_fps:=true'],
        env=dict(os.environ), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def measure(executor, case: str, warmup: float, seconds: float) -> dict:
    """Subscribe a fresh viewer node as in case; return latencies (ms) and image figures."""
    node = rclpy.create_node('bench_viewer')
    executor.add_node(node)
    latencies, images = [], []
    measuring = [False]

    def on_detections(msg):
        if measuring[0]:
            stamp = msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9
            latencies.append((time.time() - stamp) * 1e3)

    def on_image(msg):
        if measuring[0]:
            images.append(len(msg.data))

    node.create_subscription(Detection2DArray, f'{NS}/detections', on_detections,
                             DETECTIONS_QOS)
    if CASES[case] is not None:
        msg_type, topic = CASES[case]
        node.create_subscription(msg_type, topic, on_image, IMAGE_QOS)
    try:
        for duration, measure_now in ((warmup, False), (seconds, True)):
            measuring[0] = measure_now
            end = time.monotonic() + duration
            while time.monotonic() < end:
                executor.spin_once(timeout_sec=0.05)
    finally:
        executor.remove_node(node)
        node.destroy_node()
    return {'latencies': latencies, 'images': images}


def wait_started(executor, timeout: float = 90.0) -> None:
    node = rclpy.create_node('bench_viewer_wait')
    executor.add_node(node)
    started = []
    qos = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE,
                     durability=rclpy.qos.DurabilityPolicy.TRANSIENT_LOCAL)
    node.create_subscription(String, f'{NS}/stream_infer/stream_events',
                             lambda m: started.append(m.data), qos)
    deadline = time.monotonic() + timeout
    while not any(s.startswith('started') for s in started):
        executor.spin_once(timeout_sec=0.1)
        assert time.monotonic() < deadline, 'the node did not start streaming'
    executor.remove_node(node)
    node.destroy_node()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--seconds', type=float, default=20.0, help='measured per case and round')
    parser.add_argument('--warmup', type=float, default=3.0, help='per case, not measured')
    parser.add_argument('--rounds', type=int, default=2)
    args = parser.parse_args()
    rclpy.init()
    executor = SingleThreadedExecutor()
    proc = start_node()
    results = {case: {'latencies': [], 'images': []} for case in CASES}
    try:
        wait_started(executor)
        for _ in range(args.rounds):
            for case in CASES:
                got = measure(executor, case, args.warmup, args.seconds)
                for key in got:
                    results[case][key] += got[key]
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=15)
        rclpy.shutdown()
    seconds = args.seconds * args.rounds
    print(f'{"viewer subscribes to":24} {"dets/s":>6} {"p50 ms":>7} {"p99 ms":>7} '
          f'{"max ms":>7} {"imgs/s":>6} {"img kB":>7} {"p99 - alone":>11}')
    alone = np.percentile(results['detections only']['latencies'], 99)
    for case, got in results.items():
        lat, images = got['latencies'], got['images']
        p50, p99, worst = np.percentile(lat, [50, 99, 100]) if lat else (float('nan'),) * 3
        size = np.mean(images) / 1e3 if images else 0.0
        print(f'{case:24} {len(lat) / seconds:6.1f} {p50:7.1f} {p99:7.1f} {worst:7.1f} '
              f'{len(images) / seconds:6.1f} {size:7.1f} {p99 - alone:11.1f}')
    jpeg = np.percentile(results['+ annotated/compressed']['latencies'], 99)
    verdict = 'met' if jpeg - alone <= 150.0 else 'NOT met'
    print(f'target (annotated/compressed p99 within 150 ms of detections alone): {verdict}')


if __name__ == '__main__':
    main()
