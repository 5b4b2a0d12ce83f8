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
Engine benchmark on the bundled clip and model (prints figures; not a test).

1. Throughput, enforce_fps off: the engine (decode + preprocess on the capture thread, model +
   postprocess on the inference thread, tracking + callbacks on the delivery thread) against
   the raw model loop (session.run on frames preprocessed beforehand) with the same onnxruntime
   session, alternating rounds in the same run. Target: engine >= 0.95 x raw. With the model on
   every core (onnxruntime's default) the engine's own CPU work (decode, preprocess, tracking)
   competes with it; --threads 1 leaves a core free and shows what the pipelining hides.
2. Latency, enforce_fps on (the clip played in real time like a camera): frame age at delivery
   (capture -> callbacks), p50/p99. Target: p99 <= 1.3 x model time + one frame interval.

Run: python benchmarks/bench_stream.py [--threads N] [--rounds 3] [--skip-realtime]
"""

import argparse
import statistics
import time

import cv2
import numpy as np

from stream_infer.bundled import bundled_clip_path
from stream_infer.detection import Detector
from stream_infer.stream import InferenceStream


def load_frames(path, limit=None):
    capture = cv2.VideoCapture(str(path))
    frames = []
    while limit is None or len(frames) < limit:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    fps = capture.get(cv2.CAP_PROP_FPS) or 10.0
    capture.release()
    return frames, fps


def raw_model_fps(detector, tensors):
    """session.run over preprocessed tensors: the model alone (what the engine can reach)."""
    session = detector.session  # the same session the engine uses
    feed = session.get_inputs()[0].name
    names = [next(o.name for o in session.get_outputs() if len(o.shape) in (2, 3))]
    start = time.perf_counter()
    for tensor in tensors:
        session.run(names, {feed: tensor})
    elapsed = time.perf_counter() - start
    return len(tensors) / elapsed, elapsed / len(tensors) * 1000.0


def engine_fps(detector, clip, frames, track=True):
    """Run the engine over the clip as fast as possible; frames/s from start to the end."""
    stream = InferenceStream(clip, detector, track=track, max_frames=frames)
    times = []
    stream.on_result(lambda r: times.append(time.perf_counter()))
    start = time.perf_counter()
    stats = stream.run()
    elapsed = time.perf_counter() - start
    steady = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0
    return stats.frames_processed / elapsed, steady, stats


def realtime_ages(detector, clip, frames):
    stream = InferenceStream(clip, detector, enforce_fps=True, max_frames=frames)
    ages = []
    stream.on_result(lambda r: ages.append(r.age_ms))
    stats = stream.run()
    return np.asarray(ages), stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument('--threads', type=int, default=None,
                        help='onnxruntime intra-op threads (default: the Detector default)')
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--frames', type=int, default=200, help='frames per throughput round')
    parser.add_argument('--realtime-frames', type=int, default=200)
    parser.add_argument('--skip-realtime', action='store_true')
    parser.add_argument('--no-track', action='store_true')
    args = parser.parse_args()

    clip = bundled_clip_path()
    frames, clip_fps = load_frames(clip, args.frames)
    detector = Detector(None, threads=args.threads)
    tensors = [detector.prepare(frame).tensor for frame in frames]
    decode_start = time.perf_counter()
    load_frames(clip, args.frames)
    decode_ms = (time.perf_counter() - decode_start) * 1000.0 / len(frames)
    print(f'clip: {len(frames)} frames {frames[0].shape[1]}x{frames[0].shape[0]} at {clip_fps:g} '
          f'fps; model on {detector.provider}, threads {args.threads or "default"}')
    print(f'decode {decode_ms:.2f} ms/frame (work the engine does and the raw loop does not, '
          'with preprocessing and tracking: it overlaps the model only where a core is free)')
    raw_runs, engine_runs, steady_runs, model_ms = [], [], [], []
    for round_index in range(args.rounds):
        raw, per_frame = raw_model_fps(detector, tensors)
        overall, steady, stats = engine_fps(detector, clip, len(frames), not args.no_track)
        raw_runs.append(raw)
        model_ms.append(per_frame)
        engine_runs.append(overall)
        steady_runs.append(steady)
        lat = stats.latency_ms
        print(f'round {round_index + 1}: raw model {raw:.2f} fps ({per_frame:.1f} ms) | engine '
              f'{overall:.2f} fps overall, {steady:.2f} steady | engine stages p50: infer '
              f'{lat["infer"].p50:.1f}, postprocess {lat["postprocess"].p50:.2f}, track '
              f'{lat["track"].p50:.2f}, preprocess {lat["preprocess"].p50:.2f} ms; dropped '
              f'{stats.frames_dropped}')
    raw, engine = statistics.median(raw_runs), statistics.median(engine_runs)
    print(f'THROUGHPUT raw model {raw:.2f} fps, engine {engine:.2f} fps overall '
          f'({statistics.median(steady_runs):.2f} steady): ratio {engine / raw:.3f} '
          f'(target >= 0.95)')
    if args.skip_realtime:
        return
    model = statistics.median(model_ms)
    ages, stats = realtime_ages(detector, clip, args.realtime_frames)
    p50, p99 = np.percentile(ages, (50, 99))
    target = 1.3 * model + 1000.0 / clip_fps
    print(f'LATENCY enforce_fps on, {len(ages)} frames delivered, {stats.frames_dropped} '
          f'dropped: age p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {ages.max():.1f} ms; target '
          f'p99 <= 1.3 x {model:.1f} + {1000.0 / clip_fps:.0f} = {target:.1f} ms '
          f'({"met" if p99 <= target else "NOT met"})')
    detector.close()


if __name__ == '__main__':
    main()
