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
`stream-infer quantize`: INT8 agreement on a small conv detector, the command, the refusal.

Real files (PNG frames, a video, ONNX models written by onnx), real onnxruntime quantization
and sessions; no timed assertions (the report's timings are only checked to be there).
"""

from pathlib import Path
import subprocess
import sys

import cv2
import numpy as np
from onnx_graphs import conv_relu_conv_model, qdq_float_depthwise_model, tiny_detector_model
import pytest
import supervision as sv

from stream_infer.cli import main
from stream_infer.detection import Detector
from stream_infer.quantize.agreement import compare, detect_all
from stream_infer.quantize.frames import load_frames

SIZE = 64


def scene(rng: np.random.Generator, near_threshold: bool = False) -> np.ndarray:
    """Return a BGR frame: grey noise, red and blue rectangles (or cells near 0.5 red)."""
    if near_threshold:  # every cell's red close to where the class-0 score crosses 0.25
        red = rng.uniform(0.38, 0.48, (SIZE // 4, SIZE // 4))
        frame = np.zeros((SIZE, SIZE, 3), np.uint8)
        frame[..., 2] = np.kron(red, np.ones((4, 4))) * 255
        return frame
    frame = rng.integers(40, 90, (SIZE, SIZE, 3), dtype=np.uint8)
    for colour in ((0, 0, 230), (230, 0, 0)):
        x, y = rng.integers(0, SIZE - 16, 2) // 4 * 4
        w, h = rng.integers(2, 4, 2) * 4
        frame[y:y + h, x:x + w] = colour
    return frame


def write_frames(directory: Path, count: int, seed: int, **kwargs) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(count):
        cv2.imwrite(str(directory / f'{i:04d}.png'), scene(rng, **kwargs))
    return directory


def quantize(tmp_path: Path, model: Path, calibration: Path, *extra: str) -> tuple:
    out = tmp_path / 'int8.onnx'
    code = main(['quantize', str(model), '-o', str(out), '--calibration', str(calibration),
                 '--frames', '16', '--timing-rounds', '1', '--threads', '1', *extra])
    return code, out


def test_decode_tail_and_heads_found_from_the_graph(tmp_path):
    from lazy_onnx import onnx
    from stream_infer.quantize.float_nodes import decode_tail, head_layers
    model = onnx.load(str(tiny_detector_model(tmp_path / 'fp32.onnx')))
    assert set(decode_tail(model)) == {
        'flatten', 'split', 'unbias_xy', 'xy_sigmoid', 'xy_offset', 'xy_decode', 'unbias_wh',
        'wh_sigmoid', 'wh_decode', 'score_sigmoid', 'concat'}
    assert head_layers(model) == ['head']


def test_a_layer_kept_in_float_in_a_qdq_model_runs_in_float(tmp_path):
    # onnxruntime's WeightBiasQuantization (>= 1.20) would quantize its weights per tensor and
    # round the small channel's weight (0.003, scale 1/127) to 0; sessions turn it off.
    from stream_infer.detection.onnx_session import create_session
    session = create_session(qdq_float_depthwise_model(tmp_path / 'qdq.onnx'), ['cpu'],
                             threads=1)
    x = np.zeros((1, 2, 4, 4), np.float32)
    x[0, 0] = 1.0
    x[0, 1] = np.arange(16, dtype=np.float32).reshape(4, 4) * 16.0  # 0 .. 240, exact in uint8
    y = session.run(None, {'x': x})[0]
    assert np.allclose(y[0, 0], 1.0)
    assert np.abs(y[0, 1] - x[0, 1] * 0.003).max() <= 0.5 / 255 + 1e-6, y[0, 1]
    assert y[0, 1].max() > 0.7


def test_cross_layer_equalization_keeps_the_output_and_balances_the_channels(tmp_path):
    import onnxruntime as ort
    from lazy_onnx import numpy_helper, onnx
    from stream_infer.quantize.equalize import equalize, relu_pairs
    path = conv_relu_conv_model(tmp_path / 'fp32.onnx')
    model = onnx.load(str(path))
    assert relu_pairs(model, numpy_helper) == [('first', ['depthwise']), ('depthwise', ['last'])]
    assert equalize(model, numpy_helper) == 2
    onnx.save(model, str(tmp_path / 'cle.onnx'))
    x = np.random.default_rng(0).uniform(-1, 1, (1, 2, 8, 8)).astype(np.float32)
    before, after = (ort.InferenceSession(str(p), providers=['CPUExecutionProvider']).run(
        None, {'x': x})[0] for p in (path, tmp_path / 'cle.onnx'))
    assert np.allclose(before, after, rtol=1e-4, atol=1e-5)
    w = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    r1 = np.abs(w['w1']).reshape(2, -1).max(axis=1)  # 0.01 and 10 times N(0, 1) before
    assert r1.max() / r1.min() < 10, r1

    clip = onnx.load(str(conv_relu_conv_model(tmp_path / 'clip.onnx', activation='Clip')))
    assert relu_pairs(clip, numpy_helper) == [('depthwise', ['last'])]  # relu6: not rescaled


def test_agreement_counts_matches_of_the_same_class_only():
    def dets(boxes, scores, classes):
        return sv.Detections(xyxy=np.array(boxes, np.float32).reshape(-1, 4),
                             confidence=np.array(scores, np.float32),
                             class_id=np.array(classes, np.int64))
    reference = [dets([[0, 0, 10, 10], [20, 20, 30, 30]], [0.9, 0.5], [0, 1]),
                 dets([], [], [])]
    candidate = [dets([[0, 0, 10, 11], [20, 20, 30, 30], [50, 50, 60, 60]], [0.8, 0.6, 0.4],
                      [0, 0, 1]),
                 dets([], [], [])]
    a = compare(reference, candidate)
    assert (a.reference, a.candidate, a.matched) == (2, 3, 1)  # the class-1 box has no match
    assert a.precision == pytest.approx(1 / 3) and a.recall == pytest.approx(0.5)
    assert a.f1 == pytest.approx(2 / 5)
    assert a.mean_iou == pytest.approx(100 / 110)
    assert a.score_shift == pytest.approx(-0.1)
    assert a.unmatched == 3 and a.unmatched_near_threshold == 0
    assert compare(reference, candidate, confidence=0.35).unmatched_near_threshold == 1  # 0.4


def test_int8_version_of_a_small_detector_agrees_with_fp32(tmp_path, capsys):
    model = tiny_detector_model(tmp_path / 'fp32.onnx')
    code, out = quantize(tmp_path, model, write_frames(tmp_path / 'calib', 16, seed=1))
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert 'held-out agreement with fp32' in printed.out and 'ms/frame' in printed.out
    assert 'engine with tracking' in printed.out and f'wrote {out}' in printed.out
    assert '2 Conv -> Relu -> Conv pairs equalized first' in printed.out

    # The file is a QDQ model with the decode tail in float, and says what was done.
    from lazy_onnx import onnx
    int8 = onnx.load(str(out))
    ops = [n.op_type for n in int8.graph.node]
    assert ops.count('QuantizeLinear') >= 3 and 'DequantizeLinear' in ops
    quantized = {o for n in int8.graph.node if n.op_type == 'QuantizeLinear' for o in n.output}
    tail = [n for n in int8.graph.node if n.name in ('score_sigmoid', 'concat', 'split')]
    assert len(tail) == 3 and not any(set(n.input) & quantized for n in tail)
    props = {p.key: p.value for p in int8.metadata_props}
    assert props['quantization'] == 'int8 QDQ'
    assert props['quantization_method'] == 'Percentile 99.99'
    assert props['quantization_frames'] == '12' and props['quantization_source'] == 'calib'
    assert 'score_sigmoid' in props['quantization_float_nodes'].split(',')
    assert props['quantization_equalized_pairs'] == '2'  # conv1 -> relu1 -> conv2 -> relu2 -> head
    assert props['names'] == "{0: 'red', 1: 'blue'}"  # the model's own metadata is kept

    # The engine takes it as any model and says what it is; it agrees with fp32 on new frames.
    rng = np.random.default_rng(7)
    frames = [scene(rng) for _ in range(20)]
    with Detector(str(model), threads=1) as fp32, Detector(str(out), threads=1) as q:
        assert q.precision == 'int8 (QDQ, calibrated on 12 frames of calib)'
        assert fp32.precision == 'float'
        reference = detect_all(fp32, frames)
        agreement = compare(reference, detect_all(q, frames))
    assert sum(len(d) for d in reference) >= 20  # the frames do have objects
    assert agreement.f1 >= 0.95, agreement.summary()


def test_quantize_refuses_below_min_agreement_and_writes_nothing(tmp_path, capsys):
    # Box channels 1000 away from the scores share one uint8 scale: the scores are lost.
    model = tiny_detector_model(tmp_path / 'fp32.onnx', box_bias=1000.0, score_gain=40.0)
    calibration = write_frames(tmp_path / 'calib', 16, seed=2, near_threshold=True)
    # MinMax: the per-tensor range spans both the boxes and the scores (as built above).
    args = ('--max-float-layers', '0', '--method', 'MinMax')
    code, out = quantize(tmp_path, model, calibration, *args)
    err = capsys.readouterr().err
    assert code == 1
    assert not out.exists()
    assert 'refused: F1' in err and 'below --min-agreement 0.95; no file written' in err

    code, out = quantize(tmp_path, model, calibration, *args, '--force', '--no-equalize')
    assert code == 0 and out.exists()
    printed = capsys.readouterr().out
    assert 'written because of --force' in printed and 'equalized first' not in printed
    from lazy_onnx import onnx
    props = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    assert props['quantization_equalized_pairs'] == '0'


def test_quantize_says_which_package_is_missing_without_onnx(tmp_path):
    model = tiny_detector_model(tmp_path / 'fp32.onnx')
    calibration = write_frames(tmp_path / 'calib', 4, seed=3)
    argv = ['quantize', str(model), '-o', str(tmp_path / 'q.onnx'), '--calibration',
            str(calibration)]
    code = ('import sys\n'
            'sys.modules["onnx"] = None  # what an install without onnx gives\n'
            'from stream_infer.cli import main\n'
            f'sys.exit(main({argv!r}))')
    done = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and 'needs the Python package onnx' in lines[0], done.stderr
    assert not (tmp_path / 'q.onnx').exists()


def test_video_calibration_frames_are_spread_over_the_whole_video(tmp_path):
    path = tmp_path / 'clip.avi'
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'MJPG'), 10, (32, 32))
    for i in range(50):
        writer.write(np.full((32, 32, 3), i * 5, np.uint8))
    writer.release()
    frames = load_frames(str(path), 5)
    levels = [int(round(f.mean() / 5)) for f in frames]
    assert levels == [0, 12, 24, 37, 49]


def test_capture_dataset_directory_gives_its_images_only(tmp_path):
    day = tmp_path / 'captures' / '2026-05-04'
    write_frames(day / 'images', 6, seed=4)
    (day / 'labels').mkdir()
    for i in range(6):
        (day / 'labels' / f'{i:04d}.txt').write_text('0 0.5 0.5 0.1 0.1\n')
    (day / 'data.yaml').write_text('names: [red, blue]\n')
    frames = load_frames(str(tmp_path / 'captures'), 4)
    assert len(frames) == 4 and all(f.shape == (SIZE, SIZE, 3) for f in frames)
    with pytest.raises(ValueError, match='holds no image files'):
        load_frames(str(day / 'labels'), 4)
