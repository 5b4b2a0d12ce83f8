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
The model off the CPU, simulated: what the three-stage design is for.

The bundled model's real outputs for every clip frame are computed first; then a ReplaySession
(bench_support) stands in for an accelerator session: run() sleeps N ms with the GIL released
and returns that frame's real output. For N = 5, 10, 20 ms:

- the engine (InferenceStream over the clip file, tracking on, one on_result callback): frames
  per second against the model's limit 1000/N (goal >= 0.95), and its process CPU per frame,
  which is then all non-model work (decode, preprocess, postprocess, track, deliver);
- a hand-written single-thread loop (cv2 read -> Detector.prepare -> model -> postprocess ->
  sv.ByteTrack.update_with_detections, as one writes it with supervision), which pays them in
  series with the model (the engine is expected >= 1.3x faster at N = 10);
- with ROS (--node): the node in topic mode, fed clip frames (scaled to --node-size: DDS
  here loses most best-effort 768x576 images above ~50 Hz) faster than the model's rate by a
  driver process (publish -> detections, rate of detections received). The StreamInferNode is
  given the simulated Detector (its `detector` argument) and spun by the executor
  stream_infer_node (ros/main.py make_executor) spins, and by rclpy's MultiThreadedExecutor
  (what the node used before: it takes few messages per second from a busy topic,
  ros2/rclpy#1452);
  the reference is a hand-written node that converts, detects, tracks and publishes in its
  image callback (rclpy.spin, single-threaded).

Rounds are interleaved and medians reported: on a shared machine wall time is noisy.
"""

import argparse
import json
import os
from pathlib import Path
import signal
import subprocess
import sys
import time

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_support as bs  # noqa: E402

SLEEPS_MS = (5.0, 10.0, 20.0)


def simulated_detector(api: bs.Api, frames: list, sleep_ms: float, threads=None):
    """Build a Detector whose model sleeps sleep_ms and returns the bundled model's output."""
    session, outputs = bs.bundled_outputs(api, frames, threads)
    replay = bs.ReplaySession(session, outputs, run_model=False, sleep_ms=sleep_ms)
    return api.detector(api.bundled_model(), threads=threads, session=replay), replay


def steady_fps(times: list) -> float:
    """Frames per second between the first and the last delivery."""
    return (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else float('nan')


def engine_rate(api: bs.Api, detector, frames: int) -> tuple:
    """(steady fps, process CPU-ms per frame) of the engine over the clip."""
    stream = api.InferenceStream(str(bs.clip_path()), detector, max_frames=frames)
    times = []
    stream.on_result(lambda result: times.append(time.perf_counter()))
    cpu = bs.cpu_s()
    stats = stream.run()
    return steady_fps(times), (bs.cpu_s() - cpu) * 1000.0 / max(stats.frames_processed, 1)


def byte_track():
    """Return supervision's ByteTrack, what a hand-written loop tracks with."""
    import warnings
    import supervision as sv
    with warnings.catch_warnings():  # 0.30 announces its move to the `trackers` package
        warnings.simplefilter('ignore')
        return sv.ByteTrack()


def hand_loop_rate(api: bs.Api, detector, frames: int) -> tuple:
    """(steady fps, CPU-ms per frame) of read -> detect -> track -> callback on one thread."""
    import cv2
    capture = cv2.VideoCapture(str(bs.clip_path()))
    tracker = byte_track()
    options = api.run_options()
    callback_results = []
    times = []
    cpu = bs.cpu_s()
    while len(times) < frames:
        ok, frame = capture.read()
        if not ok:
            break
        detections = tracker.update_with_detections(
            detector.run(detector.prepare(frame), options).detections)
        callback_results.append(len(detections))
        times.append(time.perf_counter())
    cost = (bs.cpu_s() - cpu) * 1000.0 / max(len(times), 1)
    capture.release()
    return steady_fps(times), cost


def engine_table(api: bs.Api, frames: list, args) -> dict:
    results = {}
    for sleep_ms in args.sleeps:
        detector, _ = simulated_detector(api, frames, sleep_ms)
        runs = bs.interleaved(args.rounds, {
            'engine': lambda: engine_rate(api, detector, len(frames)),
            'hand': lambda: hand_loop_rate(api, detector, len(frames)),
        })
        limit = 1000.0 / sleep_ms
        engine = bs.median(r[0] for r in runs['engine'])
        hand = bs.median(r[0] for r in runs['hand'])
        results[f'{sleep_ms:g}'] = {
            'limit fps': limit, 'engine fps': engine, 'hand fps': hand,
            'engine / limit': engine / limit,
            'engine / hand': bs.median(e[0] / h[0] for e, h in zip(runs['engine'],
                                                                   runs['hand'])),
            'engine cpu ms': min(r[1] for r in runs['engine']),  # least: see bench_cpu.py
            'hand cpu ms': min(r[1] for r in runs['hand'])}
        print(f'  N={sleep_ms:g} ms: engine {engine:.1f} fps (rounds '
              f'{[round(r[0], 1) for r in runs["engine"]]}), hand-written loop {hand:.1f} fps',
              flush=True)
        detector.close()
    return results


# ------------------------------------------------------------------------------ the node
def node_child(args) -> None:
    """Run the node under test in this (child) process until SIGINT."""
    bs.use_code(args.code)
    api = bs.Api()
    import rclpy
    from rclpy.executors import MultiThreadedExecutor, SingleThreadedExecutor
    frames = node_frames(args)
    detector, replay = simulated_detector(api, frames, args.child_sleep)
    rclpy.init()
    if args.node_child == 'hand':
        node = HandWrittenNode(api, detector)
    else:
        from stream_infer.ros.node import StreamInferNode
        node = StreamInferNode('stream_infer', namespace='/accel', detector=detector)
        node.trigger_configure()
        node.trigger_activate()
    if args.node_child == 'stream_infer':
        from stream_infer.ros.main import make_executor
        executor = make_executor()
    elif args.node_child == 'stream_infer_mte':
        executor = MultiThreadedExecutor(num_threads=4)
    else:
        executor = SingleThreadedExecutor()
    executor.add_node(node)
    stop = []
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    print('ready', flush=True)
    while not stop:
        executor.spin_once(timeout_sec=0.1)
    executor.shutdown(timeout_sec=1.0)
    if hasattr(node, 'shutdown_now'):
        node.shutdown_now()
    node.destroy_node()
    rclpy.try_shutdown()


class _HandWritten:
    """Image callback: convert, detect, track, publish, all on the executor's thread."""

    def __init__(self, node, api: bs.Api, detector) -> None:
        from rclpy.qos import QoSProfile, ReliabilityPolicy
        from sensor_msgs.msg import Image
        from vision_msgs.msg import Detection2DArray
        from stream_infer.ros import conversions
        self.conversions = conversions
        self.detector, self.tracker = detector, byte_track()
        self.options = api.run_options()
        self.names = detector.class_names
        self.pub = node.create_publisher(Detection2DArray, '/accel/detections',
                                         QoSProfile(depth=10,
                                                    reliability=ReliabilityPolicy.RELIABLE))
        node.create_subscription(Image, '/accel/image', self.on_image,
                                 QoSProfile(depth=1,
                                            reliability=ReliabilityPolicy.BEST_EFFORT))

    def on_image(self, msg) -> None:
        frame = self.conversions.image_to_bgr(msg)
        found = self.detector.run(self.detector.prepare(frame), self.options).detections
        self.pub.publish(self.conversions.detections_to_msg(
            self.tracker.update_with_detections(found), msg.header, self.names))


def HandWrittenNode(api: bs.Api, detector):  # noqa: N802 - builds a node, like a class
    import rclpy
    node = rclpy.create_node('hand_written', namespace='/accel')
    node._hand = _HandWritten(node, api, detector)
    return node


def node_frames(args) -> list:
    """Return the clip frames the node benchmark publishes, at --node-size."""
    import cv2
    width, height = (int(v) for v in args.node_size.split('x'))
    return [cv2.resize(f, (width, height), interpolation=cv2.INTER_AREA)
            for f in bs.clip_frames(args.frames)[0]]


def drive_node(kind: str, sleep_ms: float, args) -> dict:
    """Start the node process, feed it clip frames faster than 1000/N, count detections."""
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image
    from std_msgs.msg import Header
    from vision_msgs.msg import Detection2DArray
    from stream_infer.ros.conversions import bgr_to_image
    command = [sys.executable, __file__, '--node-child', kind, '--child-sleep', str(sleep_ms),
               '--frames', str(args.frames), '--node-size', args.node_size] + (
                   ['--code', args.code] if args.code else [])
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             text=True, env=dict(os.environ))
    try:
        if child.stdout.readline().strip() != 'ready':
            raise RuntimeError(f'the {kind} node process did not start')
        messages = [bgr_to_image(f, Header(frame_id='camera')) for f in node_frames(args)]
        rclpy.init()
        node = rclpy.create_node('accel_driver')
        received = []
        node.create_subscription(
            Detection2DArray, '/accel/detections', lambda m: received.append(time.monotonic()),
            QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE))
        pub = node.create_publisher(Image, '/accel/image',
                                    QoSProfile(depth=1, reliability=ReliabilityPolicy.BEST_EFFORT))
        executor = SingleThreadedExecutor()
        executor.add_node(node)
        rate = args.feed_factor * 1000.0 / sleep_ms
        deadline = time.monotonic() + 30.0
        i = 0
        while not received and time.monotonic() < deadline:  # discovery and warm-up
            pub.publish(messages[i % len(messages)])
            i += 1
            executor.spin_once(timeout_sec=0.05)
        warm = time.monotonic() + 1.0
        end = warm + args.node_seconds
        start = time.monotonic()
        sent = 0
        while time.monotonic() < end:
            next_at = start + sent / rate
            while time.monotonic() < next_at:
                executor.spin_once(timeout_sec=max(0.0, next_at - time.monotonic()))
            pub.publish(messages[sent % len(messages)])
            sent += 1
        window = [t for t in received if warm <= t < end]
        executor.shutdown()
        node.destroy_node()
        rclpy.shutdown()
        return {'fps': len(window) / args.node_seconds,
                'sent fps': sent / (time.monotonic() - start)}
    finally:
        child.send_signal(signal.SIGINT)
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()


