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

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
YAML = {'segment': 'yolov8n-seg.yaml', 'obb': 'yolov8n-obb.yaml'}


def without_torchvision() -> None:
    """
    Stand in for torchvision, whose registry wheel is a CUDA build that fails with the CPU torch.

    Ultralytics imports it only for torchvision.ops.nms (and needs its package metadata, so it
    stays installed); its own TorchNMS.nms is documented to match torchvision exactly, so the
    stand-in, put in place before anything imports torchvision, hands NMS to that.
    """
    import types

    stub = types.ModuleType('torchvision')
    sys.modules['torchvision'] = stub
    from ultralytics.utils.nms import TorchNMS

    stub.ops = types.SimpleNamespace(nms=TorchNMS.nms)


def read_frames(path: Path, count: int, step: int) -> list:
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


def compare(task: str, onnx_path: Path, frames: list, confidence: float, iou: float,
            max_det: int) -> bool:
    """Run both post-processings on every frame; print per-frame and overall figures."""
    from ultralytics import YOLO

    from stream_infer.detection import Detector
    from stream_infer.options import PostprocessOptions

    reference = YOLO(str(onnx_path), task=task)
    detector = Detector(onnx_path)
    options = PostprocessOptions(confidence=confidence, iou_threshold=iou, max_candidates=30000,
                                 max_detections=max_det)
    same_frames, mask_ious, counts, worst_box = 0, [], [], 1.0
    worst_corner = 0.0
    for index, frame in enumerate(frames):
        result = reference.predict(frame, conf=confidence, iou=iou, max_det=max_det, imgsz=640,
                                   retina_masks=True, verbose=False)[0]
        ours = detector(frame, options).detections
        ours_xyxy = ours.xyxy
        if task == 'obb':  # the boxes around the corners, unclipped on both sides
            theirs_xyxy = bounds(result.obb.xyxyxyxy.numpy())
            ours_xyxy = bounds(ours.data['xyxyxyxy'])
            theirs_conf, theirs_cls = result.obb.conf.numpy(), result.obb.cls.numpy()
        else:
            theirs_xyxy = result.boxes.xyxy.numpy()
            theirs_conf, theirs_cls = result.boxes.conf.numpy(), result.boxes.cls.numpy()
        ours_i, theirs_i, ious = match(ours_xyxy, theirs_xyxy)
        same = (len(ours) == len(theirs_xyxy) == len(ious) and (ious > 0.99).all()
                and (ours.class_id[ours_i] == theirs_cls[theirs_i]).all())
        same_frames += bool(same)
        counts.append(len(theirs_xyxy))
        if len(ious):
            worst_box = min(worst_box, float(ious.min()))
        score_diff = (np.abs(ours.confidence[ours_i] - theirs_conf[theirs_i]).max()
                      if len(ious) else 0.0)
        line = (f'frame {index:3d}: ultralytics {len(theirs_xyxy):3d} boxes, stream_infer '
                f'{len(ours):3d}, matched {len(ious):3d}, min box IoU '
                f'{ious.min() if len(ious) else 1:.4f}, scores max diff {score_diff:.2e}')
        if task == 'segment' and len(ious):
            theirs_masks = result.masks.data.numpy().astype(bool)
            frame_ious = [mask_iou(ours.mask[i], theirs_masks[j])
                          for i, j in zip(ours_i, theirs_i)]
            mask_ious.extend(frame_ious)
            worst = int(np.argmin(frame_ious))
            ours_mask, theirs_mask = ours.mask[ours_i[worst]], theirs_masks[theirs_i[worst]]
            line += (f', mask IoU min {min(frame_ious):.4f} (a mask of {int(theirs_mask.sum())} '
                     f'px, {int((ours_mask != theirs_mask).sum())} px differ) mean '
                     f'{np.mean(frame_ious):.4f}')
        if task == 'obb' and len(ious):
            theirs_corners = result.obb.xyxyxyxy.numpy()
            far = max(corner_distance(ours.data['xyxyxyxy'][i], theirs_corners[j])
                      for i, j in zip(ours_i, theirs_i))
            worst_corner = max(worst_corner, far)
            line += f', corners max distance {far:.4f} px'
        print(line + ('' if same else '  <- DIFFERENT'))
    print(f'\n{task}: {same_frames}/{len(frames)} frames with the same boxes (one-to-one, box IoU '
          f'> 0.99, same class); {np.mean(counts):.1f} boxes per frame on average; worst matched '
          f'box IoU {worst_box:.4f}')
    ok = same_frames == len(frames)
    if task == 'segment':
        low = np.array(mask_ious)
        print(f'mask IoU over {len(low)} matched detections: min {low.min():.4f}, mean '
              f'{low.mean():.4f}, {(low >= 0.99).mean() * 100:.1f}% >= 0.99')
        ok = ok and bool((low >= 0.99).all())
    if task == 'obb':
        print(f'corners: largest distance between matched corners {worst_corner:.4f} px')
    return ok


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
    print(f'{"PASS" if ok else "FAIL"} ({time.perf_counter() - started:.0f} s)')
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
