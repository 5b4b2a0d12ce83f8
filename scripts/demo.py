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
The README demo: the real node on the bundled clip, watched like a perception stack would.

Starts `stream_infer_node` as its own process (source = the bundled pedestrian clip), subscribes
to its topics over DDS, prints every Detection2DArray as a readable line (class names from
`label_info`, track ids, boxes), writes the `annotated` images to a video, and stops the node
with SIGINT when the clip has ended. Usage: ./dev.sh demo [--source FILE] [--output PATH] [--fast]
"""

import argparse
from collections import Counter
import os
from pathlib import Path
import signal
import subprocess
import sys
import threading
import time

import cv2
from lifecycle_msgs.msg import Transition
from lifecycle_msgs.srv import ChangeState
import numpy as np
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image
from std_msgs.msg import String
from vision_msgs.msg import Detection2DArray, LabelInfo

from stream_infer.bundled import bundled_clip_path, fastdds_profile_path
from stream_infer.ros.main import spin_until_shutdown

NS = '/demo'
RELIABLE = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)
LATCHED = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE,
                     durability=DurabilityPolicy.TRANSIENT_LOCAL)


def node_executable() -> str:
    from ament_index_python.packages import get_package_prefix
    return str(Path(get_package_prefix('stream_infer')) / 'lib' / 'stream_infer' /
               'stream_infer_node')


def node_environment() -> dict:
    """
    Return the node's environment: this one, with the bundled Fast DDS profile unless set.

    The node publishes 1.3 MB annotated images; with Fast DDS's 512 kB shared-memory segment
    they go over UDP in fragments and the detections arrived up to 1-2 s late (p99 0.76-1.76 s
    in three runs), with the profile p99 63 ms (README: Large raw images on one machine).
    """
    env = dict(os.environ)
    names = ('FASTRTPS_DEFAULT_PROFILES_FILE', 'FASTDDS_DEFAULT_PROFILES_FILE')
    if not any(env.get(name) for name in names):
        profile = str(fastdds_profile_path())
        print(f'$ export FASTRTPS_DEFAULT_PROFILES_FILE={profile}  # and FASTDDS_ (Kilted)',
              flush=True)
        env.update(dict.fromkeys(names, profile))
    return env


class Watcher:
    """Subscribes to the node's outputs and turns them into lines and a video."""

    def __init__(self, node, video_node, output: Path) -> None:
        self.names = {}
        self.lines = 0
        self.classes = Counter()
        self.tracks = set()
        self.latency_ms = []
        self.ended = False
        self.output = output
        self.writer = None
        self.frames_written = 0
        node.create_subscription(LabelInfo, f'{NS}/label_info', self.on_labels, LATCHED)
        node.create_subscription(Detection2DArray, f'{NS}/detections', self.on_detections,
                                 RELIABLE)
        video_node.create_subscription(Image, f'{NS}/annotated', self.on_annotated, RELIABLE)
        node.create_subscription(String, f'{NS}/stream_infer/stream_events', self.on_event,
                                 LATCHED)

    def on_labels(self, msg: LabelInfo) -> None:
        self.names = {str(c.class_id): c.class_name for c in msg.class_map}

    def on_event(self, msg: String) -> None:
        print(f'[event] stream {msg.data}', flush=True)
        if msg.data.startswith('stopped'):
            self.ended = True

    def on_detections(self, msg: Detection2DArray) -> None:
        stamp = msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9
        self.latency_ms.append((time.time() - stamp) * 1e3)
        parts = []
        for det in msg.detections:
            hyp = det.results[0].hypothesis
            name = self.names.get(hyp.class_id, hyp.class_id)
            self.classes[name] += 1
            if det.id:
                self.tracks.add(det.id)
            b = det.bbox
            parts.append(f'{name}{" #" + det.id if det.id else ""} {hyp.score:.2f} '
                         f'@({b.center.position.x:.0f},{b.center.position.y:.0f}) '
                         f'{b.size_x:.0f}x{b.size_y:.0f}')
        self.lines += 1
        print(f'{msg.header.frame_id} {stamp:.3f}: {len(parts)} objects'
              + (': ' + ', '.join(parts) if parts else ''), flush=True)

    def on_annotated(self, msg: Image) -> None:
        frame = np.frombuffer(msg.data, np.uint8).reshape(msg.height, msg.width, 3)
        if self.writer is None:
            self.output.parent.mkdir(parents=True, exist_ok=True)
            self.writer = cv2.VideoWriter(str(self.output), cv2.VideoWriter_fourcc(*'mp4v'),
                                          10.0, (msg.width, msg.height))
        self.writer.write(frame)
        self.frames_written += 1

    def close(self) -> None:
        if self.writer is not None:
            self.writer.release()


