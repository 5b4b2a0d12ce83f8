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
What the benchmarks share: code under test, frames, models, replayed outputs, clocks.

The benchmarks measure the code under test with clip frames, the YOLO-shaped model, replayed
model outputs, CPU clocks and interleaved rounds.

The code under test: the benchmarks import stream_infer only after use_code() (a --code DIR
option puts another checkout first on sys.path, e.g. the baseline commit), and reach it through
Api, which papers over the few names that moved (Detector(session=...) did not exist before).

The YOLO-shaped model: a YOLOv8n-sized conv stack generated here with the onnx helper (random
weights, [1, 3, 640, 640] -> [1, 84, 8400]), so its cost is a real model's. Its scores are
random, so what postprocess and tracking see would not be a real scene: the session is wrapped
(ReplaySession) so that every clip frame still runs the whole conv stack, and the output
returned is then one built from the bundled model's detections on that frame
(yolo_scene_output: each object fires about ANCHORS_PER_OBJECT anchors around its centre, at
the three strides, with jittered boxes and decaying scores, as a trained YOLO head does; every
other anchor scores below 0.05). So decode sees 8400 anchors, NMS a realistic cluster of
candidates per object and ByteTrack the clip's real people moving.

The simulated accelerator: the same wrapper with the model off the CPU: run() sleeps N ms
(time.sleep releases the GIL, as a GPU session's wait does) and returns the bundled model's real
output for that frame, computed beforehand. Frames are recognised by a fingerprint of a few
hundred input values (order-independent, so dropped frames do not confuse it).
"""

from collections import deque
import os
from pathlib import Path
import statistics
import sys
import threading
import time
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
ANCHORS_PER_OBJECT = 12  # anchors a trained YOLOv8 head fires above threshold per object
HEAD_STRIDES = (8, 16, 32)
FINGERPRINT_STEP = 7919  # a prime: samples every n-th input value


def use_code(code: Optional[str]) -> Path:
    """Import stream_infer from checkout `code` (None: this one); returns the package's root."""
    root = Path(code).resolve() if code else ROOT
    if 'stream_infer' in sys.modules:
        raise RuntimeError('use_code() must run before stream_infer is imported')
    sys.path.insert(0, str(root))
    import stream_infer
    found = Path(stream_infer.__file__).resolve().parent.parent
    if found != root:
        raise RuntimeError(f'stream_infer imported from {found}, expected {root}')
    return root


class Api:
    """The public names the benchmarks use, for this version and the baseline (05cb0be)."""

    def __init__(self) -> None:
        import stream_infer
        from stream_infer.sources import Frame, open_source
        from stream_infer.stream import StreamResult
        from stream_infer.tracking import Tracker
        self.Detector = stream_infer.Detector
        self.InferenceStream = stream_infer.InferenceStream
        self.PostprocessOptions = stream_infer.PostprocessOptions
        self.Tracker = Tracker
        self.StreamResult = StreamResult
        self.Frame = Frame
        self.open_source = open_source
        self.root = Path(stream_infer.__file__).resolve().parent.parent
        try:
            import stream_infer.detection  # noqa: F401 - the layout since the refactor
            self.version = 'current'
        except ImportError:
            self.version = 'baseline'
        # Whether the sessions the benchmark makes let onnxruntime's threads spin: what this
        # version's Detector does (the baseline left onnxruntime's default, spinning, alone).
        try:
            from stream_infer.options import ModelOptions
            self.spin_wait = bool(ModelOptions.spin_wait)
        except (ImportError, AttributeError):
            self.spin_wait = True

    def session(self, model: Path, threads: Optional[int] = None) -> Any:
        """Open an onnxruntime CPU session as this version's Detector would make it."""
        return real_session(model, threads, self.spin_wait)

    def bundled_model(self) -> Path:
        return self.root / 'models' / 'centernet_mbv3_coco80.onnx'

    def detector(self, model: Path, *, threads: Optional[int] = None,
                 session: Any = None) -> Any:
        """Build a Detector on model, running `session` (a ReplaySession) instead if given."""
        if session is None:
            return self.Detector(model, threads=threads)
        if self.version == 'current':
            return self.Detector(session=session)
        detector = self.Detector(model, threads=threads, warmup=False)
        detector._session = session  # the baseline had no session= argument
        detector(np.zeros((64, 64, 3), np.uint8))  # warm up through the wrapper
        return detector

    def run_options(self) -> Any:
        return self.PostprocessOptions()


# ------------------------------------------------------------------------------ frames
def clip_path() -> Path:
    return ROOT / 'media' / 'vtest_clip.mp4'


def clip_frames(count: Optional[int] = None, path: Optional[Path] = None) -> tuple:
    """Decode the clip's BGR frames (all, or the first count); returns (frames, fps)."""
    import cv2
    capture = cv2.VideoCapture(str(path or clip_path()))
    fps = capture.get(cv2.CAP_PROP_FPS) or 10.0
    frames = []
    while count is None or len(frames) < count:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    return frames, fps


def retimed_clip(path: Path, fps: float, frames: Sequence[np.ndarray]) -> Path:
    """Write frames as an mp4v file playing at fps (the same clip from a faster camera)."""
    import cv2
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'mp4v'), fps, (width, height))
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path


