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
Cross-check stream_infer's -seg / -obb decoding against Ultralytics' own post-processing.

No pretrained seg/OBB weights can be downloaded, so this builds yolov8n-seg / yolov8n-obb from
their yaml with random weights, re-estimates the BatchNorm statistics on real frames of the
clip (so activations, boxes and masks are not degenerate), sets the class biases so a few tens
of boxes pass the threshold, exports the model to ONNX with Ultralytics, then runs the same ONNX
file on the same frames through Ultralytics' predictor (letterbox, NMS, retina masks) and
through stream_infer's Detector, and compares per frame: the same boxes (matched one to one,
IoU of the axis-aligned boxes and corner distance for OBB), and the IoU of each pair of masks.

Run it in a throw-away tools venv (torch CPU + ultralytics; not a runtime dependency):

    python3 -m venv .venv-tools && . .venv-tools/bin/activate
    pip install torch==2.13.0 torchvision==0.28.0 ultralytics onnx onnxruntime onnxslim \
        'supervision==0.30.*'      # torchvision is not used: see without_torchvision()
    PYTHONPATH=. python scripts/crosscheck_ultralytics.py --task segment --frames 20
    PYTHONPATH=. python scripts/crosscheck_ultralytics.py --task obb --frames 20
"""

import argparse
from pathlib import Path
import sys
import tempfile
import time
from typing import NamedTuple, Optional

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
YAML = {'detect': 'yolov8n.yaml', 'segment': 'yolov8n-seg.yaml', 'obb': 'yolov8n-obb.yaml'}


def without_torchvision() -> None:
    """
    Stand in for torchvision, whose registry wheel is a CUDA build that fails with the CPU torch.

    Ultralytics imports it only for torchvision.ops.nms (and needs its package metadata, so it
    stays installed); its own TorchNMS.nms is documented to match torchvision exactly, so the
    stand-in, put in place before anything imports torchvision, hands NMS to that.
    """
    import types

    if 'torchvision' in sys.modules:
        return
    stub = types.ModuleType('torchvision')
    sys.modules['torchvision'] = stub
    from ultralytics.utils.nms import TorchNMS

    stub.ops = types.SimpleNamespace(nms=TorchNMS.nms)


def read_frames(path: Path, count: int, step: int = 1) -> list:
    """Return count BGR frames of the clip, step frames apart."""
    capture = cv2.VideoCapture(str(path))
    frames, index = [], 0
    while len(frames) < count:
        ok, frame = capture.read()
        if not ok:
            break
        if index % step == 0:
            frames.append(frame)
        index += 1
    capture.release()
    if not frames:
        sys.exit(f'no frames read from {path}')
    return frames


def letterboxed_batch(frames: list, size: int = 640):
    """Return an RGB 0..1 NCHW torch batch of letterboxed frames (for BatchNorm statistics)."""
    import torch

    from stream_infer.detection.preprocess import InputSpec, Preprocessor

    prepare = Preprocessor(InputSpec(size, size))
    return torch.from_numpy(np.concatenate([prepare(frame)[0] for frame in frames]))


def random_model(task: str, frames: list, class_bias: float, seed: int):
    """Build the yaml model, re-estimate BatchNorm on the frames, set the class biases."""
    import torch
    from ultralytics import YOLO

    torch.manual_seed(seed)
    yolo = YOLO(YAML[task])
    net = yolo.model
    for module in net.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.reset_running_stats()
            module.momentum = None  # a cumulative average over every batch seen
    net.train()
    batch = letterboxed_batch(frames)
    with torch.no_grad():
        for start in range(0, len(batch), 4):
            net(batch[start:start + 4])
    net.eval()
    head = net.model[-1]
    with torch.no_grad():
        for branch in head.cv3:  # the class-score branch of each stride
            branch[-1].bias.fill_(class_bias)
    return yolo


def export_onnx(yolo, directory: Path) -> Path:
    """Export with Ultralytics (opset 17, fixed 640x640 input); return the ONNX path."""
    out = yolo.export(format='onnx', imgsz=640, opset=17, simplify=False, dynamic=False,
                      verbose=False)
    target = directory / Path(out).name
    Path(out).replace(target)
    return target


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Return the (len(a), len(b)) IoU of xyxy boxes."""
    from stream_infer.detection.nms import iou_between

    return iou_between(np.asarray(a, np.float64), np.asarray(b, np.float64))


def match(ours: np.ndarray, theirs: np.ndarray) -> tuple:
    """Greedy one-to-one matching by box IoU: (our index, their index, IoU) arrays."""
    iou = box_iou(ours, theirs)
    pairs = []
    while iou.size and iou.max() > 0:
        i, j = np.unravel_index(np.argmax(iou), iou.shape)
        pairs.append((i, j, iou[i, j]))
        iou[i, :], iou[:, j] = -1, -1
    if not pairs:
        return np.zeros(0, int), np.zeros(0, int), np.zeros(0)
    ours_i, theirs_i, ious = map(np.array, zip(*pairs))
    return ours_i, theirs_i, ious


