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
The cost of 3D detections: the 3D step per frame, and the 2D engine with depth off.

1. The 3D step (stream_infer.depth.attach_3d: sampling, percentile, back-projection) at
   640x480 with 20 detections of mixed sizes, in process CPU-ms per frame (the least of the
   rounds: other processes only ever add to it), for 16UC1 millimetres with holes, 32FC1
   metres with NaNs, and 20 instance masks; and, where ROS is importable, building the
   Detection3DArray and the MarkerArray of those 20 boxes.
2. The engine's throughput on clip frames with a model that returns 20 boxes at once (so the
   engine's own work is what is measured), depth off, and (this checkout) with a depth image
   on every frame; wall frames/s, medians of interleaved rounds. Run it with --code DIR on
   another checkout (e.g. the commit before depth) to compare depth off against it.

Run: python benchmarks/bench_depth.py [--rounds 5] [--frames 300] [--code DIR]
"""

import argparse
from pathlib import Path
import sys

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_support as bs  # noqa: E402, I100
import numpy as np  # noqa: E402, I100

WIDTH, HEIGHT, DETECTIONS = 640, 480, 20
K = (525.0, 525.0, 319.5, 239.5)


def boxes(rng: np.random.Generator, count: int = DETECTIONS) -> np.ndarray:
    """Return boxes from 20x20 to 300x400 px (people near and far, cups), inside the image."""
    w = rng.uniform(20, 300, count)
    h = rng.uniform(20, 400, count)
    x = rng.uniform(0, WIDTH - w)
    y = rng.uniform(0, HEIGHT - h)
    return np.stack([x, y, x + w, y + h], axis=1)


def scene(rng: np.random.Generator) -> np.ndarray:
    """Return a 16UC1 depth image (mm): a sloping floor-to-wall gradient with 15 % holes."""
    metres = np.linspace(1.0, 6.0, HEIGHT)[:, None] + rng.normal(0, 0.01, (HEIGHT, WIDTH))
    depth = np.rint(metres * 1000).astype(np.uint16)
    depth[rng.random(depth.shape) < 0.15] = 0
    return depth


def step_cpu_ms(rounds: int, frames: int) -> dict:
    import supervision as sv
    from stream_infer.depth import attach_3d, DepthImage
    from stream_infer.options import DepthOptions
    rng = np.random.default_rng(0)
    depth_mm = scene(rng)
    metres = np.where(depth_mm > 0, depth_mm / 1000.0, np.nan).astype(np.float32)
    xyxy = boxes(rng)
    masks = np.zeros((DETECTIONS, HEIGHT, WIDTH), bool)
    for i, (x1, y1, x2, y2) in enumerate(xyxy.astype(int)):
        masks[i, y1:y2, x1:x2] = True
    options = DepthOptions()
    cases = {
        '16UC1 mm, central region': (DepthImage(depth_mm, K), None),
        '32FC1 m, central region': (DepthImage(metres, K), None),
        '16UC1 mm, 20 masks': (DepthImage(depth_mm, K), masks),
    }
    out = {}
    for name, (depth, mask) in cases.items():
        detections = sv.Detections(xyxy=xyxy.copy(), class_id=np.zeros(DETECTIONS, int),
                                   confidence=np.full(DETECTIONS, 0.9), mask=mask)
        runs = [bs.cpu_ms_per_item(
            lambda _: attach_3d(detections, (WIDTH, HEIGHT), depth, options), range(frames))
            for _ in range(rounds)]
        out[name] = min(runs)
    try:
        from std_msgs.msg import Header
        from stream_infer.ros.depth_conversions import detections_3d_msg, markers_msg
    except ImportError:
        return out
    detections = sv.Detections(xyxy=xyxy.copy(), class_id=np.zeros(DETECTIONS, int),
                               confidence=np.full(DETECTIONS, 0.9),
                               tracker_id=np.arange(DETECTIONS))
    attach_3d(detections, (WIDTH, HEIGHT), DepthImage(depth_mm, K), options)
    header = Header(frame_id='camera_depth_optical_frame')
    out['ROS: Detection3DArray'] = min(bs.cpu_ms_per_item(
        lambda _: detections_3d_msg(detections, header, ['person'], 'index'),
        range(frames)) for _ in range(rounds))
    out['ROS: MarkerArray'] = min(bs.cpu_ms_per_item(
        lambda _: markers_msg(detections, header, ['person']), range(frames))
        for _ in range(rounds))
    return out


def engine_fps(api: bs.Api, frames: list, with_depth: bool) -> float:
    import time
    rows = np.array([[*box, 0.9, 0] for box in boxes(np.random.default_rng(1))])
    depth = scene(np.random.default_rng(2))
    if with_depth:
        from stream_infer.depth import RGBDFrame  # 640x480 depth beside the clip's frames
        items = [RGBDFrame(frame, depth, K) for frame in frames]
    else:
        items = frames
    stream = api.InferenceStream(items, lambda frame: rows, track=True)
    start = time.perf_counter()
    stats = stream.run()
    elapsed = time.perf_counter() - start
    stream.close()
    return stats.frames_processed / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--rounds', type=int, default=5)
    parser.add_argument('--frames', type=int, default=300)
    parser.add_argument('--code', default=None, help='checkout whose stream_infer to measure')
    args = parser.parse_args()
    root = bs.use_code(args.code)
    api = bs.Api()
    print(f'stream_infer from {root}; {bs.machine_line()}')
    try:
        import stream_infer.depth  # noqa: F401 - this checkout has depth
        has_depth = True
    except ImportError:
        has_depth = False
    if has_depth:
        print(f'\n3D step, {WIDTH}x{HEIGHT}, {DETECTIONS} detections: process CPU-ms per frame '
              f'(least of {args.rounds} rounds of {args.frames} frames)')
        for name, value in step_cpu_ms(args.rounds, args.frames).items():
            print(f'  {name:28s} {value:7.3f} ms')
    frames = list(bs.clip_frames(min(args.frames, 200))[0])
    runs = {'depth off': lambda: engine_fps(api, frames, False)}
    if has_depth:
        runs['depth on'] = lambda: engine_fps(api, frames, True)
    results = bs.interleaved(args.rounds, runs)
    print(f'\nengine, {len(frames)} clip frames, a model giving {DETECTIONS} boxes, tracking '
          f'on: wall frames/s, median of {args.rounds} interleaved rounds')
    for name, values in results.items():
        print(f'  {name:10s} {bs.median(values):8.1f} fps  (rounds: '
              f'{", ".join(f"{v:.0f}" for v in values)})')


if __name__ == '__main__':
    main()
