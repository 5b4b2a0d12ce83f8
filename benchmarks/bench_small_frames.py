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
The fp32 YOLO path on small frames: the engine and Ultralytics `track` against the raw loop.

Two clips: the 768x576 vtest.avi (../shared/media, else the bundled vtest_clip.mp4) and a
640x272 clip made here from it (a wide crop of the full width, resized, mp4v in a temp folder).
Per clip and round, every contender runs the first --frames frames of the file, in rotated
order (bench_support.interleaved); medians of the rounds, and their ratio to the raw loop:

  raw           cv2.VideoCapture.read() of each frame + session.run on ONE tensor prepared
                before the loop (the first frame, letterboxed by stream_infer's Preprocessor):
                decoding and the model, nothing else, on one thread. Two sessions, each its
                own loop: onnxruntime's default options (threads spinning, as Ultralytics'
                session) and spinning off. The baseline of every ratio is the faster of the
                two in the same round ("best raw"): on an idle machine spinning wins about
                10 %, on a busy one it loses up to half.
  stream_infer  InferenceStream(clip, Detector(model)) with tracking (ByteTrack) on, and off:
                decode, letterbox, model, decode/NMS, tracking, results, on its own threads
                (the Detector's default session options: threads spin at most 20 us between
                operators, not between runs: onnx_session.thread_config); with --spin-wait
                also Detector(model, spin_wait=True) (its threads spin, as onnxruntime's
                default), the choice for a machine that runs nothing else.
  ultralytics   YOLO(model, task='detect').track(clip, stream=True, tracker='bytetrack.yaml')
                with the same confidence (0.3) and IoU (0.45) as stream_infer's defaults,
                when ultralytics is importable (else: 'not installed').