# ------------------------------------------------------------------------------ models
def _conv(nodes: list, inits: list, name: str, x: str, cin: int, cout: int, stride: int,
          rng: np.random.Generator, kernel: int = 3, act: bool = True) -> str:
    from onnx import helper, numpy_helper
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
    """
    Write a YOLOv8n-sized conv stack with a [1, 84, 8400] output; returns (path, GFLOPs).

    3x3 convs with SiLU, 640 -> 20 in five stride-2 stages, about YOLOv8n's compute (~8.7
    GFLOPs), random weights, 1x1 heads at strides 8/16/32 reshaped and concatenated to
    [1, 84, 8400] (boxes: sigmoid * 640; classes: the random logits scaled so that some
    60-180 anchors per clip frame score above 0.3).
    """
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
        x = _conv(nodes, inits, f's{i}', x, cin, cout, stride, rng)
        flops += 2 * cin * cout * 9 * size * size
        cin = cout
        for r in range(repeats):
            x = _conv(nodes, inits, f's{i}r{r}', x, cin, cin, 1, rng)
            flops += 2 * cin * cin * 9 * size * size
        if size in (80, 40, 20):
            feats.append((x, cin, size))
    heads = []
    for j, (feat, channels, size) in enumerate(feats):
        y = _conv(nodes, inits, f'h{j}', feat, channels, 84, 1, rng, kernel=1, act=False)
        flops += 2 * channels * 84 * size * size
        inits.append(numpy_helper.from_array(np.array([1, 84, -1], np.int64), f'h{j}_shape'))
        nodes.append(helper.make_node('Reshape', [y, f'h{j}_shape'], [f'h{j}_flat']))
        heads.append(f'h{j}_flat')
    nodes.append(helper.make_node('Concat', heads, ['raw'], axis=2))
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


def anchor_centres(size: int = 640, strides: Sequence[int] = HEAD_STRIDES) -> tuple:
    """Centre x, y and stride of every anchor of a YOLOv8 head, in output order."""
    xs, ys, ss = [], [], []
    for stride in strides:
        cells = size // stride
        grid = (np.arange(cells) + 0.5) * stride
        gx, gy = np.meshgrid(grid, grid)
        xs.append(gx.ravel())
        ys.append(gy.ravel())
        ss.append(np.full(cells * cells, stride, np.float64))
    return np.concatenate(xs), np.concatenate(ys), np.concatenate(ss)


def yolo_scene_output(xyxy: np.ndarray, scores: np.ndarray, class_ids: np.ndarray,
                      rng: np.random.Generator, num_classes: int = 80,
                      per_object: int = ANCHORS_PER_OBJECT) -> np.ndarray:
    """
    Build a YOLOv8 [1, 4 + nc, 8400] output of a scene: these boxes (640x640 input pixels).

    Each object fires the per_object anchors closest to its centre (over the three strides,
    weighted to the stride that suits its size) with boxes jittered by a few per cent and scores
    falling from its own score to 80 % of it; every other anchor has a random box and class
    scores below 0.05, as a real head's background.
    """
    cx, cy, stride = anchor_centres()
    n = len(cx)
    out = np.empty((4 + num_classes, n), np.float32)
    out[0] = rng.uniform(0, 640, n)
    out[1] = rng.uniform(0, 640, n)
    out[2:4] = rng.uniform(4, 200, (2, n))
    out[4:] = rng.uniform(0.0, 0.05, (num_classes, n)) ** 2 / 0.05  # mostly near zero
    for box, score, cls in zip(np.asarray(xyxy, np.float64), scores, class_ids):
        x1, y1, x2, y2 = box
        w, h = max(x2 - x1, 1.0), max(y2 - y1, 1.0)
        ox, oy = (x1 + x2) / 2, (y1 + y2) / 2
        best_stride = 8 if max(w, h) < 64 else 16 if max(w, h) < 160 else 32
        cost = np.hypot(cx - ox, cy - oy) / stride + np.where(stride == best_stride, 0.0, 1.5)
        chosen = np.argpartition(cost, per_object)[:per_object]
        chosen = chosen[np.argsort(cost[chosen], kind='stable')]
        jitter = rng.normal(0.0, 0.03, (len(chosen), 4))
        out[0, chosen] = ox + w * jitter[:, 0]
        out[1, chosen] = oy + h * jitter[:, 1]
        out[2, chosen] = w * (1 + jitter[:, 2])
        out[3, chosen] = h * (1 + jitter[:, 3])
        decay = np.linspace(1.0, 0.8, len(chosen))
        out[4 + int(cls), chosen] = np.maximum(out[4 + int(cls), chosen], score * decay)
    return out[None]


