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
Detector cost per frame: preprocess / infer / postprocess, against the model's own run time.

Runs on real frames of the bundled clip with
  - the bundled CenterNet model (512x512 NHWC, end2end output);
  - a 640x640 YOLOv8-shaped model ([1, 84, 8400]): an ultralytics export given with --yolo-onnx
    (e.g. `YOLO('yolov8n.yaml').export(format='onnx')`, random weights, made offline in a
    separate venv), else bench_support's: a stack of 3x3 convs with SiLU, about the compute
    of YOLOv8n (~8.7 GFLOPs), random weights, heads reshaped and concatenated to [1, 84, 8400].
Random weights give random scores, so postprocess is also timed with a confidence that lets a
given number of candidates through (--candidates), the regime of a real model on a busy frame,
and with every anchor passing (confidence 0), the worst case.

The target: preprocess + postprocess <= 15 % of the model's own time (session.run alone on the
same tensor). Not a test: prints a table.
"""

import argparse
from pathlib import Path
import statistics
import sys
import tempfile
import time

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_support import yolov8_shaped_model  # noqa: E402, I100

from stream_infer.bundled import bundled_clip_path  # noqa: E402
from stream_infer.detection import Detector  # noqa: E402
from stream_infer.detection.output_decoding import decode  # noqa: E402
from stream_infer.options import PostprocessOptions  # noqa: E402


def raw_run(detector: Detector):
    """session.run on a prepared tensor, fetching the output the detector decodes."""
    session = detector.session
    feed = session.get_inputs()[0].name
    output = next(o.name for o in session.get_outputs() if len(o.shape) in (2, 3))
    return lambda tensor: session.run([output], {feed: tensor})[0]


def read_frames(count: int) -> list:
    capture = cv2.VideoCapture(str(bundled_clip_path()))
    frames = []
    while len(frames) < count:
        ok, frame = capture.read()
        if not ok:
            capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
            continue
        frames.append(frame)
    capture.release()
    return frames


def confidence_for(detector: Detector, tensor: np.ndarray, candidates: int) -> float:
    """Find the confidence that lets about `candidates` anchors of this output through."""
    raw = raw_run(detector)(tensor)
    scores = decode(raw, detector.layout, 0.0).scores
    if candidates >= len(scores):
        return 0.0
    return float(np.sort(scores)[::-1][candidates - 1])


def measure(detector: Detector, frames: list, opts: PostprocessOptions, repeats: int) -> dict:
    """Median ms per stage over frames x repeats, with session.run alone on the same tensor."""
    pre, infer, post, raw, counts = [], [], [], [], []
    run_model = raw_run(detector)
    for _ in range(repeats):
        for frame in frames:
            prepared = detector.prepare(frame)
            result = detector.run(prepared, opts)
            start = time.perf_counter()
            run_model(prepared.tensor)
            raw.append((time.perf_counter() - start) * 1000)
            pre.append(result.timings_ms['preprocess'])
            infer.append(result.timings_ms['infer'])
            post.append(result.timings_ms['postprocess'])
            counts.append(len(result.detections))
    return {'preprocess': statistics.median(pre), 'infer': statistics.median(infer),
            'postprocess': statistics.median(post), 'session_run': statistics.median(raw),
            'detections': statistics.median(counts)}


def postprocess_only(detector: Detector, frames: list, opts: PostprocessOptions,
                     repeats: int) -> tuple:
    """Median postprocess ms (decode -> Detections) on stored raw outputs; median candidates."""
    stored, candidates = [], []
    for frame in frames[:10]:
        prepared = detector.prepare(frame)
        raw = raw_run(detector)(prepared.tensor)
        stored.append((prepared, raw))
        candidates.append(len(decode(raw, detector.layout, opts.confidence)))
    times = []
    for _ in range(repeats):
        for prepared, raw in stored:
            start = time.perf_counter()
            found = decode(raw, detector.layout, opts.confidence, opts.max_candidates)
            detector._to_detections(found, None, prepared.geometry, opts)
            times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), int(statistics.median(candidates))


def print_row(name: str, m: dict) -> None:
    overhead = m['preprocess'] + m['postprocess']
    share = 100 * overhead / m['session_run']
    print(f'{name:<46} {m["preprocess"]:>7.2f} {m["infer"]:>7.2f} {m["postprocess"]:>7.2f} '
          f'{m["session_run"]:>8.2f} {share:>7.1f}%  {m["detections"]:>5.0f}'
          f'  {"OK" if share <= 15 else "OVER 15%"}')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--frames', type=int, default=40, help='clip frames to use')
    parser.add_argument('--repeats', type=int, default=2)
    parser.add_argument('--threads', type=int, default=2, help='onnxruntime intra-op threads')
    parser.add_argument('--yolo-onnx', type=Path, default=None,
                        help='an ultralytics YOLOv8 ONNX export (else one is generated)')
    parser.add_argument('--candidates', type=int, default=300,
                        help='candidates let through in the busy-frame postprocess case')
    args = parser.parse_args()
    frames = read_frames(args.frames)
    print(f'{args.frames} frames of {bundled_clip_path().name} ({frames[0].shape[1]}x'
          f'{frames[0].shape[0]}), onnxruntime threads={args.threads}, medians in ms\n')
    header = (f'{"model":<46} {"pre":>7} {"infer":>7} {"post":>7} {"sess.run":>8} '
              f'{"pre+post":>8} {"dets":>5}')
    print(header + '\n' + '-' * len(header))

    bundled = Detector(threads=args.threads)
    print_row('bundled CenterNet 512 (conf 0.3)',
              measure(bundled, frames, PostprocessOptions(), args.repeats))

    with tempfile.TemporaryDirectory() as tmp:
        if args.yolo_onnx is not None:
            path, label = args.yolo_onnx, f'{args.yolo_onnx.name} 640'
        else:
            path, gflops = yolov8_shaped_model(Path(tmp) / 'yolov8_shaped.onnx')
            label = f'generated YOLOv8-shape {gflops:.1f} GFLOPs'
        yolo = Detector(path, threads=args.threads)
        assert yolo.layout.name == 'yolov8', yolo.layout
        m = measure(yolo, frames, PostprocessOptions(), args.repeats)
        print_row(f'{label} (conf 0.3)', m)
        tensor = yolo.prepare(frames[0]).tensor
        busy = confidence_for(yolo, tensor, args.candidates)
        print_row(f'  same, {args.candidates} candidates (conf {busy:.3f})',
                  measure(yolo, frames, PostprocessOptions(confidence=busy), args.repeats))
        print_row('  same, all 8400 anchors (conf 0)',
                  measure(yolo, frames, PostprocessOptions(confidence=0.0), args.repeats))
        print('\npostprocess alone on stored outputs (decode -> Detections):')
        for conf, what in ((0.3, 'conf 0.3'), (busy, f'{args.candidates} candidates'),
                           (0.0, 'all anchors')):
            ms, count = postprocess_only(yolo, frames, PostprocessOptions(confidence=conf),
                                         args.repeats * 5)
            print(f'  YOLOv8-shape, {what:<16} {ms:6.2f} ms  ({count} anchors pass the '
                  'threshold)')
        ms, count = postprocess_only(bundled, frames, PostprocessOptions(), args.repeats * 5)
        print(f'  bundled CenterNet, conf 0.3    {ms:6.2f} ms  ({count} candidates)')
        yolo.close()
    print('\npre+post = (preprocess + postprocess) / session.run alone; target <= 15 %.')


if __name__ == '__main__':
    main()
