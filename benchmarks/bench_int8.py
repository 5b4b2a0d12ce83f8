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
INT8 (static QDQ, calibrated on clip frames) against fp32: agreement, model ms, engine fps.

One command, both models, the same code as `stream-infer quantize` (quantize_model):
  - the bundled CenterNet (512x512 NHWC, end2end output), calibrated on frames of the clip;
  - the YOLO-shaped benchmark model (bench_support: YOLOv8n-sized conv stack, random weights,
    [1, 84, 8400]): its detections are those of random weights, so its F1 says how well INT8
    reproduces the raw output of a deep random net, not a trained detector's accuracy.
Held-out frames (every k-th sampled frame) never calibrate. Timings: fp32 and INT8 alternate
round by round (rotating who goes first) so both see the same load; medians, ratios printed.
Nothing is written but a temporary model (--force: figures are wanted even below 0.95).

    python benchmarks/bench_int8.py                      # both models
    python benchmarks/bench_int8.py --models bundled --method Entropy
    python benchmarks/bench_int8.py --models bundled --no-equalize   # without equalization
"""

import argparse
from pathlib import Path
import sys
import tempfile

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_support import machine_line, yolov8_shaped_model  # noqa: E402, I100

from stream_infer.detection.preprocess import serial_opencv  # noqa: E402
from stream_infer.quantize.command import build_parser, quantize_model  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CLIP = ROOT / 'media' / 'vtest_clip.mp4'
FULL_CLIP = ROOT.parent / 'shared' / 'media' / 'vtest.avi'


def _args(model: Path, out: Path, source: Path, cli: argparse.Namespace, frames: int,
          float_layers: int) -> argparse.Namespace:
    argv = [str(model), '-o', str(out), '--calibration', str(source), '--frames', str(frames),
            '--held-out-every', str(cli.held_out_every), '--method', cli.method,
            '--max-float-layers', str(float_layers), '--candidates', str(cli.candidates),
            '--timing-rounds', str(cli.rounds), '--force']
    if cli.threads:
        argv += ['--threads', str(cli.threads)]
    if not cli.equalize:
        argv.append('--no-equalize')
    return build_parser().parse_args(argv)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--models', nargs='+', choices=('bundled', 'yolo'),
                        default=['bundled', 'yolo'])
    parser.add_argument('--method', default='Percentile',
                        choices=('MinMax', 'Entropy', 'Percentile'))
    parser.add_argument('--frames', type=int, default=48, help='bundled model frames (48)')
    parser.add_argument('--yolo-frames', type=int, default=12, help='YOLO-shaped frames (12)')
    parser.add_argument('--held-out-every', type=int, default=3)
    parser.add_argument('--float-layers', type=int, default=16,
                        help='--max-float-layers of the bundled model (16)')
    parser.add_argument('--candidates', type=int, default=4)
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--no-equalize', dest='equalize', action='store_false',
                        help="the command's --no-equalize (cross-layer equalization off)")
    parser.add_argument('--threads', type=int, default=None)
    cli = parser.parse_args()
    serial_opencv()
    source = FULL_CLIP if FULL_CLIP.exists() else CLIP
    print(f'machine: {machine_line()}')
    print(f'calibration source: {source.name}, method {cli.method}, every '
          f'{cli.held_out_every}th sampled frame held out')
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        models = {'bundled': (ROOT / 'models' / 'centernet_mbv3_coco80.onnx', cli.frames,
                              cli.float_layers)}
        if 'yolo' in cli.models:
            models['yolo'] = (yolov8_shaped_model(work / 'yolo_shaped.onnx')[0],
                              cli.yolo_frames, 0)
        for name in cli.models:
            model, frames, layers = models[name]
            print(f'\n== {name}: {model.name}')
            outcome = quantize_model(_args(model, work / f'{name}_int8.onnx', source, cli,
                                           frames, layers), say=lambda line: print('  ' + line))
            extra = [n for n in outcome.float_nodes if n not in outcome.tail]
            print(f'  kept in float: decode tail ({len(outcome.tail)} nodes)'
                  + (f' + {", ".join(extra)}' if extra else ''))
            rows.append((name, outcome))
    print('\n| model | calib / held-out frames | F1 | precision | recall | mean IoU | score '
          'shift | model ms fp32 / int8 | model speed-up | engine fps fp32 / int8 | engine '
          'speed-up |')
    print('|---|---|---|---|---|---|---|---|---|---|---|')
    for name, o in rows:
        a, ms, fps = o.agreement, o.model_ms, o.engine_fps
        print(f'| {name} | {len(o.frames.calibration)} / {len(o.frames.held_out)} | '
              f'{a.f1:.3f} | {a.precision:.3f} | {a.recall:.3f} | {a.mean_iou:.3f} | '
              f'{a.score_shift:+.3f} (abs {a.abs_score_shift:.3f}) | {ms["fp32"]:.1f} / '
              f'{ms["int8"]:.1f} | {ms["fp32"] / ms["int8"]:.2f}x | {fps["fp32"]:.1f} / '
              f'{fps["int8"]:.1f} | {fps["int8"] / fps["fp32"]:.2f}x |')
    print(f'machine after: {machine_line()}')


if __name__ == '__main__':
    main()