def fingerprint(tensor: np.ndarray) -> bytes:
    """Return a few hundred input values: they tell clip frames apart, in microseconds."""
    return np.ascontiguousarray(tensor).reshape(-1)[::FINGERPRINT_STEP].tobytes()


class ReplaySession:
    """
    An onnxruntime session stand-in: the real session's interface and metadata, chosen outputs.

    run() first runs the real model (run_model=True: its CPU cost stays real) or sleeps
    sleep_ms (the model on an accelerator: no CPU, GIL released), then returns the output
    stored for that input (by fingerprint); inputs it does not know (warm-up frames) get the
    real model's output. calls counts run() calls.
    """

    def __init__(self, session: Any, outputs: Optional[Dict[bytes, np.ndarray]] = None, *,
                 run_model: bool = True, sleep_ms: Optional[float] = None) -> None:
        self.session = session
        self.outputs = outputs if outputs is not None else {}
        self.run_model = run_model
        self.sleep_s = None if sleep_ms is None else sleep_ms / 1000.0
        self.calls = 0
        self.unknown = 0
        self.run_cpu_s = 0.0  # CPU of the calling threads inside the real session.run
        self._input = session.get_inputs()[0].name

    def __getattr__(self, name: str) -> Any:
        return getattr(self.session, name)

    def run(self, output_names: Any, feed: Dict[str, np.ndarray], *args: Any) -> list:
        self.calls += 1
        tensor = feed[self._input]
        stored = self.outputs.get(fingerprint(tensor))
        real = None
        if self.run_model or stored is None:
            cpu = time.thread_time()
            real = self.session.run(output_names, feed, *args)
            self.run_cpu_s += time.thread_time() - cpu
            if stored is None:
                self.unknown += 1
                return real
        if self.sleep_s is not None:
            time.sleep(self.sleep_s)
        return [stored]


def model_output_name(session: Any) -> str:
    return next((o.name for o in session.get_outputs() if len(o.shape) in (2, 3)),
                session.get_outputs()[0].name)


def real_session(model: Path, threads: Optional[int], spin_wait: bool = True) -> Any:
    """Open an onnxruntime CPU session, noting its pool threads in SESSION_THREADS."""
    import onnxruntime as ort
    options = ort.SessionOptions()
    if threads is not None:
        options.intra_op_num_threads = threads
    try:  # the threads as this version's Detector sets them up
        from stream_infer.detection.onnx_session import thread_config
        config = thread_config(spin_wait)
    except ImportError:  # before thread_config: spinning on or off
        config = {'session.intra_op.allow_spinning': '1' if spin_wait else '0'}
    for key, value in config.items():
        options.add_session_config_entry(key, value)
    before = task_ids()
    session = ort.InferenceSession(str(model), sess_options=options,
                                   providers=['CPUExecutionProvider'])
    SESSION_THREADS[id(session)] = (session, task_ids() - before)
    return session


SESSION_THREADS: Dict[int, tuple] = {}


def model_cpu_s(replay: 'ReplaySession') -> float:
    """CPU seconds the model has used so far: its callers inside run() + its pool threads."""
    entry = SESSION_THREADS.get(id(replay.session))
    pool = tasks_cpu_s(entry[1]) if entry else 0.0
    return replay.run_cpu_s + pool


def record_outputs(session: Any, tensors: Iterable[np.ndarray]) -> Dict[bytes, np.ndarray]:
    """Run the model on each input; returns {fingerprint: output}."""
    feed, output = session.get_inputs()[0].name, model_output_name(session)
    return {fingerprint(t): session.run([output], {feed: t})[0] for t in tensors}


