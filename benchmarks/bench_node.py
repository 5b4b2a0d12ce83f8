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
Node benchmark, topic mode: 30 Hz bgr8 images at 640x480 and 1280x720 into the real node.

The node runs as its own process (the installed stream_infer_node, bundled model); this process
publishes real clip frames stamped with the send time and subscribes to `detections`, so the
latency is image stamp -> detection receipt across two processes over DDS. The node's own cost
per frame excluding the model (image callback: conversion + hand-off; result: message building
+ publishing) comes from its /diagnostics. Run: ./dev.sh run python benchmarks/bench_node.py
"""

import argparse
import os
from pathlib import Path
import signal
import subprocess
import time

import cv2
from diagnostic_msgs.msg import DiagnosticArray
import numpy as np
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image
from std_msgs.msg import Header
from vision_msgs.msg import Detection2DArray

from stream_infer.bundled import bundled_clip_path
from stream_infer.ros.conversions import bgr_to_image, stamp_from_seconds

SENSOR = QoSProfile(depth=1, reliability=ReliabilityPolicy.BEST_EFFORT)
RELIABLE = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)


def clip_frames(size, count=60):
    cap = cv2.VideoCapture(str(bundled_clip_path()))
    frames = []
    while len(frames) < count:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(cv2.resize(frame, size))
    return frames


def run(size, seconds, rate):
    from ament_index_python.packages import get_package_prefix
    exe = Path(get_package_prefix('stream_infer')) / 'lib' / 'stream_infer' / 'stream_infer_node'
    proc = subprocess.Popen([str(exe), '--ros-args', '-r', '__ns:=/bench', '-p',
                             'diagnostics_period:=0.5'], env=dict(os.environ),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    node = rclpy.create_node('bench_node_driver')
    latencies, diag = [], {}
    sent = {}

    def on_det(msg):
        key = (msg.header.stamp.sec, msg.header.stamp.nanosec)
        if key in sent:
            latencies.append((time.time() - sent[key]) * 1e3)

    def on_diag(msg):
        for status in msg.status:
            if '/bench/' in status.name:
                diag.update({kv.key: kv.value for kv in status.values})

    node.create_subscription(Detection2DArray, '/bench/detections', on_det, RELIABLE)
    node.create_subscription(DiagnosticArray, '/diagnostics', on_diag, RELIABLE)
    pub = node.create_publisher(Image, '/bench/image', SENSOR)
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    frames = clip_frames(size)
    msgs = [bgr_to_image(f, Header()) for f in frames]
    try:
        deadline = time.monotonic() + 60  # model load + discovery
        while pub.get_subscription_count() == 0 or not diag:
            executor.spin_once(timeout_sec=0.1)
            assert time.monotonic() < deadline, 'node did not come up'
        start, i = time.monotonic(), 0
        while time.monotonic() - start < seconds:
            next_at = start + i / rate
            while time.monotonic() < next_at:
                executor.spin_once(timeout_sec=max(0.0, next_at - time.monotonic()))
            msg = msgs[i % len(msgs)]
            now = time.time()
            msg.header.stamp = stamp_from_seconds(now)
            msg.header.frame_id = 'bench'
            sent[(msg.header.stamp.sec, msg.header.stamp.nanosec)] = now
            pub.publish(msg)
            i += 1
        end = time.monotonic() + 2.0
        while time.monotonic() < end:
            executor.spin_once(timeout_sec=0.05)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)
        node.destroy_node()
    return i, latencies, diag


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--seconds', type=float, default=20.0)
    parser.add_argument('--rate', type=float, default=30.0)
    args = parser.parse_args()
    rclpy.init()
    print(f'{"size":>9} {"sent":>5} {"recv":>5} {"drops":>5} {"in ms":>6} {"out ms":>6} '
          f'{"node ms":>7} {"model ms":>8} {"lat p50":>7} {"lat p99":>7} {"target p99":>10}')
    for size in [(640, 480), (1280, 720)]:
        sent, lat, diag = run(size, args.seconds, args.rate)
        node_in = float(diag.get('node_input_ms', 'nan'))
        node_out = float(diag.get('node_output_ms', 'nan'))
        model = float(diag.get('latency_ms.infer.p50', 'nan'))  # the model's own time, p50
        p50, p99 = np.percentile(lat, [50, 99]) if lat else (float('nan'),) * 2
        drops = diag.get('frames_dropped', '?')
        print(f'{size[0]}x{size[1]:<4} {sent:5d} {len(lat):5d} {drops:>5} {node_in:6.2f} '
              f'{node_out:6.2f} '
              f'{node_in + node_out:7.2f} {model:8.1f} {p50:7.1f} {p99:7.1f} '
              f'{1.3 * model + 1000 / args.rate:10.1f}')
    rclpy.shutdown()


if __name__ == '__main__':
    main()
