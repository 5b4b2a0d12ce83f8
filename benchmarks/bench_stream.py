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
Frame age in real-time mode: files paced at their frame rate, as a camera would deliver them.

enforce_fps plays the clip like a live camera; the age of each delivered result is capture ->
callbacks. A pipeline that never drops file frames falls further behind real time with every
frame when the model is slower than the camera; this one drops the frames the model cannot take
and stays within about one model time plus one frame interval. Cases: the bundled CenterNet
and the YOLO-shaped model (bench_support) on the CPU, the clip at its own 10 fps and re-timed
to 30 fps (faster than the CPU model), and the simulated accelerator (bench_accelerator) at
10 ms and 40 ms per frame. Printed: age p50 / p99 / max, the model's p50 time, frames dropped
and the bound (model p50 + one frame interval).

Run: python benchmarks/bench_stream.py [--seconds 8] [--code DIR]
"""

import argparse
import json
from pathlib import Path
import sys
import tempfile
import time

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_support as bs  # noqa: E402, I100
import numpy as np  # noqa: E402, I100


def realtime_ages(api: bs.Api, detector, clip: Path, seconds: float) -> dict:
    """Play clip in real time through the engine for `seconds`; ages and drops."""
    stream = api.InferenceStream(str(clip), detector, enforce_fps=True, loop=True)
    ages = []
    stream.on_result(lambda result: ages.append(result.age_ms))
    stream.start()
    time.sleep(seconds)
    stats = stream.stats()
    stream.close()
    ages = np.asarray(ages[3:])  # the first frames include the threads' start
    p50, p99 = np.percentile(ages, (50, 99)) if len(ages) else (float('nan'),) * 2
    return {'age p50': float(p50), 'age p99': float(p99),
            'age max': float(ages.max()) if len(ages) else float('nan'),
            'model p50': stats.latency_ms['infer'].p50, 'delivered': int(len(ages)),
            'dropped': int(stats.frames_dropped), 'in': int(stats.frames_in)}


def cases(api: bs.Api, tmp: Path, frames: list, args) -> list:
    """(label, detector factory) of every case."""
    from bench_accelerator import simulated_detector
    yolo_path, _ = bs.yolov8_shaped_model(tmp / 'yolov8_shaped.onnx')

    def yolo():
        session = api.session(yolo_path, args.threads)
        plain = api.detector(yolo_path, threads=args.threads)
        outputs, _, _ = bs.yolo_scene_outputs(api, frames, plain)
        plain.close()
        return api.detector(yolo_path, threads=args.threads,
                            session=bs.ReplaySession(session, outputs, run_model=True))

    return [
        ('bundled CenterNet 512, CPU', lambda: api.detector(api.bundled_model(),
                                                            threads=args.threads)),
        ('YOLO-shaped 640, CPU', yolo),
        ('simulated accelerator 10 ms', lambda: simulated_detector(api, frames, 10.0)[0]),
        ('simulated accelerator 40 ms', lambda: simulated_detector(api, frames, 40.0)[0]),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--code', default=None, help='checkout whose stream_infer to measure')
    parser.add_argument('--seconds', type=float, default=8.0, help='per case')
    parser.add_argument('--threads', type=int, default=None)
    parser.add_argument('--json', type=Path, default=None)
    args = parser.parse_args()
    root = bs.use_code(args.code)
    api = bs.Api()
    frames, fps = bs.clip_frames()
    print(f'stream_infer from {root} ({api.version}); real-time mode (enforce_fps); '
          f'{bs.machine_line()}', flush=True)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        clips = {fps: bs.clip_path(), 30.0: bs.retimed_clip(tmp / 'clip30.mp4', 30.0, frames)}
        # The re-encoded clip decodes to slightly different pixels: replay outputs for both.
        both = frames + bs.clip_frames(path=clips[30.0])[0]
        for label, make in cases(api, tmp, both, args):
            detector = make()
            for rate, clip in clips.items():
                r = realtime_ages(api, detector, clip, args.seconds)
                r['bound'] = r['model p50'] + 1000.0 / rate
                results[f'{label}, file at {rate:g} fps'] = r
                print(f'  {label}, {rate:g} fps: age p50 {r["age p50"]:.0f} ms, p99 '
                      f'{r["age p99"]:.0f} ms', flush=True)
            detector.close()
    print(f'\n{"real-time mode":<52} {"age p50":>8} {"p99":>6} {"max":>6} {"model":>6} '
          f'{"bound":>6} {"in":>5} {"dropped":>7}')
    for label, r in results.items():
        print(f'{label:<52} {r["age p50"]:>8.0f} {r["age p99"]:>6.0f} {r["age max"]:>6.0f} '
              f'{r["model p50"]:>6.0f} {r["bound"]:>6.0f} {r["in"]:>5} {r["dropped"]:>7}')
    print('  ms; age = capture -> callbacks; bound = model p50 + one frame interval')
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == '__main__':
    main()
