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
Capture benchmark on the bundled clip and model (prints figures; not a test).

1. Throughput with capture on, keeping 1 frame per second (rule random, min_interval_s 1, no
   caps), against capture off: the engine over the clip as fast as possible, in pairs of runs
   (off, on; the order alternates) with one shared model; the median of the pairs' ratios.
   Target: on >= 0.97 x off. On a shared, loaded machine the runs' own spread dwarfs the
   difference, so 2. and 3. also measure what capture costs in CPU time (thread_time: what the
   threads themselves used, whatever else runs) and turn it into a share of the stream's time.
2. The cost on the delivery thread: CaptureSink.__call__ per frame (rules, caps, and for kept
   frames the copy and the hand-over), with the default rules: CPU time p50 / p99 / mean.
3. The worker's cost per image: JPEG encoding + atomic writes of image, label and manifest line.
4. Overload: a rule that keeps every frame with a queue of 4: the stream's rate against capture
   off, and how many frames the worker wrote and how many it dropped (counted, never queued).

Run: python benchmarks/bench_capture.py [--pairs 5] [--frames 200] [--threads N]
"""

import argparse
import statistics
import tempfile
import time

import numpy as np

from stream_infer.bundled import bundled_clip_path
from stream_infer.capture import CaptureSink
from stream_infer.capture.job import CaptureJob
from stream_infer.detection import Detector
from stream_infer.stream import InferenceStream

NO_CAPS = {'per_minute': 0, 'per_hour': 0, 'per_day': 0, 'disk_budget_mb': 0, 'min_free_mb': 0}


def run(detector, frames, capture_options=None, timed_sink=False):
    """Run the clip through the engine; return (fps, capture stats, sink CPU times in us)."""
    stream = InferenceStream(bundled_clip_path(), detector, max_frames=frames)
    capture, calls = None, []
    with tempfile.TemporaryDirectory() as directory:
        if capture_options is not None:
            capture = CaptureSink(directory, detector.class_names, source='clip',
                                  **capture_options)
            if timed_sink:
                def timed(result, sink=capture):
                    start = time.thread_time_ns()
                    sink(result)
                    calls.append((time.thread_time_ns() - start) / 1000.0)
                stream.on_result(timed)
            else:
                stream.on_result(capture)
        start = time.perf_counter()
        stats = stream.run()
        elapsed = time.perf_counter() - start
        capture_stats = None
        if capture is not None:
            capture.close()
            capture_stats = capture.stats()
    return stats.frames_processed / elapsed, capture_stats, np.asarray(calls)


def worker_cost(detector, count=20):
    """Milliseconds per image to encode and write (the worker's work), on clip frames."""
    frames = []
    stream = InferenceStream(bundled_clip_path(), detector, max_frames=count)
    stream.on_result(frames.append)  # results kept for this measurement only
    stream.run()
    with tempfile.TemporaryDirectory() as directory:
        capture = CaptureSink(directory, detector.class_names, rules=[], **NO_CAPS)
        writer = capture._worker.writer
        writer.prepare()
        jobs = [CaptureJob.of(r, ('bench',), 'clip', time.time()) for r in frames]
        start = time.thread_time()
        encoded = [writer.encode(job) for job in jobs]
        encode_ms = (time.thread_time() - start) * 1000.0 / count
        start = time.thread_time()
        for job, data in zip(jobs, encoded):
            writer.write(job, data)
        write_ms = (time.thread_time() - start) * 1000.0 / count
        size = sum(len(e.image) for e in encoded) / count / 1024
        capture.close()
    return encode_ms, write_ms, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument('--pairs', type=int, default=5, help='(off, on) pairs of runs')
    parser.add_argument('--frames', type=int, default=200, help='frames per round (the clip has '
                        '200)')
    parser.add_argument('--threads', type=int, default=None,
                        help='onnxruntime intra-op threads (default: the Detector default)')
    args = parser.parse_args()
    detector = Detector(None, threads=args.threads)
    run(detector, 10)  # warm up: the first session runs are slower
    one_per_second = dict(NO_CAPS, rules=['random'], min_interval_s=1.0)
    off_runs, on_runs, ratios = [], [], []
    for index in range(args.pairs):
        order = ('off', 'on') if index % 2 == 0 else ('on', 'off')
        fps = {}
        for which in order:
            fps[which], stats, _ = run(detector, args.frames,
                                       one_per_second if which == 'on' else None)
            if which == 'on':
                kept = stats.saved
        off_runs.append(fps['off'])
        on_runs.append(fps['on'])
        ratios.append(fps['on'] / fps['off'])
        print(f'pair {index + 1}: capture off {fps["off"]:.2f} fps, on {fps["on"]:.2f} fps '
              f'(ratio {ratios[-1]:.3f}; {kept} frames kept in {args.frames / fps["on"]:.1f} s)')
    off, on = statistics.median(off_runs), statistics.median(on_runs)
    print(f'THROUGHPUT capture off {off:.2f} fps, on (1 frame/s kept) {on:.2f} fps: median '
          f'ratio of the pairs {statistics.median(ratios):.3f}, range {min(ratios):.3f}..'
          f'{max(ratios):.3f} (target >= 0.97)')

    _, stats, calls = run(detector, args.frames, dict(NO_CAPS, min_interval_s=1.0),
                          timed_sink=True)
    p50, p99 = np.percentile(calls, (50, 99))
    print(f'DELIVERY THREAD default rules: CaptureSink call CPU p50 {p50:.0f} us, p99 '
          f'{p99:.0f} us, mean {calls.mean():.0f} us per frame ({stats.saved} kept, fired '
          f'{stats.fired})')

    encode_ms, write_ms, size = worker_cost(detector)
    print(f'WORKER per image (768x576, JPEG 90): CPU encode {encode_ms:.1f} ms, write (image, '
          f'label, manifest; atomic) {write_ms:.2f} ms, {size:.0f} KiB')
    per_second_ms = off * calls.mean() / 1000.0 + encode_ms + write_ms
    print(f'COST at {off:.1f} fps keeping 1 frame/s: {per_second_ms:.1f} ms of CPU per second '
          f'of stream = {per_second_ms / 10.0:.2f} % of one core (the target allows 3 %)')

    everything = dict(NO_CAPS, rules=['random'], min_interval_s=0.0, queue_size=4)
    off, _, _ = run(detector, args.frames)
    on, stats, _ = run(detector, args.frames, everything)
    print(f'OVERLOAD every frame chosen, queue 4: capture off {off:.2f} fps, on {on:.2f} fps '
          f'(ratio {on / off:.3f}); written {stats.saved}, dropped (queue full) '
          f'{stats.dropped_queue}, of {stats.frames_seen}')
    detector.close()


if __name__ == '__main__':
    main()