def start_node(node, video_node, executor, proc) -> bool:
    """
    Configure the node, wait until this viewer sees its publishers, then activate it.

    So no frame is published before the viewer is connected. False when a transition failed
    or the node process exited.
    """
    lifecycle = node.create_client(ChangeState, f'{NS}/stream_infer/change_state')
    for transition, ready in (
            (Transition.TRANSITION_CONFIGURE, lambda: True),
            (Transition.TRANSITION_ACTIVATE, lambda: (
                node.count_publishers(f'{NS}/detections') > 0
                and video_node.count_publishers(f'{NS}/annotated') > 0))):
        while not (ready() and lifecycle.service_is_ready()) and proc.poll() is None:
            executor.spin_once(timeout_sec=0.05)
        future = lifecycle.call_async(ChangeState.Request(transition=Transition(id=transition)))
        while not future.done() and proc.poll() is None:
            executor.spin_once(timeout_sec=0.05)
        if proc.poll() is not None or not future.result().success:
            return False
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--source', default=str(bundled_clip_path()))
    parser.add_argument('--output', default='out/demo.mp4', type=Path)
    parser.add_argument('--fast', action='store_true',
                        help='enforce_fps off: every frame, as fast as the model goes')
    parser.add_argument('--timeout', type=float, default=300.0)
    args = parser.parse_args()

    rclpy.init()
    node = rclpy.create_node('stream_infer_demo_viewer')
    # The annotated video gets its own context (its own DDS participant): in one participant,
    # Fast DDS delays the small detections messages by up to ~1 s while large images stream in
    # over UDP (the node's environment below keeps them in shared memory).
    video_context = rclpy.Context()
    rclpy.init(context=video_context)
    video_node = rclpy.create_node('stream_infer_demo_video', context=video_context)
    watcher = Watcher(node, video_node, args.output)
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    video_executor = SingleThreadedExecutor(context=video_context)
    video_executor.add_node(video_node)
    video_thread = threading.Thread(target=spin_until_shutdown,
                                    args=(video_executor, video_context), daemon=True)
    video_thread.start()
    # autostart off: start_node() drives the lifecycle once this viewer is connected.
    cmd = [node_executable(), '--ros-args', '-r', f'__ns:={NS}', '-p', f'source:={args.source}',
           '-p', f'enforce_fps:={"false" if args.fast else "true"}', '-p', 'autostart:=false']
    print('$ ' + ' '.join(cmd), flush=True)
    proc = subprocess.Popen(cmd, env=node_environment())
    started = time.monotonic()
    try:
        running = start_node(node, video_node, executor, proc)
        if not running:
            print('demo: the node did not start (see its log above)', file=sys.stderr)
        while running and not watcher.ended and proc.poll() is None:
            executor.spin_once(timeout_sec=0.1)
            if time.monotonic() - started > args.timeout:
                print(f'demo: no end of stream after {args.timeout:.0f} s', file=sys.stderr)
                break
        end = time.monotonic() + 2.0  # let the last messages arrive
        while time.monotonic() < end:
            executor.spin_once(timeout_sec=0.05)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=10)
        watcher.close()
        node.destroy_node()
        rclpy.try_shutdown()
        rclpy.try_shutdown(context=video_context)
        video_thread.join(2.0)
        video_node.destroy_node()
    took = time.monotonic() - started
    lat = np.percentile(watcher.latency_ms, [50, 99]) if watcher.latency_ms else [0, 0]
    print('\n=== stream_infer demo summary ===')
    print(f'source            {args.source}')
    print(f'frames with detections published: {watcher.lines} in {took:.1f} s')
    print(f'objects by class  {dict(watcher.classes.most_common())}')
    print(f'distinct tracks   {len(watcher.tracks)}')
    print(f'stamp->receipt    p50 {lat[0]:.0f} ms, p99 {lat[1]:.0f} ms, '
          f'max {max(watcher.latency_ms, default=0):.0f} ms')
    print(f'annotated video   {args.output} ({watcher.frames_written} frames)')
    print(f'node exit code    {code}')
    return 0 if code == 0 and watcher.lines > 0 and watcher.frames_written > 0 else 1


if __name__ == '__main__':
    sys.exit(main())