def bounds(corners: np.ndarray) -> np.ndarray:
    """Return the (N, 4) xyxy boxes around (N, 4, 2) corners."""
    corners = np.asarray(corners, np.float64).reshape(-1, 4, 2)
    return np.concatenate((corners.min(axis=1), corners.max(axis=1)), axis=1)


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)


def corner_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Largest distance from a corner of one quadrilateral to the nearest corner of the other."""
    distance = np.linalg.norm(a[:, None] - b[None], axis=2)
    return float(max(distance.min(axis=0).max(), distance.min(axis=1).max()))


class Found(NamedTuple):
    """What one post-processing found on a frame (frame pixels)."""

    xyxy: np.ndarray                 # (N, 4): for OBB the unclipped box around the corners
    confidence: np.ndarray
    class_id: np.ndarray
    masks: Optional[np.ndarray] = None     # (N, H, W) bool
    corners: Optional[np.ndarray] = None   # (N, 4, 2)


def ours_found(detections) -> Found:
    corners = detections.data.get('xyxyxyxy')
    return Found(detections.xyxy if corners is None else bounds(corners),
                 detections.confidence, detections.class_id, detections.mask, corners)


def predictor_found(result, task: str) -> Found:
    """Found by Ultralytics' predictor (its preprocessing, ONNX Runtime run, post-processing)."""
    if task == 'obb':
        corners = result.obb.xyxyxyxy.numpy()
        return Found(bounds(corners), result.obb.conf.numpy(), result.obb.cls.numpy(),
                     corners=corners)
    masks = None if result.masks is None else result.masks.data.numpy().astype(bool)
    return Found(result.boxes.xyxy.numpy(), result.boxes.conf.numpy(), result.boxes.cls.numpy(),
                 masks)


def raw_found(task: str, raw, frame_hw: tuple, confidence: float, iou: float, max_det: int,
              classes: int) -> Found:
    """Found by Ultralytics' post-processing functions on the very output stream_infer decoded."""
    import torch
    from ultralytics.utils import nms, ops

    boxes = torch.from_numpy(np.array(raw[0] if isinstance(raw, tuple) else raw))
    pred = nms.non_max_suppression(boxes, confidence, iou, max_det=max_det, nc=classes,
                                   rotated=task == 'obb')[0]
    if task == 'obb':  # as ultralytics' OBBPredictor.construct_result and its OBB results
        rboxes = torch.cat([pred[:, :4], pred[:, -1:]], dim=-1)
        rboxes[:, :4] = ops.scale_boxes((640, 640), rboxes[:, :4], frame_hw, xywh=True)
        corners = ops.xywhr2xyxyxyxy(rboxes).numpy()
        return Found(bounds(corners), pred[:, 4].numpy(), pred[:, 5].numpy(), corners=corners)
    pred[:, :4] = ops.scale_boxes((640, 640), pred[:, :4], frame_hw)  # retina_masks path
    masks = ops.process_mask_native(torch.from_numpy(np.array(raw[1]))[0], pred[:, 6:],
                                    pred[:, :4], frame_hw).numpy().astype(bool)
    return Found(pred[:, :4].numpy(), pred[:, 4].numpy(), pred[:, 5].numpy(), masks)