NODE_KINDS = {'stream_infer': 'StreamInferNode, the executor of stream_infer_node (main.py)',
              'stream_infer_mte': "StreamInferNode, rclpy's MultiThreadedExecutor (4 threads)",
              'hand': 'hand-written node, SingleThreadedExecutor'}


def node_table(args) -> dict:
    results = {}
    for sleep_ms in args.sleeps:
        runs = bs.interleaved(args.node_rounds, {
            kind: (lambda kind=kind: drive_node(kind, sleep_ms, args)) for kind in NODE_KINDS})
        row = {'limit fps': 1000.0 / sleep_ms,
               'sent fps': bs.median(r['sent fps'] for r in runs['hand'])}
        row.update({kind: bs.median(r['fps'] for r in runs[kind]) for kind in NODE_KINDS})
        results[f'{sleep_ms:g}'] = row
        print(f'  node N={sleep_ms:g} ms: ' + ', '.join(
            f'{kind} {row[kind]:.1f} fps' for kind in NODE_KINDS) +
            f' (fed {row["sent fps"]:.0f} fps)', flush=True)
    return results


def print_tables(engine: dict, node: dict) -> None:
    print(f'\n{"simulated model":<16} {"1000/N":>7} {"engine":>7} {"/limit":>7} {"hand":>7} '
          f'{"eng/hand":>8} {"eng CPU-ms":>10} {"hand CPU-ms":>11}')
    for sleep_ms, r in engine.items():
        print(f'N = {sleep_ms:>3} ms{"":<7} {r["limit fps"]:>7.1f} {r["engine fps"]:>7.1f} '
              f'{r["engine / limit"]:>7.2f} {r["hand fps"]:>7.1f} {r["engine / hand"]:>8.2f} '
              f'{r["engine cpu ms"]:>10.2f} {r["hand cpu ms"]:>11.2f}')
    print('  goals: engine >= 0.95 x 1000/N; engine >= 1.3 x the hand-written loop at N = 10; '
          'CPU-ms: process CPU per frame, least of the rounds (the model sleeps: all of it '
          'is non-model work)')
    if node:
        print(f'\n{"node, topic mode":<16} {"1000/N":>7} {"fed":>6} ' + ''.join(
            f'{kind:>20}' for kind in NODE_KINDS))
        for sleep_ms, r in node.items():
            print(f'N = {sleep_ms:>3} ms{"":<7} {r["limit fps"]:>7.1f} {r["sent fps"]:>6.0f} '
                  + ''.join(f'{r[kind]:>8.1f} ({r[kind] / r["limit fps"]:.2f}x)    '
                            for kind in NODE_KINDS))
        print('  detections received per second (x 1000/N); ' + '; '.join(
            f'{kind}: {text}' for kind, text in NODE_KINDS.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--code', default=None, help='checkout whose stream_infer to measure')
    parser.add_argument('--frames', type=int, default=200, help='clip frames per engine run')
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--sleeps', type=lambda s: [float(v) for v in s.split(',')],
                        default=list(SLEEPS_MS), help='simulated model times, ms')
    parser.add_argument('--node', action='store_true', help='also the node in topic mode')
    parser.add_argument('--node-rounds', type=int, default=2)
    parser.add_argument('--node-seconds', type=float, default=5.0)
    parser.add_argument('--node-size', default='320x240', help='WxH of the published images')
    parser.add_argument('--feed-factor', type=float, default=1.5,
                        help='images published per model time (x 1000/N)')
    parser.add_argument('--json', type=Path, default=None)
    parser.add_argument('--node-child', default=None, help=argparse.SUPPRESS)
    parser.add_argument('--child-sleep', type=float, default=10.0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.node_child:
        node_child(args)
        return
    root = bs.use_code(args.code)
    api = bs.Api()
    frames, _ = bs.clip_frames(args.frames)
    print(f'stream_infer from {root} ({api.version}); simulated accelerator, bundled model '
          f'outputs; {len(frames)} frames per run; {bs.machine_line()}', flush=True)
    engine = engine_table(api, frames, args)
    node = node_table(args) if args.node else {}
    print_tables(engine, node)
    if args.json:
        args.json.write_text(json.dumps({'version': api.version, 'engine': engine,
                                         'node': node}, indent=1))


if __name__ == '__main__':
    main()
