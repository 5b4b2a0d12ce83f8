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
`stream-infer quantize MODEL -o OUT.onnx --calibration SRC`: an INT8 model and its report.

Steps: load frames of SRC and hold every k-th out; prepare them exactly as the engine does for
MODEL (Detector.prepare); equalize Conv -> Relu -> Conv pairs (equalize.py, unless
--no-equalize); calibrate once (MinMax, Entropy or Percentile); keep the decode tail
in float (float_nodes.decode_tail); then, while INT8's detections agree with fp32's below
--min-agreement on the calibration frames, keep in float the learned layer whose float version
helps most, among the last few, then blocks of the last / first 2, 4, 8 ... learned layers
(sensitivity search, at most --max-float-layers of them). The
report compares INT8 with fp32 on the held-out frames only, and times both (alternated rounds).
Below --min-agreement on the held-out frames nothing is written and the exit status is 1,
unless --force. Exit status: 0 written, 1 refused, 2 bad arguments, model or source.
"""

import argparse
from dataclasses import dataclass, field
import logging
import os
from pathlib import Path
import shutil
import sys
from typing import Callable, List, Optional, Sequence

from stream_infer.errors import StreamInferError
from stream_infer.options import PostprocessOptions
from stream_infer.quantize import agreement as agree
from stream_infer.quantize.calibrate import (
    METHODS, named_copy, quantization_metadata, Quantizer, require_onnx, temporary_directory,
    write_metadata)
from stream_infer.quantize.float_nodes import decode_tail, LEARNED_OPS
from stream_infer.quantize.frames import ACCEPTED, FrameSet, load_frames, split_frames

PROG = 'stream-infer quantize'
MIN_GAIN = 0.01  # F1 a layer kept in float must add: float layers cost speed
CONFIDENCE = PostprocessOptions().confidence  # what the detections are found at
EXIT_OK, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2


@dataclass
class Outcome:
    """What one quantize run found (the benchmark prints the same figures)."""

    frames: FrameSet
    float_nodes: List[str]
    tail: List[str]
    agreement: agree.Agreement                # held-out frames
    calibration_f1: float
    model_ms: dict = field(default_factory=dict)    # 'fp32', 'int8'
    engine_fps: dict = field(default_factory=dict)  # 'fp32', 'int8'
    trials: List[str] = field(default_factory=list)
    written: bool = False


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description='Write a static INT8 (QDQ) version of an ONNX model, '
        'calibrated on your own frames, and report how far its detections are from fp32 on '
        'held-out frames and how much faster it runs.')
    parser.add_argument('model', metavar='MODEL', help='fp32 ONNX model file')
    parser.add_argument('-o', '--output', required=True, metavar='OUT.onnx',
                        help='INT8 model to write')
    parser.add_argument('--calibration', required=True, metavar='SRC', help=ACCEPTED)
    parser.add_argument('--frames', type=int, default=60,
                        help='frames taken from SRC, spread over it (60)')
    parser.add_argument('--held-out-every', type=int, default=4, metavar='K',
                        help='every K-th frame is held out for the report, never calibrates (4)')
    parser.add_argument('--method', choices=METHODS, default='Percentile',
                        help='calibration method (Percentile: on the bundled model it agreed '
                        'better with fp32 than MinMax and Entropy)')
    parser.add_argument('--percentile', type=float, default=99.99, metavar='P',
                        help='range kept by --method Percentile (99.99)')
    parser.add_argument('--no-equalize', dest='equalize', action='store_false',
                        help='skip cross-layer equalization of Conv -> Relu -> Conv pairs before '
                        'calibrating (on by default: exact in float, it balanced the depthwise '
                        "convs' channels and raised held-out F1 on the bundled model)")
    parser.add_argument('--float-nodes', nargs='+', default=[], metavar='NODE',
                        help='more nodes to keep in float, by name')
    parser.add_argument('--max-float-layers', type=int, default=8, metavar='N',
                        help='learned layers the sensitivity search may keep in float; 0 turns '
                        'it off (8)')
    parser.add_argument('--candidates', type=int, default=4, metavar='N',
                        help='last learned layers the sensitivity search tries each time (6)')
    parser.add_argument('--min-agreement', type=float, default=0.95, metavar='F1',
                        help='refuse (exit 1, no file) below this F1 against fp32 on held-out '
                        'frames (0.95)')
    parser.add_argument('--force', action='store_true',
                        help='write the model even below --min-agreement')
    parser.add_argument('--threads', type=int, default=None,
                        help='onnxruntime intra-op threads for the checks (default: all cores)')
    parser.add_argument('--timing-rounds', type=int, default=3, metavar='N',
                        help='alternated fp32/INT8 timing rounds (3)')
    parser.add_argument('-v', '--verbose', action='store_true', help='log what happens')
    return parser


def _check(args: argparse.Namespace) -> Optional[str]:
    if args.frames < 2:
        return f'--frames must be >= 2, got {args.frames}'
    if args.held_out_every < 2:
        return f'--held-out-every must be >= 2, got {args.held_out_every}'
    if not 0.0 <= args.min_agreement <= 1.0:
        return f'--min-agreement must be within [0, 1], got {args.min_agreement}'
    if args.max_float_layers < 0 or args.candidates < 1 or args.timing_rounds < 1:
        return '--max-float-layers must be >= 0, --candidates and --timing-rounds >= 1'
    if not 50.0 < args.percentile <= 100.0:
        return f'--percentile must be within (50, 100], got {args.percentile}'
    if args.threads is not None and args.threads < 1:
        return f'--threads must be >= 1, got {args.threads}'
    if Path(args.output).resolve() == Path(args.model).resolve():
        return '-o/--output must not be the model itself'
    if not Path(args.output).resolve().parent.is_dir():
        return f'-o/--output {args.output}: its directory does not exist'
    return None


def _learned_layers(model) -> List[str]:
    """Learned layers, last first (the search's candidates, nearest to the outputs first)."""
    return [node.name for node in reversed(model.graph.node) if node.op_type in LEARNED_OPS]


class _Run:
    """One quantize run's state: the fp32 detector, frames, quantizer and trial models."""

    def __init__(self, args: argparse.Namespace, work: Path,
                 say: Callable[[str], None]) -> None:
        from stream_infer.detection import Detector
        self.args, self.work, self.say = args, work, say
        self.fp32 = Detector(args.model, threads=args.threads)
        frames = load_frames(args.calibration, args.frames)
        self.frames = split_frames(args.calibration, frames, args.held_out_every)
        self.tensors = [self.fp32.prepare(f).tensor for f in self.frames.calibration]
        self.input_name = self.fp32.session.get_inputs()[0].name
        self.named, self.equalized = named_copy(Path(args.model), work, args.equalize)
        self.quantizer = Quantizer(self.named, self.input_name, self.tensors, args.method, work,
                                   args.percentile)
        self.reference = agree.detect_all(self.fp32, self.frames.calibration)
        self.trial = 0

    def int8_detections(self, float_nodes: Sequence[str], frames: Sequence) -> tuple:
        """Quantize with these float nodes; (path, detector, its detections on frames)."""
        from stream_infer.detection import Detector
        self.trial += 1
        path = self.quantizer.quantize(self.work / f'trial_{self.trial}.onnx', float_nodes)
        detector = Detector(str(path), threads=self.args.threads)
        return path, detector, agree.detect_all(detector, frames)

    def calibration_f1(self, float_nodes: Sequence[str]) -> float:
        _, detector, detections = self.int8_detections(float_nodes, self.frames.calibration)
        detector.close()
        return agree.compare(self.reference, detections, CONFIDENCE).f1

    def search(self, float_nodes: List[str], candidates: List[str]) -> tuple:
        """
        Sensitivity search on the calibration frames, in two phases; (float nodes, F1, lines).

        Single layers: keep in float the layer (among the next --candidates, nearest to the
        outputs first) whose float version raises F1 most, while one does. Blocks: when no
        single layer helps, the error is spread over many layers; keep the last (then the first)
        2, 4, 8, ... learned layers in float together (up to --max-float-layers) until F1 is
        reached. A layer or block is kept only if it adds MIN_GAIN F1 (float costs speed).
        """
        trials: List[str] = []

        def note(line: str) -> None:
            trials.append(line)
            self.say(line)

        target, limit = self.args.min_agreement, self.args.max_float_layers
        best = self.calibration_f1(float_nodes)
        note(f'decode tail in float: F1 {best:.3f} on calibration frames')
        kept = 0
        while best < target and kept < limit:
            tried = [c for c in candidates if c not in float_nodes][:self.args.candidates]
            if not tried:
                break
            scores = {c: self.calibration_f1(float_nodes + [c]) for c in tried}
            pick = max(scores, key=scores.get)
            note('tried in float: ' + ', '.join(f'{c} {f1:.3f}' for c, f1 in scores.items()))
            if scores[pick] < best + MIN_GAIN:
                note(f'no single layer helps (by {MIN_GAIN} F1 or more)')
                break
            float_nodes, best, kept = float_nodes + [pick], scores[pick], kept + 1
            note(f'kept {pick} in float: F1 {best:.3f} on calibration frames')
        base, size = float_nodes, 2
        while best < target and kept + size <= limit:
            for end, layers in (('last', candidates), ('first', candidates[::-1])):
                block = [c for c in layers[:size] if c not in base]
                f1 = self.calibration_f1(base + block)
                note(f'{end} {size} learned layers in float: F1 {f1:.3f} on calibration frames')
                if f1 >= best + MIN_GAIN:
                    float_nodes, best = base + block, f1
            size *= 2
        return float_nodes, best, trials


def quantize_model(args: argparse.Namespace, say: Callable[[str], None] = print) -> Outcome:
    """Do the whole run; writes args.output only when agreement allows (or --force)."""
    onnx = require_onnx()
    with temporary_directory() as tmp:
        work = Path(tmp)
        run = _Run(args, work, say)
        frames = run.frames
        say(f'calibration: {len(frames.calibration)} frames of {frames.source} '
            f'({len(frames.held_out)} more held out for the report), method {args.method}, '
            'int8 per-channel weights, uint8 activations (QDQ)'
            + (f'; {run.equalized} Conv -> Relu -> Conv pairs equalized first'
               if run.equalized else ''))
        model = onnx.load(str(run.named))
        tail = decode_tail(model)
        say(f'decode tail kept in float: {len(tail)} nodes'
            + (f' ({", ".join(tail[:4])}{", ..." if len(tail) > 4 else ""})' if tail else ''))
        float_nodes = tail + [n for n in args.float_nodes if n not in tail]
        float_nodes, calibration_f1, trials = run.search(float_nodes, _learned_layers(model))
        path, int8, held = run.int8_detections(float_nodes, frames.held_out)
        fp32_held = agree.detect_all(run.fp32, frames.held_out)
        agreement = agree.compare(fp32_held, held, CONFIDENCE)
        outcome = Outcome(frames, float_nodes, tail, agreement,
                          calibration_f1, trials=trials)
        tensors = [run.fp32.prepare(f).tensor for f in frames.held_out]
        name = run.input_name
        outcome.model_ms = agree.alternated(args.timing_rounds, {
            'fp32': lambda: agree.model_ms(run.fp32.session, name, tensors),
            'int8': lambda: agree.model_ms(int8.session, name, tensors)})
        int8.close()
        run.fp32.close()
        engine_frames = (frames.held_out * (1 + 60 // len(frames.held_out)))[:60]
        outcome.engine_fps = agree.alternated(args.timing_rounds, {
            'fp32': lambda: agree.engine_fps(args.model, engine_frames, args.threads),
            'int8': lambda: agree.engine_fps(str(path), engine_frames, args.threads)})
        if outcome.agreement.f1 >= args.min_agreement or args.force:
            method = args.method + (f' {args.percentile}' if args.method == 'Percentile' else '')
            metadata = quantization_metadata(
                method, len(frames.calibration), os.path.basename(
                    os.path.normpath(frames.source)), float_nodes, outcome.agreement.summary(),
                run.equalized)
            write_metadata(path, metadata)
            shutil.move(str(path), args.output)
            outcome.written = True
    return outcome


def report(outcome: Outcome, args: argparse.Namespace) -> List[str]:
    """Return the report's lines (held-out agreement, timings, what was written)."""
    ms, fps = outcome.model_ms, outcome.engine_fps
    extra = [n for n in outcome.float_nodes if n not in outcome.tail]
    lines = [
        f'kept in float: decode tail ({len(outcome.tail)} nodes)'
        + (f' + {", ".join(extra)}' if extra else ''),
        f'held-out agreement with fp32 (IoU {agree.MATCH_IOU}, same class): '
        + outcome.agreement.summary(),
        f'model: fp32 {ms["fp32"]:.1f} ms/frame, int8 {ms["int8"]:.1f} ms/frame '
        f'({ms["fp32"] / ms["int8"]:.2f}x throughput)',
        f'engine with tracking: fp32 {fps["fp32"]:.1f} fps, int8 {fps["int8"]:.1f} fps '
        f'({fps["int8"] / fps["fp32"]:.2f}x)' if fps['fp32'] > 0 else
        'engine with tracking: no frames processed']
    f1 = outcome.agreement.f1
    if outcome.written:
        note = ' (below --min-agreement, written because of --force)' \
            if f1 < args.min_agreement else ''
        lines.append(f'wrote {args.output}{note}')
    return lines


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point of `stream-infer quantize`."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format=f'{PROG}: %(levelname)s: %(message)s', stream=sys.stderr)
    problem = _check(args)
    if problem is not None:
        print(f'{PROG}: error: {problem}', file=sys.stderr)
        return EXIT_USAGE
    try:
        outcome = quantize_model(args)
    except (StreamInferError, ValueError, OSError) as exc:
        print(f'{PROG}: error: {str(exc).splitlines()[0]}', file=sys.stderr)
        return EXIT_USAGE
    for line in report(outcome, args):
        print(line)
    if not outcome.written:
        print(f'{PROG}: error: refused: F1 {outcome.agreement.f1:.3f} against fp32 on '
              f'{outcome.agreement.frames} held-out frames is below --min-agreement '
              f'{args.min_agreement}; no file written (--force writes it anyway)',
              file=sys.stderr)
        return EXIT_REFUSED
    return EXIT_OK