class Tally:
    """Per-frame comparisons of stream_infer with one reference, and the totals."""

    def __init__(self, name: str) -> None:
        self.name, self.frames, self.same, self.empty_extra = name, 0, 0, 0
        self.mask_ious: list = []
        self.worst_box, self.worst_corner, self.score_diff = 1.0, 0.0, 0.0

    def add(self, ours: Found, theirs: Found) -> str:
        ours_i, theirs_i, ious = match(ours.xyxy, theirs.xyxy)
        # Ultralytics drops a detection whose mask came out empty (stream_infer keeps it: its
        # boxes do not depend on whether masks are made); such extra boxes are counted apart.
        extra = np.setdiff1d(np.arange(len(ours.xyxy)), ours_i)
        empty = (ours.masks is not None and len(extra)
                 and not ours.masks[extra].any(axis=(1, 2)).any())
        self.empty_extra += len(extra) if empty else 0
        same = (len(ious) == len(theirs.xyxy) and (not len(extra) or empty)
                and bool((ious > 0.99).all())
                and bool((ours.class_id[ours_i] == theirs.class_id[theirs_i]).all()))
        self.frames += 1
        self.same += bool(same)
        if len(ious):
            self.worst_box = min(self.worst_box, float(ious.min()))
            self.score_diff = max(self.score_diff, float(np.abs(
                ours.confidence[ours_i] - theirs.confidence[theirs_i]).max()))
        line = (f'{self.name}: {len(theirs.xyxy):3d} boxes, stream_infer {len(ours.xyxy):3d}'
                f'{f" ({len(extra)} with an empty mask)" if empty else ""}, matched '
                f'{len(ious):3d}, min box IoU {ious.min() if len(ious) else 1:.4f}')
        if ours.masks is not None and len(ious):
            pair_ious = [mask_iou(ours.masks[i], theirs.masks[j])
                         for i, j in zip(ours_i, theirs_i)]
            self.mask_ious.extend(pair_ious)
            worst = int(np.argmin(pair_ious))
            mine, other = ours.masks[ours_i[worst]], theirs.masks[theirs_i[worst]]
            line += (f', mask IoU min {min(pair_ious):.4f} ({int((mine != other).sum())} of '
                     f'{int(other.sum())} px differ)')
        if ours.corners is not None and len(ious):
            far = max(corner_distance(ours.corners[i], theirs.corners[j])
                      for i, j in zip(ours_i, theirs_i))
            self.worst_corner = max(self.worst_corner, far)
            line += f', corners max distance {far:.4f} px'
        return line + ('' if same else '  <- DIFFERENT')

    def summary(self) -> bool:
        print(f'\n{self.name}: {self.same}/{self.frames} frames with the same boxes (one to one, '
              f'box IoU > 0.99, same class'
              + (f'; {self.empty_extra} boxes of stream_infer with an empty mask, which '
                 'Ultralytics drops, set apart' if self.empty_extra else '')
              + f'); worst matched box IoU {self.worst_box:.4f}, scores differ by at most '
              f'{self.score_diff:.1e}')
        ok = self.same == self.frames
        if self.mask_ious:
            low = np.array(self.mask_ious)
            print(f'  mask IoU over {len(low)} matched detections: min {low.min():.4f}, mean '
                  f'{low.mean():.5f}, {int((low < 0.99).sum())} below 0.99')
            ok = ok and bool((low >= 0.99).all())
        if self.worst_corner:
            print(f'  corners: largest distance between matched corners '
                  f'{self.worst_corner:.4f} px')
        return ok


def compare(task: str, onnx_path: Path, frames: list, confidence: float, iou: float,
            max_det: int) -> bool:
    """Compare stream_infer with Ultralytics' predictor and with its post-processing alone."""
    from ultralytics import YOLO

    from stream_infer.detection import Detector
    from stream_infer.options import PostprocessOptions

    reference = YOLO(str(onnx_path), task=task)
    detector = Detector(onnx_path)
    options = PostprocessOptions(confidence=confidence, iou_threshold=iou, max_candidates=30000,
                                 max_detections=max_det)
    classes = len(detector.class_names)
    predictor, same_output = Tally('predictor'), Tally('same output')
    for index, frame in enumerate(frames):
        inferred = detector.infer(detector.prepare(frame))
        ours = ours_found(detector.postprocess(inferred, options).detections)
        result = reference.predict(frame, conf=confidence, iou=iou, max_det=max_det, imgsz=640,
                                   retina_masks=True, verbose=False)[0]
        print(f'frame {index:3d}: ' + predictor.add(ours, predictor_found(result, task)))
        print('           ' + same_output.add(ours, raw_found(
            task, inferred.output, frame.shape[:2], confidence, iou, max_det, classes)))
    print("\npredictor: Ultralytics' predictor on the frame (its own preprocessing and run);"
          "\nsame output: Ultralytics' post-processing on the very output stream_infer decoded")
    end_to_end, decoding = predictor.summary(), same_output.summary()
    print(f'\ndecoding (same output): {"PASS" if decoding else "FAIL"}; end to end (predictor): '
          f'{"PASS" if end_to_end else "FAIL"} (its input tensor differs from ours by float '
          'rounding, so scores differ by ~1e-5 and a box edge at a whole pixel can move a row)')
    return decoding


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--task', choices=sorted(YAML), required=True)
    parser.add_argument('--clip', type=Path, default=ROOT / 'media' / 'vtest_clip.mp4')
    parser.add_argument('--frames', type=int, default=20, help='frames compared')
    parser.add_argument('--step', type=int, default=5, help='clip frames between them')
    parser.add_argument('--confidence', type=float, default=0.25)
    parser.add_argument('--class-bias', type=float, default=-5.0,
                        help='class-score bias of the random head (more boxes when higher)')
    parser.add_argument('--iou', type=float, default=0.45)
    parser.add_argument('--max-det', type=int, default=100)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--keep', type=Path, help='keep the exported ONNX file here')
    args = parser.parse_args()
    without_torchvision()
    frames = read_frames(args.clip, args.frames, args.step)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        yolo = random_model(args.task, frames, args.class_bias, args.seed)
        onnx_path = export_onnx(yolo, Path(args.keep or tmp))
        print(f'exported {onnx_path} ({time.perf_counter() - started:.0f} s)')
        ok = compare(args.task, onnx_path, frames, args.confidence, args.iou, args.max_det)
    print(f'{time.perf_counter() - started:.0f} s')
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
