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
Many sources, one model: throughput, fairness, memory and frame age (prints tables; not a test).

1. Throughput, bundled model (fixed batch 1: round-robin), 1, 2 and 4 copies of the bundled clip
   looping as fast as possible: total frames/s through the model against one source (target
   >= 0.95x) and the per-source spread (slowest / fastest source, target >= 0.9). Also the
   process CPU time per delivered frame (all threads: decode, preprocess, model, tracking),
   which other users of a shared machine disturb far less than frames/s.
2. Batching: a MobileNet-like model with a dynamic batch axis, built here (416x416, about the
   bundled model's cost), 1 source against 4 sources one frame per run (max_batch 1) and 4
   sources batched: total frames/s, CPU per frame and frames per model run (target > 1.0x
   where batching helps); on the CPU, and on a simulated accelerator (the same session with
   its runs replaced by a sleep of 20 ms + 2 ms per frame: what a GPU's batch run costs).
3. Memory: one process with 4 sources against 4 processes with 1 source each, all running at
   once (the way one-node-per-camera deploys): RSS and PSS (shared pages split between the
   processes that share them), summed. Target <= 0.4x.
4. Frame age with paced sources (the clip in real time, like cameras): p50/p99 per source.

The machine may be shared and noisy: configurations are interleaved round by round, each
round's figures are printed, and the summary takes medians.

Run: python benchmarks/bench_multi_source.py [--rounds 3] [--seconds 6] [--threads N]
     [--skip-batching] [--skip-memory] [--skip-paced]
"""

import argparse
import json
import os
from pathlib import Path
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from node_process import process_memory
import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto

from stream_infer.bundled import bundled_clip_path
from stream_infer.detection import Detector
from stream_infer.stream import InferenceStream

WARMUP_S = 1.0  # results of the first second of each run are not counted
COUNTS = (1, 2, 4)


def mobilenet_like_model(path: Path, size: int = 416,
                         widths: tuple = (48, 96, 192, 384, 768)) -> Path:
    """
    Write a MobileNet-like detector with a dynamic batch axis; return path.

    Per stage: 3x3 stride-2 conv, depthwise 3x3, pointwise 1x1 (random weights); an end2end
    head [batch, cells, 6] with sigmoid scores on a fixed grid of boxes, so postprocessing has
    real work. About the bundled model's cost per frame at batch 1.
    """
    rng = np.random.default_rng(0)
    nodes, initializers = [], []

    def const(name, value):
        initializers.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    x, channels = 'images', 3
    for k, width in enumerate(widths):
        def weights(*shape):
            return (rng.standard_normal(shape) * 0.1).astype(np.float32)
        nodes += [
            helper.make_node('Conv', [x, const(f'w{k}', weights(width, channels, 3, 3))],
                             [f'conv{k}'], strides=[2, 2], pads=[1, 1, 1, 1]),
            helper.make_node('Relu', [f'conv{k}'], [f'relu{k}']),
            helper.make_node('Conv', [f'relu{k}', const(f'dw{k}', weights(width, 1, 3, 3))],
                             [f'depthwise{k}'], group=width, pads=[1, 1, 1, 1]),
            helper.make_node('Conv', [f'depthwise{k}',
                                      const(f'pw{k}', weights(width, width, 1, 1))],
                             [f'pointwise{k}']),
            helper.make_node('Relu', [f'pointwise{k}'], [f'stage{k}']),
        ]
        x, channels = f'stage{k}', width
    stride = 2 ** len(widths)
    side = size // stride
    cells = side * side
    grid = np.stack(np.meshgrid(np.arange(side), np.arange(side)), -1).reshape(-1, 2) * stride
    boxes = np.concatenate([grid, grid + stride], 1).astype(np.float32)[None]
    classes = (np.arange(cells) % 80).astype(np.float32).reshape(1, cells, 1)
    nodes += [
        helper.make_node('Conv', [x, const('head', (rng.standard_normal((1, channels, 1, 1))
                                                    * 0.1).astype(np.float32))], ['logits']),
        helper.make_node('Reshape', ['logits', const('rows', np.array([-1, cells, 1],
                                                                      np.int64))], ['flat']),
        helper.make_node('Sigmoid', ['flat'], ['score']),
        helper.make_node('Mul', ['score', const('zero', np.array(0, np.float32))], ['zeros']),
        helper.make_node('Add', ['zeros', const('boxes', boxes)], ['xyxy']),
        helper.make_node('Add', ['zeros', const('classes', classes)], ['class_id']),
        helper.make_node('Concat', ['xyxy', 'score', 'class_id'], ['detections'], axis=2),
    ]
    graph = helper.make_graph(
        nodes, 'mobilenet_like',
        [helper.make_tensor_value_info('images', TensorProto.FLOAT, ['batch', 3, size, size])],
        [helper.make_tensor_value_info('detections', TensorProto.FLOAT, ['batch', cells, 6])],
        initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


class AcceleratorSession:
    """
    The model's session with its run() off the CPU, as on an accelerator that takes a batch.

    A run of B frames sleeps (GIL released) base_ms + per_frame_ms * B, as a GPU's batch run
    costs little more than one frame's, and returns the model's real output for a black frame,
    once per row: what batching is for, measured on a machine without an accelerator.
    """

    def __init__(self, session, base_ms: float, per_frame_ms: float) -> None:
        self._session = session
        self.base_s, self.per_frame_s = base_ms / 1000.0, per_frame_ms / 1000.0
        shape = [1, *session.get_inputs()[0].shape[1:]]
        self._row = session.run(None, {session.get_inputs()[0].name: np.zeros(shape, np.float32)})

    def __getattr__(self, name):
        return getattr(self._session, name)  # inputs, outputs, metadata, providers

    def run(self, names, feed):
        batch = len(next(iter(feed.values())))
        time.sleep(self.base_s + self.per_frame_s * batch)
        return [np.repeat(out, batch, axis=0) for out in self._row]


def timed_run(detector, count, seconds, enforce_fps=False, max_batch=None):
    """
    Run count copies of the clip (looping) for WARMUP_S + seconds; count what each delivered.

    Returns (per-source results in the window, per-source ages in ms, per-source stats, frames
    per model run, process CPU ms per frame delivered in the window).
    """
    clip = bundled_clip_path()
    kwargs = {'model': detector, 'loop': True, 'enforce_fps': enforce_fps, 'max_batch': max_batch}
    if count == 1:
        stream = InferenceStream(clip, **kwargs)
    else:
        stream = InferenceStream(sources=[clip] * count, **kwargs)
    arrivals = [[] for _ in range(count)]
    ages = [[] for _ in range(count)]

    def on_result(result):
        arrivals[result.source_index].append(time.monotonic())
        ages[result.source_index].append(result.age_ms)
    stream.on_result(on_result)
    start = time.monotonic()
    stream.start()
    time.sleep(WARMUP_S)
    cpu_start = time.process_time()
    time.sleep(seconds)
    cpu_s = time.process_time() - cpu_start
    stream.stop()
    low, high = start + WARMUP_S, start + WARMUP_S + seconds
    counted = [sum(low <= t <= high for t in times) for times in arrivals]
    cpu_ms = cpu_s * 1000.0 / max(sum(counted), 1)
    window_ages = [np.asarray([a for t, a in zip(times, source_ages) if low <= t <= high])
                   for times, source_ages in zip(arrivals, ages)]
    per_run = stream.stats().frames_processed / max(stream.model_runs, 1)
    return counted, window_ages, list(stream.stats_by_source().values()), per_run, cpu_ms


def throughput(detector, seconds, rounds, configs, label):
    """Interleave configs round by round; print each round; return the figures by config."""
    figures = {key: {config: [] for config in configs}
               for key in ('fps', 'spread', 'per_run', 'cpu_ms')}
    for round_index in range(rounds):
        line = []
        for config in configs:
            count, max_batch = config
            counted, _, _, frames_per_run, cpu_ms = timed_run(detector, count, seconds,
                                                              max_batch=max_batch)
            total = sum(counted) / seconds
            figures['fps'][config].append(total)
            figures['spread'][config].append(min(counted) / max(max(counted), 1))
            figures['per_run'][config].append(frames_per_run)
            figures['cpu_ms'][config].append(cpu_ms)
            line.append(f'{describe(config)} {total:.1f} fps {counted} {cpu_ms:.0f} ms CPU')
        print(f'  {label} round {round_index + 1}: ' + ' | '.join(line), flush=True)
    return figures


def describe(config):
    count, max_batch = config
    text = f'{count} source' + ('s' if count > 1 else '')
    return text + (f' max_batch {max_batch}' if max_batch else '')


def print_throughput_table(title, figures):
    fps, cpu_ms = figures['fps'], figures['cpu_ms']
    first = next(iter(fps))
    ratios = {config: [f / b for f, b in zip(fps[config], fps[first])] for config in fps}
    cpu_ratios = {config: [b / c for c, b in zip(cpu_ms[config], cpu_ms[first])]
                  for config in fps}
    print(f'\n{title}')
    print(f'  {"sources":<24} {"total fps":>9} {"vs 1 source":>11} {"slowest/fastest":>15} '
          f'{"frames/run":>10} {"CPU ms/frame":>12} {"CPU vs 1":>8}')
    for config in fps:
        print(f'  {describe(config):<24} {statistics.median(fps[config]):9.1f} '
              f'{statistics.median(ratios[config]):10.2f}x '
              f'{statistics.median(figures["spread"][config]):15.2f} '
              f'{statistics.median(figures["per_run"][config]):10.2f} '
              f'{statistics.median(cpu_ms[config]):12.1f} '
              f'{statistics.median(cpu_ratios[config]):7.2f}x')
    print('  (vs 1 source: median of the per-round ratios; CPU vs 1: how many times fewer CPU '
          'ms per frame than one source)')


# ---------------------------------------------------------------------------- memory
def child(count, seconds, threads):
    """One measured process: count sources looping for seconds; print its memory as JSON."""
    detector = Detector(None, threads=threads)
    clip = bundled_clip_path()
    stream = (InferenceStream(clip, detector, loop=True) if count == 1 else
              InferenceStream(sources=[clip] * count, model=detector, loop=True))
    stream.start()
    time.sleep(seconds)
    rss, pss = process_memory()
    frames = stream.stats().frames_processed
    stream.stop()
    print(json.dumps({'rss': rss, 'pss': pss, 'frames': frames}), flush=True)


def spawn(count, seconds, threads):
    command = [sys.executable, __file__, '--child', str(count), '--seconds', str(seconds)]
    if threads:
        command += ['--threads', str(threads)]
    return subprocess.Popen(command, stdout=subprocess.PIPE, text=True)


def collect(process):
    out, _ = process.communicate(timeout=300)
    return json.loads(out.strip().splitlines()[-1])


def memory(seconds, rounds, threads):
    """One process with 4 sources vs 4 processes at once; medians over rounds."""
    one, separate, single = [], [], []
    for round_index in range(rounds):
        shared = collect(spawn(4, seconds, threads))
        apart = [collect(p) for p in [spawn(1, seconds, threads) for _ in range(4)]]
        alone = collect(spawn(1, seconds, threads))
        one.append(shared)
        separate.append({'rss': sum(a['rss'] for a in apart),
                         'pss': sum(a['pss'] for a in apart)})
        single.append(alone)
        each = ', '.join('{:.0f}'.format(a['pss']) for a in apart)
        print(f'  memory round {round_index + 1}: one process, 4 sources: RSS '
              f'{shared["rss"]:.0f} MiB, PSS {shared["pss"]:.0f} | 4 processes at once: RSS '
              f'{separate[-1]["rss"]:.0f} MiB, PSS {separate[-1]["pss"]:.0f} ({each}) | '
              f'1 process, 1 source: RSS {alone["rss"]:.0f}, PSS {alone["pss"]:.0f}',
              flush=True)
    print('\nMEMORY (MiB, medians)')
    for key in ('rss', 'pss'):
        shared = statistics.median(m[key] for m in one)
        apart = statistics.median(m[key] for m in separate)
        alone = statistics.median(m[key] for m in single)
        print(f'  {key.upper()}: one process with 4 sources {shared:.0f}, 4 processes with 1 '
              f'source {apart:.0f}: ratio {shared / apart:.2f} (target <= 0.4); one process '
              f'with 1 source {alone:.0f}')


# ---------------------------------------------------------------------------- paced ages
def paced(detector, seconds, model_ms):
    print('\nFRAME AGE, paced sources (the 10 fps clip played in real time, like cameras)')
    print(f'  {"sources":<10} {"source":>6} {"fps":>6} {"dropped":>8} {"age p50":>8} '
          f'{"age p99":>8}   (ms)')
    for count in COUNTS:
        counted, ages, stats, _, _ = timed_run(detector, count, seconds, enforce_fps=True)
        for index, (done, age, one) in enumerate(zip(counted, ages, stats)):
            p50, p99 = np.percentile(age, (50, 99)) if len(age) else (0.0, 0.0)
            print(f'  {count:<10} {index:>6} {done / seconds:6.1f} {one.frames_dropped:8d} '
                  f'{p50:8.1f} {p99:8.1f}')
        print(f'  {count:<10} {"all":>6} {sum(counted) / seconds:6.1f} '
              f'{sum(one.frames_dropped for one in stats):8d}   (one model run '
              f'{model_ms:.0f} ms; round-robin: a frame waits for at most {count} runs)')


def model_ms_of(detector):
    frame = np.zeros((576, 768, 3), np.uint8)
    prepared = detector.prepare(frame)
    detector.run(prepared)
    start = time.perf_counter()
    for _ in range(10):
        detector.run(prepared)
    return (time.perf_counter() - start) * 100.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--seconds', type=float, default=6.0,
                        help='measured seconds per configuration (after 1 s of warm-up)')
    parser.add_argument('--threads', type=int, default=None,
                        help='onnxruntime intra-op threads (default: all cores)')
    parser.add_argument('--skip-batching', action='store_true')
    parser.add_argument('--skip-memory', action='store_true')
    parser.add_argument('--skip-paced', action='store_true')
    parser.add_argument('--child', type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.seconds, args.threads)
        return
    detector = Detector(None, threads=args.threads)
    model_ms = model_ms_of(detector)
    print(f'{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; bundled model on '
          f'{detector.provider}, threads {args.threads or "default"}: {model_ms:.1f} ms per '
          f'frame; {args.rounds} rounds of {args.seconds:g} s per configuration', flush=True)
    figures = throughput(detector, args.seconds, args.rounds, [(n, None) for n in COUNTS],
                         'bundled')
    print_throughput_table('THROUGHPUT, bundled model (batch 1: round-robin), clip looping as '
                           'fast as possible (medians)', figures)
    if not args.skip_batching:
        with tempfile.TemporaryDirectory() as folder:
            batched = Detector(mobilenet_like_model(Path(folder) / 'mobilenet_like.onnx'),
                               threads=args.threads)
            print(f'\nMobileNet-like dynamic-batch model: {model_ms_of(batched):.1f} ms per '
                  'frame alone', flush=True)
            figures = throughput(batched, args.seconds, args.rounds,
                                 [(1, None), (4, 1), (4, None)], 'batching')
            print_throughput_table('BATCHING, MobileNet-like model with a dynamic batch '
                                   '(medians)', figures)
            simulated = Detector(session=AcceleratorSession(batched.session, 20.0, 2.0))
            print('\nthe same model on a simulated accelerator: a run of B frames takes '
                  '20 ms + 2 ms x B off the CPU', flush=True)
            figures = throughput(simulated, args.seconds, args.rounds,
                                 [(1, None), (4, 1), (4, None)], 'accelerator')
            print_throughput_table('BATCHING on a simulated accelerator (medians)', figures)
    if not args.skip_memory:
        print(flush=True)
        memory(max(args.seconds, 4.0), args.rounds, args.threads)
    if not args.skip_paced:
        paced(detector, args.seconds, model_ms)
    detector.close()


if __name__ == '__main__':
    threading.current_thread().name = 'bench'
    main()
