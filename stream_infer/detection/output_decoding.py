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
Model output layouts: recognise them from the output shape and metadata, and decode them.

Decoding applies the confidence threshold first (one max over the class scores, then argmax only
for the anchors that pass), so the rest of the pipeline sees a few hundred candidates, not 8400.

    >>> import numpy as np
    >>> layout = detect_layout([1, 84, 8400], (640, 640))
    >>> layout.name, layout.num_classes
    ('yolov8', 80)
    >>> len(decode(np.zeros((1, 84, 8400), np.float32), layout, confidence=0.3))
    0
"""

from dataclasses import dataclass
from typing import Mapping, Optional, Sequence

import numpy as np

from stream_infer.detection.candidates import Candidates, top_k
from stream_infer.detection.rotated import rotated_bounds
from stream_infer.errors import ModelError
from stream_infer.options import LAYOUTS as LAYOUT_CHOICES

LAYOUTS = tuple(name for name in LAYOUT_CHOICES if name != 'auto')
LAYOUT_HELP = ("'yolov8' [1, 4+nc, N] (cx, cy, w, h, class scores; YOLOv8/YOLO11), "
               "'yolov8-seg' [1, 4+nc+32, N] and prototypes [1, 32, H/4, W/4] (instance "
               "segmentation: YOLOv8/11-seg), 'yolov8-obb' [1, 4+nc+1, N] (cx, cy, w, h, class "
               'scores, angle in radians: oriented boxes, YOLOv8/11-obb), '
               "'yolov5' [1, N, 5+nc] (cx, cy, w, h, objectness, class scores; YOLOv5/YOLOv7), "
               "'end2end' [1, N, 6] (x1, y1, x2, y2, score, class; YOLOv10, NMS-included "
               'exports, the bundled CenterNet)')
ANCHOR_FREE = ('yolov8', 'yolov8-seg', 'yolov8-obb')  # [1, 4 + nc + extra, N] heads
TASK_LAYOUTS = {'segment': 'yolov8-seg', 'obb': 'yolov8-obb'}  # Ultralytics metadata `task`
HEAD_STRIDES = (8, 16, 32)  # P3-P5 heads of the YOLO family
YOLOV5_ANCHORS_PER_CELL = 3


@dataclass(frozen=True)
class OutputLayout:
    """A decodable output: its layout name, class count and whether its two axes are swapped."""

    name: str
    num_classes: Optional[int] = None  # None for end2end (class ids come with the boxes)
    transposed: bool = False  # yolov8 as [1, N, 4+nc] or yolov5 as [1, 5+nc, N]
    mask_channels: int = 0  # yolov8-seg: mask coefficients per box (= prototype channels)

    @property
    def task(self) -> str:
        """Return what the boxes carry: 'detect', 'segment' (masks) or 'obb' (rotated boxes)."""
        return {'yolov8-seg': 'segment', 'yolov8-obb': 'obb'}.get(self.name, 'detect')


def grid_cells(input_hw: Sequence[int], strides: Sequence[int] = HEAD_STRIDES) -> int:
    """Anchor points of an anchor-free YOLO head for this input size (8400 at 640x640)."""
    return int(sum(-(-input_hw[0] // s) * -(-input_hw[1] // s) for s in strides))


def metadata_layout_hint(metadata: Mapping[str, str]) -> Optional[str]:
    """Return the layout the metadata names (ultralytics `end2end`, `layout`/`output`), or None."""
    if str(metadata.get('end2end', '')).strip().lower() == 'true':
        return 'end2end'
    task = str(metadata.get('task', '')).strip().lower()
    if task in TASK_LAYOUTS:
        return TASK_LAYOUTS[task]
    for key in ('layout', 'output'):
        text = str(metadata.get(key, '')).lower().replace(' ', '')
        for name in sorted(LAYOUTS, key=len, reverse=True):  # 'yolov8-seg' before 'yolov8'
            if name in text:
                return name
        if 'x1,y1,x2,y2' in text:
            return 'end2end'
    return None


def refuse_pose(metadata: Mapping[str, str]) -> None:
    """Raise ModelError for a pose model (keypoints: no vision_msgs type, not decoded)."""
    if str(metadata.get('task', '')).strip().lower() == 'pose' or 'kpt_shape' in metadata:
        raise ModelError(
            'pose model (YOLOv8/11-pose layout [1, 4+nc+K*3, N]: boxes and K keypoints) is not '
            f'supported (kpt_shape {metadata.get("kpt_shape", "?")}); supported: boxes, '
            'instance segmentation (-seg) and oriented boxes (-obb)')


def describe_undecodable(input_desc: str, output_desc: str, reason: str) -> str:
    """Error text naming what was found and what is supported."""
    return (f'cannot decode the model output ({reason}); model input {input_desc}, outputs '
            f'{output_desc}; supported layouts: {LAYOUT_HELP}. Pass layout=... to choose one '
            'explicitly.')


def _squeeze_batch(shape: Sequence) -> Optional[tuple]:
    """Return (A, B) for a [1, A, B] or [A, B] output with known dims, else None."""
    dims = tuple(shape)
    if len(dims) == 3 and dims[0] in (1, None):
        dims = dims[1:]
    if len(dims) != 2 or not all(isinstance(d, int) and d > 0 for d in dims):
        return None
    return dims


def detect_layout(shape: Sequence, input_hw: Sequence[int], requested: str = 'auto',
                  metadata: Optional[Mapping[str, str]] = None,
                  describe: tuple = ('?', '?'),
                  mask_channels: Optional[int] = None) -> OutputLayout:
    """
    Choose how to decode an output of this shape; ModelError naming shapes when impossible.

    shape is the real output shape (batch of one); input_hw the model input size, used to tell
    [1, 8400, 84] (transposed YOLOv8) from [1, 25200, 85] (YOLOv5) by their anchor counts.
    describe = (input description, output description) for the error message. mask_channels:
    the channels of a prototype output [1, C, h, w] beside it (a segmentation model).
    """
    if requested not in LAYOUT_CHOICES:
        raise ModelError(f'layout {requested!r}: expected one of {LAYOUT_CHOICES}')
    refuse_pose(metadata or {})
    dims = _squeeze_batch(shape)
    if dims is None:
        raise ModelError(describe_undecodable(
            *describe, f'expected a [1, A, B] tensor, got shape {list(shape)}'))
    rows, cols = dims
    name = requested if requested != 'auto' else metadata_layout_hint(metadata or {})
    cells = grid_cells(input_hw)
    if name is None and mask_channels:
        name = 'yolov8-seg'
    if name is None:
        name = _layout_from_shape(rows, cols, cells)
    if name is None:
        raise ModelError(describe_undecodable(
            *describe, f'no layout matches a [1, {rows}, {cols}] output'))
    return _fit(name, rows, cols, cells, describe, mask_channels or 0)


def _layout_from_shape(rows: int, cols: int, cells: int) -> Optional[str]:
    anchors, attrs = max(rows, cols), min(rows, cols)
    if anchors == YOLOV5_ANCHORS_PER_CELL * cells and attrs >= 6:
        return 'yolov5'
    if anchors == cells and attrs >= 5:
        return 'yolov8'
    if cols == 6:  # any number of rows, also fewer than 6 (few detections)
        return 'end2end'
    if attrs < 5 or rows == cols:
        return None
    # No anchor count to go by: the usual orientation of each family decides.
    if rows < cols:
        return 'yolov8'
    return 'yolov5' if cols >= 6 else None


def _fit(name: str, rows: int, cols: int, cells: int, describe: tuple,
         mask_channels: int = 0) -> OutputLayout:
    """Check that the layout can decode [1, rows, cols]; work out classes and orientation."""
    def fail(why: str) -> ModelError:
        return ModelError(describe_undecodable(*describe, f'layout {name!r}: {why}'))

    if name == 'end2end':
        if cols != 6:
            raise fail(f'needs [1, N, 6], got [1, {rows}, {cols}]')
        return OutputLayout('end2end')
    if name == 'yolov8-seg' and not mask_channels:
        raise fail('needs a second output of prototypes [1, C, H/4, W/4], the model has none')
    extra = {'yolov5': 5, 'yolov8-obb': 5, 'yolov8-seg': 4 + mask_channels}.get(name, 4)
    anchors_axis_is_rows = rows > cols
    if rows == cols:  # square: trust the family's usual orientation
        anchors_axis_is_rows = name == 'yolov5'
    attrs = cols if anchors_axis_is_rows else rows
    if attrs < extra + 1:
        raise fail(f'needs at least {extra + 1} values per box, got [1, {rows}, {cols}]')
    transposed = anchors_axis_is_rows if name in ANCHOR_FREE else not anchors_axis_is_rows
    return OutputLayout(name, attrs - extra, transposed,
                        mask_channels if name == 'yolov8-seg' else 0)


def score_values(raw: np.ndarray, layout: OutputLayout) -> np.ndarray:
    """Return the values a layout reads as scores in one raw output (without padding rows)."""
    pred = raw.reshape(raw.shape[-2:])
    if layout.name == 'end2end':
        return pred[pred[:, 5] >= 0, 4]
    if layout.name in ANCHOR_FREE:
        return (pred.T if layout.transposed else pred)[4:4 + layout.num_classes]
    return (pred.T if layout.transposed else pred)[:, 4:]


def misfit_reason(raw: np.ndarray, layout: OutputLayout, tolerance: float = 1e-3
                  ) -> Optional[str]:
    """
    Why a layout cannot be how this output is meant to be read (its scores are not 0..1), or None.

    Reading an output with the wrong layout takes coordinates or class ids for scores (a
    CenterNet [1, 100, 6] read as yolov8 gave 'scores' of 74), so an output whose score values
    leave 0..1 on a warm-up frame does not fit the layout (or gives raw logits, which the
    thresholds cannot be applied to either).

        >>> misfit_reason(np.array([[[10, 10, 50, 50, 0.9, 74]]], np.float32),
        ...               OutputLayout('yolov8', 2, transposed=True))
        'its score values range from 0.9 to 74, not within 0..1'
    """
    scores = score_values(raw, layout)
    scores = scores[np.isfinite(scores)]
    if scores.size == 0:
        return None
    low, high = float(scores.min()), float(scores.max())
    if low < -tolerance or high > 1.0 + tolerance:
        return f'its score values range from {low:.3g} to {high:.3g}, not within 0..1'
    return None


def decode(raw: np.ndarray, layout: OutputLayout, confidence: float,
           max_candidates: Optional[int] = None) -> Candidates:
    """
    Boxes with score >= confidence from one raw output, in model-input pixels.

    With max_candidates, only the best that many are decoded (the top-k that follows would
    drop the rest anyway): for YOLOv8 outputs this skips the argmax over 80 classes for
    thousands of anchors. Leave it None when a class filter comes next.
    """
    pred = raw.reshape(raw.shape[-2:])
    if layout.name == 'end2end':
        return _decode_end2end(pred, confidence)
    if layout.name in ANCHOR_FREE:
        return _decode_yolov8(pred.T if layout.transposed else pred, confidence, max_candidates,
                              layout)
    return _decode_yolov5(pred.T if layout.transposed else pred, confidence)


def _cxcywh_to_xyxy(cx: np.ndarray, cy: np.ndarray, w: np.ndarray, h: np.ndarray) -> np.ndarray:
    half_w, half_h = w * 0.5, h * 0.5
    return np.stack((cx - half_w, cy - half_h, cx + half_w, cy + half_h), axis=1).astype(
        np.float32, copy=False)


def _decode_yolov8(pred: np.ndarray, confidence: float, max_candidates: Optional[int],
                   layout: OutputLayout) -> Candidates:
    """
    pred: (4 + nc + extra, N), rows cx, cy, w, h, class scores, then the extra rows.

    yolov8-seg: the extra rows are the mask coefficients; yolov8-obb: one row, the angle.
    """
    class_scores = pred[4:4 + layout.num_classes]
    best = class_scores.max(axis=0)
    index = np.flatnonzero(best >= confidence)
    if index.size == 0:
        return Candidates.empty()
    if max_candidates is not None and index.size > max_candidates:
        index = index[top_k(best[index], max_candidates)]
    boxes = pred[:4, index]
    class_ids = class_scores[:, index].argmax(axis=0).astype(np.int64)
    scores = best[index].astype(np.float32)
    if layout.name == 'yolov8-obb':
        rotated = np.concatenate((boxes, pred[-1:, index])).T.astype(np.float32)
        return Candidates(rotated_bounds(rotated), scores, class_ids, rotated=rotated)
    coefficients = None
    if layout.name == 'yolov8-seg':
        coefficients = pred[4 + layout.num_classes:, index].T.astype(np.float32)
    return Candidates(_cxcywh_to_xyxy(*boxes), scores, class_ids, coefficients=coefficients)


def _decode_yolov5(pred: np.ndarray, confidence: float) -> Candidates:
    """pred: (N, 5 + nc), columns cx, cy, w, h, objectness, class scores; score = obj * cls."""
    # obj * cls <= obj for probabilities, so the objectness threshold prunes safely first.
    index = np.flatnonzero(pred[:, 4] >= confidence)
    if index.size == 0:
        return Candidates.empty()
    rows = pred[index]
    scores = rows[:, 5:] * rows[:, 4:5]
    class_ids = scores.argmax(axis=1)
    best = scores[np.arange(len(rows)), class_ids]
    keep = best >= confidence
    rows = rows[keep]
    return Candidates(_cxcywh_to_xyxy(rows[:, 0], rows[:, 1], rows[:, 2], rows[:, 3]),
                      best[keep].astype(np.float32), class_ids[keep].astype(np.int64))


def _decode_end2end(pred: np.ndarray, confidence: float) -> Candidates:
    """pred: (N, 6) rows x1, y1, x2, y2, score, class; negative classes are padding."""
    keep = (pred[:, 4] >= confidence) & (pred[:, 5] >= 0)
    rows = pred[keep]
    return Candidates(rows[:, :4].astype(np.float32),
                      rows[:, 4].astype(np.float32),
                      np.rint(rows[:, 5]).astype(np.int64))
