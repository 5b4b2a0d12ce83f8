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
CPU spent per frame outside the model, per stage and in total, and the engine against the raw loop.

For the bundled CenterNet 512 and the YOLO-shaped 640 model (bench_support) on the bundled clip:

1. Per stage, in process CPU-ms per frame (time.process_time: every thread of the process, so
   OpenCV's and onnxruntime's helper threads count; the least of the rounds, as other processes
   only ever add to it), each stage run alone over the clip's frames:
   decode (the file source), preprocess (Detector.prepare), postprocess (Detector.run with the
   model's outputs replayed, so only decode/NMS/Detections remain), track (ByteTrack over the
   clip's detections in order), result (StreamResult), predictions dict (when someone asks:
   on_prediction, --json), callbacks (the stream's dispatch to one on_result callback and its
   statistics) and, with ROS, the node's conversion in (image_to_bgr) and out
   (detections_to_msg, publish).
2. In total: the engine (InferenceStream over the clip, tracking on, one on_result callback) in
   process CPU per frame, minus the model's own CPU per frame measured in the raw loop
   (session.run on pre-made tensors, the same session) = non-model CPU per frame. On a busy
   machine onnxruntime's spinning threads make the model's CPU swing by more than the engine's
   whole cost, so two steadier figures come with it: the engine's CPU minus the model's CPU in
   that same run (its pool threads, and its caller inside session.run: "threads"), and the
   engine's CPU with the model's outputs replayed instead of computed ("no model"). The wall
   throughput against the raw loop's, rounds interleaved, medians.

Run it on another checkout (e.g. the baseline) with --code DIR; --json saves the figures for
run_all.py's before/after table.
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

# CPU work that only other processes can make dearer (cache and core contention only ever add
# to it) is reported as the least of the rounds; figures that pair two runs (the engine against
# the raw loop) or are wall time, as medians.
STAGES = ('decode', 'preprocess', 'postprocess', 'track', 'result', 'predictions dict',
          'callbacks')
NODE_STAGES = ('node: image in', 'node: detections msg', 'node: publish')


def stage_costs(api: bs.Api, detector, replay_detector, frames: list, rounds: int) -> dict:
    """Median process CPU-ms per frame of each stage, each run alone over the frames."""
    opts = api.run_options()
    keep = bs.Keep()
    prepared = [detector.prepare(f) for f in frames]
    detected = [replay_detector.run(p, opts) for p in prepared]
    tracker_box = {}
    tracked = []

    def decode():
        source = api.open_source(str(bs.clip_path()))
        source.open()
        count, start = 0, bs.cpu_s()
        while count < len(frames) and keep(source.read()) is not None:
            count += 1
        cost = (bs.cpu_s() - start) * 1000.0 / max(count, 1)
        source.close()
        return cost

    def track():
        tracker = api.Tracker()
        tracker_box['last'] = tracker
        start = bs.cpu_s()
        out = [tracker.update(d.detections) for d in detected]
        cost = (bs.cpu_s() - start) * 1000.0 / len(detected)
        tracked[:] = out
        return cost

    track()  # results for the later stages
    results = [api.StreamResult(api.Frame(f, i, time.time(), time.monotonic()), dets,
                                dict(d.timings_ms), 1.0)
               for i, (f, dets, d) in enumerate(zip(frames, tracked, detected))]
    stream = api.InferenceStream(str(bs.clip_path()), detector)
    stream.on_result(lambda result: None)

    def make_result(item):
        frame, dets, timings = item
        result = api.StreamResult(frame, dets, dict(timings), 1.0)
        return result.frame_id

    def fresh(result):  # StreamResult caches its dict: time a new one each time
        return api.StreamResult(result.frame, result.detections, result.timings_ms, 1.0)

    runs = {
        'decode': decode,
        'preprocess': lambda: bs.cpu_ms_per_item(lambda f: keep(detector.prepare(f)), frames),
        'postprocess': lambda: bs.cpu_ms_per_item(lambda p: replay_detector.run(p, opts),
                                                  prepared),
        'track': track,
        'result': lambda: bs.cpu_ms_per_item(make_result, [
            (r.frame, r.detections, r.timings_ms) for r in results]),
        'predictions dict': lambda: bs.cpu_ms_per_item(lambda r: r.to_dict(), results),
        'callbacks': lambda: bs.cpu_ms_per_item(lambda r: stream._deliver(fresh(r)), results),
    }
    measured = bs.interleaved(max(rounds, 5), runs)  # cheap: more rounds, steadier medians
    costs = {name: min(values) for name, values in measured.items()}  # least: see top
    costs['detections per frame'] = float(np.mean([len(d) for d in tracked]))
    stream.close()
    return costs, tracked