_BUNDLED_OUTPUTS: Dict[int, tuple] = {}


def bundled_outputs(api: Api, frames: Sequence[np.ndarray],
                    threads: Optional[int] = None) -> tuple:
    """Return (session, {fingerprint: output}) of the bundled model on frames (made once)."""
    entry = _BUNDLED_OUTPUTS.get(id(frames))
    if entry is None:
        model = api.bundled_model()
        session = api.session(model, threads)
        plain = api.detector(model, threads=threads)
        outputs = record_outputs(session, [plain.prepare(f).tensor for f in frames])
        plain.close()
        entry = _BUNDLED_OUTPUTS[id(frames)] = (frames, session, outputs)  # frames keep the id
    return entry[1], entry[2]


def yolo_scene_outputs(api: Api, frames: Sequence[np.ndarray], yolo_detector: Any,
                       seed: int = 0) -> tuple:
    """
    Realistic YOLOv8 outputs for the clip frames, from the bundled model's detections.

    Returns ({fingerprint of the YOLO input: output}, candidates above 0.3 per frame (median),
    objects per frame (median)).
    """
    session, outputs = bundled_outputs(api, frames)
    bundled = api.detector(api.bundled_model(),
                           session=ReplaySession(session, outputs, run_model=False))
    rng = np.random.default_rng(seed)
    outputs, candidates, objects = {}, [], []
    for frame in frames:
        found = bundled(frame).detections
        prepared = yolo_detector.prepare(frame)
        g = prepared.geometry
        xyxy = np.asarray(found.xyxy, np.float64) * (g.gain_x, g.gain_y, g.gain_x, g.gain_y)
        xyxy += (g.pad_x, g.pad_y, g.pad_x, g.pad_y)
        out = yolo_scene_output(xyxy, np.asarray(found.confidence), found.class_id, rng)
        outputs[fingerprint(prepared.tensor)] = out
        candidates.append(int((out[0, 4:].max(axis=0) >= 0.3).sum()))
        objects.append(len(found))
    bundled.close()
    return outputs, statistics.median(candidates), statistics.median(objects)


# ------------------------------------------------------------------------------ clocks
def cpu_s() -> float:
    """CPU seconds of this whole process (every thread: ours, onnxruntime's, OpenCV's)."""
    return time.process_time()


def task_ids() -> set:
    """Return the kernel thread ids of this process (Linux; empty elsewhere)."""
    try:
        return {int(tid) for tid in os.listdir('/proc/self/task')}
    except OSError:
        return set()


def tasks_cpu_s(tids: Iterable[int]) -> float:
    """CPU seconds used so far by these threads of this process (Linux /proc; 0 elsewhere)."""
    total = 0
    for tid in tids:
        try:
            with open(f'/proc/self/task/{tid}/stat') as stat:
                fields = stat.read().rsplit(')', 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, IndexError, ValueError):
            continue
    return total / os.sysconf('SC_CLK_TCK')


class Keep:
    """Hold the last few results alive, as a pipeline does (memory reuse like the engine's)."""

    def __init__(self, size: int = 2) -> None:
        self._items: deque = deque(maxlen=size)

    def __call__(self, item: Any) -> Any:
        self._items.append(item)
        return item


def cpu_ms_per_item(fn: Callable[[Any], Any], items: Sequence[Any]) -> float:
    """Process CPU milliseconds per item of fn over items."""
    start = cpu_s()
    for item in items:
        fn(item)
    return (cpu_s() - start) * 1000.0 / max(len(items), 1)


def interleaved(rounds: int, runs: Dict[str, Callable[[], Any]]) -> Dict[str, List[Any]]:
    """Run each function once per round, rotating the order; every result by name."""
    names = list(runs)
    results: Dict[str, List[Any]] = {name: [] for name in names}
    for r in range(rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:
            results[name].append(runs[name]())
    return results


def median(values: Iterable[float]) -> float:
    values = [v for v in values if v == v]
    return statistics.median(values) if values else float('nan')


def load_average() -> str:
    try:
        return ', '.join(f'{v:.1f}' for v in os.getloadavg())
    except OSError:
        return '?'


def machine_line() -> str:
    return (f'{os.cpu_count()} CPUs, load average {load_average()} (other processes share '
            'the CPUs: wall-time ratios are medians of interleaved rounds)')


def thread_count() -> int:
    return threading.active_count()
