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
What instance masks cost: ms per frame at 5 / 20 / 100 detections, and throughput.

The throughput is a -seg model's, with masks consumed vs not.

1. instance_masks alone (the work Detector.compute_masks turns on): 32 prototypes of 160x160
   (a 640x640 YOLO-seg model), K kept boxes of 5-25 % of the frame's side, on a 768x576 frame
   (the clip) and a 1920x1080 one; plus the ROS `masks` image built from them (label_image).
2. Throughput of the whole engine (decode, preprocess, model, postprocess, tracking) on the
   bundled clip with a YOLOv8n-seg ONNX file (--seg-onnx; e.g. one kept by
   scripts/crosscheck_ultralytics.py --keep DIR: random weights, so boxes are many and random),
   masks made for every frame vs compute_masks off (what the node does while nobody consumes
   them). Skipped without --seg-onnx.

Not a test: prints figures (measure on a quiet machine; say so when it was not).
"""

import argparse
from pathlib import Path
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from stream_infer.detection.masks import instance_masks, label_image  # noqa: E402
from stream_infer.detection.preprocess import Geometry, letterbox_layout  # noqa: E402

INPUT = (640, 640)
PROTOTYPES = (32, 160, 160)


def geometry_for(height: int, width: int) -> Geometry:
    (new_h, new_w), (top, left) = letterbox_layout((height, width), INPUT)
    return Geometry(height, width, new_w / width, new_h / height, float(left), float(top))


def random_boxes(count: int, height: int, width: int, rng) -> np.ndarray:
    side = rng.uniform(0.05, 0.25, (count, 2)) * (width, height)
    corner = rng.uniform(0, 1, (count, 2)) * ((width, height) - side)
    return np.concatenate((corner, corner + side), axis=1).astype(np.float32)


def median_ms(work, repeat: int) -> float:
    work()  # warm: buffers, OpenCV
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def mask_costs(repeat: int) -> None:
    rng = np.random.default_rng(0)
    prototypes = rng.standard_normal(PROTOTYPES).astype(np.float32)
    print('instance masks (median ms per frame):')
    print(f'{"frame":>10} {"detections":>10} {"masks":>8} {"+ mono16 image":>15}')
    for height, width in ((576, 768), (1080, 1920)):
        geometry = geometry_for(height, width)
        for count in (5, 20, 100):
            coefficients = rng.standard_normal((count, PROTOTYPES[0])).astype(np.float32)
            boxes = random_boxes(count, height, width, rng)

            def masks():
                return instance_masks(coefficients, prototypes, boxes, geometry, INPUT)

            made = masks()
            cost = median_ms(masks, repeat)
            labels = median_ms(lambda: label_image(made, boxes), repeat)
            print(f'{width}x{height:<5} {count:>10} {cost:>8.2f} {labels:>15.2f}')


def throughput(model: Path, frames: int) -> None:
    from stream_infer import InferenceStream
    from stream_infer.bundled import bundled_clip_path

    print(f'\nthroughput on the clip, {frames} frames, {model.name}:')
    for consumed in (True, False, True, False):
        stream = InferenceStream(bundled_clip_path(), model=str(model), max_frames=frames)
        stream.detector.compute_masks = consumed
        post, boxes = [], []
        stream.on_result(lambda r: (post.append(r.timings_ms['postprocess']),
                                    boxes.append(len(r.detections))))
        start = time.perf_counter()
        stream.run()
        elapsed = time.perf_counter() - start
        stream.close()
        print(f'  masks {"consumed" if consumed else "not consumed":>12}: '
              f'{len(post) / elapsed:6.2f} frames/s, postprocess mean '
              f'{statistics.mean(post):6.2f} ms, {statistics.mean(boxes):.1f} detections/frame')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--repeat', type=int, default=20)
    parser.add_argument('--seg-onnx', type=Path, help='a YOLOv8n-seg ONNX export')
    parser.add_argument('--frames', type=int, default=60)
    args = parser.parse_args()
    mask_costs(args.repeat)
    if args.seg_onnx:
        throughput(args.seg_onnx, args.frames)
    else:
        print('\n(throughput skipped: give --seg-onnx)')


if __name__ == '__main__':
    main()