def node_stage_costs(api: bs.Api, frames: list, tracked: list, class_names: list,
                     rounds: int) -> dict:
    """Measure the node's own conversions in and out, CPU-ms per frame; {} without ROS."""
    try:
        import rclpy
        from std_msgs.msg import Header
        from vision_msgs.msg import Detection2DArray
        from stream_infer.ros import conversions
    except ImportError:
        return {}
    header = Header(frame_id='camera')
    images = [conversions.bgr_to_image(f, header) for f in frames]
    messages = [conversions.detections_to_msg(d, header, class_names) for d in tracked]
    rclpy.init()
    node = rclpy.create_node('bench_cpu_publisher')
    publisher = node.create_publisher(Detection2DArray, 'bench_cpu_detections', 10)
    subscription = node.create_subscription(  # a reader, so messages really go out
        Detection2DArray, 'bench_cpu_detections', lambda msg: None, 10)
    runs = {
        'node: image in': lambda: bs.cpu_ms_per_item(conversions.image_to_bgr, images),
        'node: detections msg': lambda: bs.cpu_ms_per_item(
            lambda d: conversions.detections_to_msg(d, header, class_names), tracked),
        'node: publish': lambda: bs.cpu_ms_per_item(publisher.publish, messages),
    }
    try:
        measured = bs.interleaved(rounds, runs)
    finally:
        node.destroy_subscription(subscription)
        node.destroy_node()
        rclpy.shutdown()
    return {name: min(values) for name, values in measured.items()}


def raw_loop(session, tensors: list) -> tuple:
    """session.run over pre-made tensors: (process CPU-ms per frame, frames per second)."""
    feed, output = session.get_inputs()[0].name, bs.model_output_name(session)
    cpu, wall = bs.cpu_s(), time.perf_counter()
    for tensor in tensors:
        session.run([output], {feed: tensor})
    return ((bs.cpu_s() - cpu) * 1000.0 / len(tensors),
            len(tensors) / (time.perf_counter() - wall))


def engine_run(api: bs.Api, detector, frames: int, replay=None) -> tuple:
    """
    Run the engine over the clip: (process CPU-ms per frame, fps, model CPU-ms per frame).

    The model's CPU inside the engine (its pool threads + its callers inside session.run) is
    measured when replay (the detector's ReplaySession) is given, else NaN.
    """
    stream = api.InferenceStream(str(bs.clip_path()), detector, max_frames=frames)
    stream.on_result(lambda result: None)
    model = bs.model_cpu_s(replay) if replay is not None else float('nan')
    cpu, wall = bs.cpu_s(), time.perf_counter()
    stats = stream.run()
    elapsed = time.perf_counter() - wall
    processed = stats.frames_processed
    cpu = bs.cpu_s() - cpu
    if replay is not None:
        model = bs.model_cpu_s(replay) - model
    return cpu * 1000.0 / processed, processed / elapsed, model * 1000.0 / processed


def engine_costs(api: bs.Api, detector, replay, no_model_detector, frames: list,
                 rounds: int) -> dict:
    """
    Engine vs raw loop, interleaved: model CPU, non-model CPU three ways, throughput ratio.

    non-model cpu: engine process CPU minus the raw loop's (the model alone, same session);
    non-model cpu (threads): engine process CPU minus the model's CPU inside that same run
    (insensitive to how busy the machine is); non-model cpu (no model): the engine's process
    CPU with the model's outputs replayed (no model at all).
    """
    tensors = [detector.prepare(f).tensor for f in frames]
    measured = bs.interleaved(rounds, {
        'raw': lambda: raw_loop(replay, tensors),
        'engine': lambda: engine_run(api, detector, len(frames), replay),
        'no model': lambda: engine_run(api, no_model_detector, len(frames)),
    })
    model_cpu = bs.median(r[0] for r in measured['raw'])
    engine_cpu = bs.median(r[0] for r in measured['engine'])
    ratios = [e[1] / r[1] for e, r in zip(measured['engine'], measured['raw'])]
    return {'model cpu': model_cpu, 'engine cpu': engine_cpu,
            'non-model cpu': bs.median(
                e[0] - r[0] for e, r in zip(measured['engine'], measured['raw'])),
            'non-model cpu (threads)': min(e[0] - e[2] for e in measured['engine']),
            'non-model cpu (no model)': min(r[0] for r in measured['no model']),
            'raw fps': bs.median(r[1] for r in measured['raw']),
            'engine fps': bs.median(e[1] for e in measured['engine']),
            'ratio': bs.median(ratios), 'ratios': ratios}