Intra-op threads: onnxruntime's default (one per physical core) in all three sessions, as
Ultralytics offers no way to set them; --threads sets raw and stream_infer only (say so).
OpenCV runs serially for all (Ultralytics sets cv2.setNumThreads(0) on import, the CLI
serial_opencv()). The model: --model FILE, else with torch + ultralytics a YOLOv8n-640 built
from yolov8n.yaml (random init: no pretrained download here) with BatchNorm statistics
re-estimated on frames of the clip and exported by Ultralytics, else the YOLO-shaped model of
bench_support (then the Ultralytics contender is skipped: its head is not Ultralytics').

    $ULTRA_VENV/bin/python benchmarks/bench_small_frames.py --frames 150 --rounds 3
    (ULTRA_VENV: a throw-away venv with torch, ultralytics, lap and onnx)
    python benchmarks/bench_small_frames.py --model yolov8n.onnx      # without ultralytics
"""

import argparse
import os
from pathlib import Path
import statistics
import sys
import tempfile
import time
from typing import Callable, Dict, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'scripts'))

import bench_support as bs  # noqa: E402, I100
# The Ultralytics model the cross-check builds (yolov8n.yaml, BatchNorm on clip frames).
from crosscheck_ultralytics import (  # noqa: E402, I100
    export_onnx, random_model, read_frames, without_torchvision)
import cv2  # noqa: E402, I100
import numpy as np  # noqa: E402, I100

FULL_CLIP = bs.ROOT.parent / 'shared' / 'media' / 'vtest.avi'
WIDE_SIZE = (640, 272)  # width, height of the wide clip
CONFIDENCE, IOU = 0.3, 0.45  # stream_infer's defaults, given to Ultralytics too


def ultralytics_available() -> bool:
    try:
        import torch  # noqa: F401
        import ultralytics  # noqa: F401
    except ImportError:
        return False
    return True


def wide_clip(source: Path, path: Path, frames: int, fps: float) -> Path:
    """Write the first frames of source as a 640x272 mp4v clip: a full-width crop, resized."""
    width, height = WIDE_SIZE
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'mp4v'), fps, (width, height))
    for frame in read_frames(source, frames):
        h, w = frame.shape[:2]
        rows = int(round(w * height / width))
        top = (h - rows) // 2
        writer.write(cv2.resize(frame[top:top + rows], (width, height),
                                interpolation=cv2.INTER_AREA))
    writer.release()
    return path


def raw_session(model: Path, threads: Optional[int], config: dict):
    """Open an onnxruntime CPU session with these config entries (none: its defaults)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    if threads is not None:
        options.intra_op_num_threads = threads
    for key, value in config.items():
        options.add_session_config_entry(key, value)
    return ort.InferenceSession(str(model), sess_options=options,
                                providers=['CPUExecutionProvider'])


def raw_loop(session, tensor: np.ndarray, clip: Path, frames: int) -> float:
    """Frames per second of: read a frame, session.run on the prepared tensor."""
    feed, output = session.get_inputs()[0].name, bs.model_output_name(session)
    capture = cv2.VideoCapture(str(clip))
    done, start = 0, time.perf_counter()
    while done < frames:
        ok, _ = capture.read()
        if not ok:
            break
        session.run([output], {feed: tensor})
        done += 1
    elapsed = time.perf_counter() - start
    capture.release()
    return done / elapsed


def engine_run(api: bs.Api, detector, clip: Path, frames: int, track: bool,
               stages: Optional[dict] = None) -> float:
    """Frames per second of InferenceStream over the clip (one no-op on_result callback)."""
    stream = api.InferenceStream(str(clip), detector, max_frames=frames, track=track)
    stream.on_result(lambda result: None)
    start = time.perf_counter()
    stats = stream.run()
    elapsed = time.perf_counter() - start
    if stages is not None:
        for name, summary in stats.latency_ms.items():
            stages.setdefault(name, []).append(summary.p50)
    return stats.frames_processed / elapsed


def ultralytics_run(yolo, clip: Path, frames: int) -> float:
    """Frames per second of YOLO.track over the first frames (ByteTrack, same thresholds)."""
    done, start = 0, time.perf_counter()
    results = yolo.track(source=str(clip), stream=True, imgsz=640, conf=CONFIDENCE, iou=IOU,
                         tracker='bytetrack.yaml', verbose=False, persist=False)
    for _ in results:
        done += 1
        if done >= frames:
            break
    elapsed = time.perf_counter() - start
    results.close()
    return done / elapsed


def measure_clip(label: str, clip: Path, model: Path, api: bs.Api, yolo, args,
                 frames: int) -> dict:
    """Interleaved rounds of every contender on one clip: median fps and ratios to raw."""
    from stream_infer.detection.preprocess import InputSpec, Preprocessor

    session = raw_session(model, args.threads, {})  # onnxruntime's defaults
    quiet = raw_session(model, args.threads, {'session.intra_op.allow_spinning': '0'})
    tensor = Preprocessor(InputSpec(640, 640))(read_frames(clip, 1)[0])[0]
    detector = api.Detector(model, threads=args.threads)
    stages: dict = {}
    runs: Dict[str, Callable[[], float]] = {
        'raw': lambda: raw_loop(session, tensor, clip, frames),
        'raw (spinning off)': lambda: raw_loop(quiet, tensor, clip, frames),
        'stream_infer': lambda: engine_run(api, detector, clip, frames, True, stages),
        'stream_infer (no tracking)': lambda: engine_run(api, detector, clip, frames, False),
    }
    spinning = api.Detector(model, threads=args.threads, spin_wait=True) if args.spin_wait \
        else None
    if spinning is not None:
        runs['stream_infer (spin_wait)'] = lambda: engine_run(api, spinning, clip, frames, True)
    if yolo is not None:
        ultralytics_run(yolo, clip, 3)  # set up its predictor on this source's size
        runs['ultralytics track'] = lambda: ultralytics_run(yolo, clip, frames)
    measured = bs.interleaved(args.rounds, runs)
    detector.close()
    if spinning is not None:
        spinning.close()
    raw = [max(pair) for pair in zip(measured['raw'], measured['raw (spinning off)'])]
    out = {'clip': label, 'frames': frames, 'fps': {}, 'ratio': {}, 'rounds': {},
           'stages': {k: statistics.median(v) for k, v in stages.items()}}
    for name, values in measured.items():
        out['fps'][name] = bs.median(values)
        out['ratio'][name] = bs.median(v / r for v, r in zip(values, raw))
        out['rounds'][name] = [v / r for v, r in zip(values, raw)]
    return out


def cpu_ms(fn: Callable, items: list) -> float:
    """Least process CPU-ms per item of fn over items in 3 tries (others only add to it)."""
    best = float('inf')
    for _ in range(3):
        start = bs.cpu_s()
        for item in items:
            fn(item)
        best = min(best, (bs.cpu_s() - start) * 1000.0 / len(items))
    return best


def decode_cpu_ms(clip: Path, frames: int) -> float:
    def read(_):
        capture = cv2.VideoCapture(str(clip))
        for _ in range(frames):
            capture.read()
        capture.release()
    return cpu_ms(read, [None]) / frames


def stage_profile(clip: Path, model: Path, api: bs.Api, args, frames: int) -> dict:
    """
    Process CPU-ms per frame of each non-model stage, and of the whole engine without the model.

    The model's outputs on the clip's frames are recorded once and replayed (no model run),
    so what remains is exactly what stream_infer adds to decoding + the model.
    """
    session = bs.real_session(model, args.threads, spin_wait=False)
    plain = api.Detector(model, threads=args.threads)
    images = read_frames(clip, frames)
    prepared = [plain.prepare(f) for f in images]
    outputs = bs.record_outputs(session, [p.tensor for p in prepared])
    replay = api.Detector(session=bs.ReplaySession(session, outputs, run_model=False))
    inferred = [replay.infer(p) for p in prepared]
    detected = [replay.postprocess(i).detections for i in inferred]
    tracker = api.Tracker()
    out = {'decode (VideoCapture.read)': decode_cpu_ms(clip, frames),
           'preprocess (letterbox)': cpu_ms(plain.prepare, images),
           'postprocess (decode, NMS)': cpu_ms(replay.postprocess, inferred),
           'track (ByteTrack)': cpu_ms(lambda d: tracker.update(d), detected),
           'detections per frame': statistics.median(len(d) for d in detected)}
    for track in (True, False):
        def engine(_, track=track):
            stream = api.InferenceStream(str(clip), replay, max_frames=frames, track=track)
            stream.on_result(lambda result: None)
            stream.run()
        name = 'engine without model' + ('' if track else ' (no tracking)')
        out[name] = cpu_ms(engine, [None]) / frames
    out['model (session.run)'] = cpu_ms(
        lambda p: session.run(None, {session.get_inputs()[0].name: p.tensor}), prepared[:10])
    plain.close()
    replay.close()
    return out


def print_profile(profiles: dict) -> None:
    labels = list(profiles)
    print(f'\n{"CPU-ms per frame":<34}' + ''.join(f'{label:>24}' for label in labels))
    for row in profiles[labels[0]]:
        print(f'{row:<34}' + ''.join(f'{profiles[label][row]:>24.2f}' for label in labels))
    print('  least of 3 tries; engine without model: InferenceStream with the model outputs '
          'replayed (decode, preprocess, postprocess, tracking, results, hand-offs)')


def print_results(results: list, ultra: str) -> None:
    names = ['raw', 'raw (spinning off)', 'stream_infer', 'stream_infer (no tracking)',
             'stream_infer (spin_wait)', 'ultralytics track']
    print(f'\n{"fps (ratio to best raw)":<28}' + ''.join(f'{r["clip"]:>24}' for r in results))
    for name in names:
        if name == 'stream_infer (spin_wait)' and name not in results[0]['fps']:
            continue
        row = f'{name:<28}'
        for r in results:
            if name in r['fps']:
                row += f'{r["fps"][name]:>16.1f} ({r["ratio"][name]:.2f})'
            else:
                row += f'{ultra:>24}'
        print(row)
    print('\nratio to best raw, round by round (the spread is the load of the machine):')
    for r in results:
        print(f'  {r["clip"]}: ' + '; '.join(
            f'{name} ' + ' '.join(f'{x:.2f}' for x in rounds)
            for name, rounds in r['rounds'].items() if not name.startswith('raw')))
    print(f'\n{"stream_infer stage p50 ms":<28}' + ''.join(f'{r["clip"]:>24}' for r in results))
    for stage in sorted({s for r in results for s in r['stages']}):
        print(f'{stage:<28}' + ''.join(f'{r["stages"].get(stage, float("nan")):>24.2f}'
                                       for r in results))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--model', type=Path, default=None, help='a YOLOv8 ONNX file')
    parser.add_argument('--frames', type=int, default=150, help='frames per run (150)')
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--threads', type=int, default=None,
                        help='intra-op threads of raw and stream_infer (default: '
                             "onnxruntime's, as Ultralytics)")
    parser.add_argument('--class-bias', type=float, default=-5.0,
                        help='class-score bias of the exported random head')
    parser.add_argument('--keep-model', type=Path, default=None,
                        help='write the exported model here too')
    parser.add_argument('--no-ultralytics', action='store_true')
    parser.add_argument('--spin-wait', action='store_true',
                        help='also stream_infer with spin_wait=True (its threads spinning)')
    parser.add_argument('--profile', action='store_true',
                        help='only the CPU per frame of each stream_infer stage, per clip')
    args = parser.parse_args()
    have_ultra = ultralytics_available() and not args.no_ultralytics
    if have_ultra:
        without_torchvision()
        import ultralytics  # noqa: F401 - sets cv2.setNumThreads(0)
    bs.use_code(None)
    api = bs.Api()
    from stream_infer.detection.preprocess import serial_opencv
    serial_opencv()
    source = FULL_CLIP if FULL_CLIP.exists() else bs.clip_path()
    print(f'stream_infer from {api.root}; {bs.machine_line()}; {os.cpu_count()} CPUs; '
          f'intra-op threads: {args.threads or "onnxruntime default"}', flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        model, ultra = args.model, 'not installed'
        if model is None and have_ultra:
            started = time.perf_counter()
            yolo = random_model('detect', read_frames(source, 24, step=8), args.class_bias, 0)
            model = export_onnx(yolo, tmp)
            print(f'exported {model.name} (yolov8n.yaml, BatchNorm on 24 frames of '
                  f'{source.name}) in {time.perf_counter() - started:.0f} s', flush=True)
            if args.keep_model:
                args.keep_model.write_bytes(model.read_bytes())
        elif model is None:
            model, _ = bs.yolov8_shaped_model(tmp / 'yolov8_shaped.onnx')
            ultra = 'n/a (no torch)'
            have_ultra = False
        yolo = None
        if have_ultra:
            from ultralytics import YOLO
            yolo = YOLO(str(model), task='detect')
        elif not ultralytics_available():
            ultra = 'not installed'
        fps = cv2.VideoCapture(str(source)).get(cv2.CAP_PROP_FPS) or 10.0
        clips = {f'{source.name} 768x576': source,
                 '640x272 crop': wide_clip(source, tmp / 'wide_640x272.mp4',
                                           args.frames + 10, fps)}
        if args.profile:
            print_profile({label: stage_profile(clip, model, api, args, args.frames)
                           for label, clip in clips.items()})
            return
        results = []
        for label, clip in clips.items():
            print(f'{label}: {args.rounds} rounds of {args.frames} frames ...', flush=True)
            results.append(measure_clip(label, clip, model, api, yolo, args, args.frames))
    print_results(results, ultra)
    print(f'medians of {args.rounds} interleaved rounds; load average now {bs.load_average()} '
          '(a shared machine: other processes take CPU from whichever contender runs)')


if __name__ == '__main__':
    main()
