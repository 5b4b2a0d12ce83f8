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
    separate venv), else one generated here: a stack of 3x3 convs with SiLU, about the compute
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


def conv(nodes: list, inits: list, name: str, x: str, cin: int, cout: int, stride: int,
         rng: np.random.Generator, kernel: int = 3, act: bool = True) -> str:
    from onnx import numpy_helper, helper
    w = (rng.standard_normal((cout, cin, kernel, kernel)) * np.sqrt(2.0 / (cin * kernel * kernel))
         ).astype(np.float32)
    inits += [numpy_helper.from_array(w, f'{name}_w'),
              numpy_helper.from_array(np.zeros(cout, np.float32), f'{name}_b')]
    pad = kernel // 2
    nodes.append(helper.make_node('Conv', [x, f'{name}_w', f'{name}_b'], [f'{name}_c'],
                                  strides=[stride, stride], pads=[pad] * 4))
    if not act:
        return f'{name}_c'
    nodes.append(helper.make_node('Sigmoid', [f'{name}_c'], [f'{name}_s']))
    nodes.append(helper.make_node('Mul', [f'{name}_c', f'{name}_s'], [f'{name}_y']))
    return f'{name}_y'


def yolov8_shaped_model(path: Path, seed: int = 0) -> tuple:
    """Write a YOLOv8n-sized conv stack with a [1, 84, 8400] output; returns (path, GFLOPs)."""
    import onnx
    from onnx import helper, numpy_helper, TensorProto
    rng = np.random.default_rng(seed)
    nodes, inits = [], []
    flops = 0
    # (out channels, stride, repeats at that resolution) for each stage, 640 -> 20.
    stages = [(16, 2, 0), (32, 2, 2), (64, 2, 4), (128, 2, 4), (256, 2, 3)]
    x, cin, size, feats = 'images', 3, 640, []
    for i, (cout, stride, repeats) in enumerate(stages):
        size //= stride
        x = conv(nodes, inits, f's{i}', x, cin, cout, stride, rng)
        flops += 2 * cin * cout * 9 * size * size
        cin = cout
        for r in range(repeats):
            x = conv(nodes, inits, f's{i}r{r}', x, cin, cin, 1, rng)
            flops += 2 * cin * cin * 9 * size * size
        if size in (80, 40, 20):
            feats.append((x, cin, size))
    heads = []
    for j, (feat, channels, size) in enumerate(feats):
        y = conv(nodes, inits, f'h{j}', feat, channels, 84, 1, rng, kernel=1, act=False)
        flops += 2 * channels * 84 * size * size
        inits.append(numpy_helper.from_array(np.array([1, 84, -1], np.int64), f'h{j}_shape'))
        nodes.append(helper.make_node('Reshape', [y, f'h{j}_shape'], [f'h{j}_flat']))
        heads.append(f'h{j}_flat')
    nodes.append(helper.make_node('Concat', heads, ['raw'], axis=2))
    # Boxes: sigmoid * 640 (cx, cy, w, h in pixels). Classes: the random head's logits are
    # tiny (~0.05); scaled by 22 and shifted by -7, some 60-180 anchors per clip frame score
    # above 0.3, like a real model on a busy scene.
    inits += [numpy_helper.from_array(np.array([4, 80], np.int64), 'split_sizes'),
              numpy_helper.from_array(np.array(640.0, np.float32), 'px'),
              numpy_helper.from_array(np.array(22.0, np.float32), 'logit_gain'),
              numpy_helper.from_array(np.array(-7.0, np.float32), 'logit_bias')]
    nodes += [helper.make_node('Split', ['raw', 'split_sizes'], ['box_raw', 'cls_raw'], axis=1),
              helper.make_node('Sigmoid', ['box_raw'], ['box_unit']),
              helper.make_node('Mul', ['box_unit', 'px'], ['boxes']),
              helper.make_node('Mul', ['cls_raw', 'logit_gain'], ['cls_gain']),
              helper.make_node('Add', ['cls_gain', 'logit_bias'], ['cls_logits']),
              helper.make_node('Sigmoid', ['cls_logits'], ['scores']),
              helper.make_node('Concat', ['boxes', 'scores'], ['output0'], axis=1)]
    graph = helper.make_graph(
        nodes, 'yolov8_shaped',
        [helper.make_tensor_value_info('images', TensorProto.FLOAT, [1, 3, 640, 640])],
        [helper.make_tensor_value_info('output0', TensorProto.FLOAT, [1, 84, 8400])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 17)])
    model.ir_version = 8
    for key, value in {'imgsz': '[640, 640]', 'stride': '32', 'task': 'detect'}.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(model, str(path))
    return path, flops / 1e9


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