def measure_model(api: bs.Api, name: str, model: Path, frames: list, args,
                  yolo: bool) -> dict:
    if yolo:
        session = api.session(model, args.threads)
        plain = api.detector(model, threads=args.threads)
        outputs, candidates, objects = bs.yolo_scene_outputs(api, frames, plain)
        plain.close()
        print(f'  {name}: scene outputs from the bundled model: median {objects:g} objects, '
              f'{candidates:g} anchors >= 0.3 per frame', flush=True)
    else:
        session, outputs = bs.bundled_outputs(api, frames, args.threads)
    timed = bs.ReplaySession(session, outputs, run_model=True)  # model cost real
    replay = bs.ReplaySession(session, outputs, run_model=False)  # no model: postprocess only
    detector = api.detector(model, threads=args.threads, session=timed)
    replay_detector = api.detector(model, threads=args.threads, session=replay)
    costs, tracked = stage_costs(api, detector, replay_detector, frames, args.rounds)
    if not args.skip_node:
        costs.update(node_stage_costs(api, frames, tracked, detector.class_names, args.rounds))
    if not args.skip_engine:
        costs.update(engine_costs(api, detector, timed, replay_detector, frames, args.rounds))
    detector.close()
    replay_detector.close()
    return costs


def print_table(results: dict) -> None:
    names = list(results)
    rows = [r for r in STAGES + NODE_STAGES if any(r in results[n] for n in names)]
    print(f'\n{"CPU-ms per frame":<26}' + ''.join(f'{n:>22}' for n in names))
    for row in rows:
        print(f'{row:<26}' + ''.join(f'{results[n].get(row, float("nan")):>22.3f}'
                                     for n in names))
    for row in ('model cpu', 'engine cpu', 'non-model cpu', 'non-model cpu (threads)',
                'non-model cpu (no model)'):
        if any(row in results[n] for n in names):
            print(f'{row:<26}' + ''.join(f'{results[n].get(row, float("nan")):>22.2f}'
                                         for n in names))
    if any('ratio' in results[n] for n in names):
        print(f'{"engine fps / raw fps":<26}' + ''.join(
            f'{results[n]["engine fps"]:>9.1f} /{results[n]["raw fps"]:>5.1f} '
            f'{results[n]["ratio"]:>5.2f}' for n in names))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--code', default=None, help='checkout whose stream_infer to measure')
    parser.add_argument('--frames', type=int, default=100)
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--threads', type=int, default=None,
                        help='onnxruntime intra-op threads (default: onnxruntime: all cores)')
    parser.add_argument('--models', default='bundled,yolo')
    parser.add_argument('--skip-engine', action='store_true')
    parser.add_argument('--skip-node', action='store_true')
    parser.add_argument('--spin-wait', choices=('default', 'on', 'off'), default='default',
                        help="onnxruntime's busy-waiting threads in the sessions measured "
                        "(default: as the version under test's Detector makes them)")
    parser.add_argument('--json', type=Path, default=None, help='write the figures here')
    args = parser.parse_args()
    root = bs.use_code(args.code)
    api = bs.Api()
    if args.spin_wait != 'default':
        api.spin_wait = args.spin_wait == 'on'
    frames, _ = bs.clip_frames(args.frames)
    print(f'stream_infer from {root} ({api.version}); {len(frames)} clip frames '
          f'{frames[0].shape[1]}x{frames[0].shape[0]}; onnxruntime threads spin-wait: '
          f'{"on" if api.spin_wait else "off"}; {bs.machine_line()}', flush=True)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for model in args.models.split(','):
            if model == 'bundled':
                results['bundled CenterNet 512'] = measure_model(
                    api, 'bundled', api.bundled_model(), frames, args, yolo=False)
            elif model == 'yolo':
                path, _ = bs.yolov8_shaped_model(Path(tmp) / 'yolov8_shaped.onnx')
                results['YOLO-shaped 640'] = measure_model(api, 'yolo', path, frames, args,
                                                           yolo=True)
    print_table(results)
    if args.json:
        args.json.write_text(json.dumps({'version': api.version, 'root': str(root),
                                         'results': results}, indent=1))


if __name__ == '__main__':
    main()
