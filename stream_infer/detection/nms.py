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
Candidate selection after decoding: class filter, top-k, non-maximum suppression, max detections.

    >>> import numpy as np
    >>> boxes = np.array([[0, 0, 10, 10], [1, 1, 10, 10], [20, 20, 30, 30]], np.float32)
    >>> nms(boxes, np.array([0.9, 0.8, 0.7]), iou_threshold=0.5).tolist()
    [0, 2]

NMS is exact greedy NMS (a box is dropped when it overlaps a kept, higher-scoring box of the
same class by IoU > threshold) computed without a per-box Python loop: the pairwise suppression
matrix is built at once and the greedy keep-set is its unique fixpoint, reached after as many
vectorised passes as the longest chain of boxes suppressing each other (usually 2-3).
"""

from typing import Optional, Sequence

import numpy as np

from stream_infer.detection.candidates import Candidates, score_order, top_k
from stream_infer.detection.rotated import probiou_between

# Above this many candidates the K x K matrix gets large; fall back to the sequential form.
MATRIX_NMS_LIMIT = 2048


def pairwise_iou(xyxy: np.ndarray) -> np.ndarray:
    """Return the IoU of every pair of boxes (K x K, float64); 0 where the union is empty."""
    return np.nan_to_num(_iou_matrix(xyxy), copy=False, nan=0.0)


def _iou_matrix(xyxy: np.ndarray) -> np.ndarray:
    """Return the IoU matrix with NaN where both boxes are empty (never above a threshold)."""
    boxes = np.asarray(xyxy, dtype=np.float64)
    x1, y1, x2, y2 = boxes.T
    area = np.maximum(x2 - x1, 0.0) * np.maximum(y2 - y1, 0.0)
    # In-place steps into three K x K buffers: memory traffic dominates the cost.
    inter = np.minimum(x2[:, None], x2)
    scratch = np.maximum(x1[:, None], x1)
    inter -= scratch
    np.maximum(inter, 0.0, out=inter)
    height = np.minimum(y2[:, None], y2)
    height -= np.maximum(y1[:, None], y1, out=scratch)
    np.maximum(height, 0.0, out=height)
    inter *= height
    union = np.add(area[:, None], area, out=height)
    union -= inter
    with np.errstate(invalid='ignore', divide='ignore'):
        inter /= union
    return inter


def iou_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Return the (len(a), len(b)) IoU matrix of two xyxy box arrays; 0 where empty."""
    top_left = np.maximum(a[:, None, :2], b[None, :, :2])
    bottom_right = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(bottom_right - top_left, 0, None), axis=2)
    area_a = np.prod(a[:, 2:] - a[:, :2], axis=1)
    area_b = np.prod(b[:, 2:] - b[:, :2], axis=1)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def nms(xyxy: np.ndarray, scores: np.ndarray, iou_threshold: float,
        class_ids: Optional[np.ndarray] = None,
        rotated: Optional[np.ndarray] = None) -> np.ndarray:
    """
    Greedy NMS; returns the kept indices in descending score order.

    With class_ids, boxes only suppress boxes of the same class (per-class NMS); without,
    every box competes with every other (class-agnostic). With rotated (K, 5 oriented boxes),
    the overlap is theirs (probabilistic IoU) and the suppression Ultralytics' OBB one
    (fast_rotated_keep), not the xyxy's.
    """
    order = score_order(scores)
    if len(order) <= 1:
        return order
    boxes = np.asarray(xyxy)[order]
    classes = None if class_ids is None else np.asarray(class_ids)[order]
    if rotated is not None:
        return order[fast_rotated_keep(np.asarray(rotated)[order], iou_threshold, classes)]
    if len(order) > MATRIX_NMS_LIMIT:
        return order[_sequential_keep(boxes, iou_threshold, classes)]
    else:
        suppresses = _iou_matrix(boxes) > iou_threshold
    if classes is not None:
        suppresses &= classes[:, None] == classes[None, :]
    suppresses = np.triu(suppresses, k=1)  # only a higher-scoring box suppresses
    keep = np.ones(len(order), dtype=bool)
    while True:
        # Box j survives when no currently kept, higher-scoring box suppresses it. Box j's
        # status depends only on boxes before it, so after n passes the first n are final and
        # the fixpoint (reached when nothing changes) is exactly the greedy result.
        new_keep = ~(suppresses & keep[:, None]).any(axis=0)
        if np.array_equal(new_keep, keep):
            return order[keep]
        keep = new_keep


def _sequential_keep(boxes: np.ndarray, iou_threshold: float,
                     classes: Optional[np.ndarray]) -> np.ndarray:
    """Boolean keep mask for score-sorted boxes, one vectorised step per kept box."""
    boxes = boxes.astype(np.float64)
    area = np.maximum(boxes[:, 2] - boxes[:, 0], 0) * np.maximum(boxes[:, 3] - boxes[:, 1], 0)
    alive = np.ones(len(boxes), dtype=bool)
    for i in range(len(boxes)):
        if not alive[i]:
            continue
        rest = np.flatnonzero(alive[i + 1:]) + i + 1
        if classes is not None:
            rest = rest[classes[rest] == classes[i]]
        inter_w = np.minimum(boxes[rest, 2], boxes[i, 2]) - np.maximum(boxes[rest, 0], boxes[i, 0])
        inter_h = np.minimum(boxes[rest, 3], boxes[i, 3]) - np.maximum(boxes[rest, 1], boxes[i, 1])
        inter = np.maximum(inter_w, 0) * np.maximum(inter_h, 0)
        union = area[rest] + area[i] - inter
        iou = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
        alive[rest[iou > iou_threshold]] = False
    return alive


def fast_rotated_keep(rotated: np.ndarray, iou_threshold: float,
                      classes: Optional[np.ndarray], rows: int = 1024) -> np.ndarray:
    """
    Boolean keep mask for score-sorted oriented boxes: Ultralytics' OBB NMS (Fast-NMS).

    A box is dropped when any higher-scoring box (of its class) overlaps it by probabilistic
    IoU > threshold, whether that box is kept or not: what Ultralytics does for OBB models, so
    the same boxes come out. Computed `rows` boxes at a time against all (bounded memory).
    """
    count = len(rotated)
    suppressed = np.zeros(count, dtype=bool)
    later = np.arange(count)
    for start in range(0, count, rows):
        block = slice(start, min(start + rows, count))
        hits = probiou_between(rotated[block], rotated) > iou_threshold
        hits &= later[None, :] > later[block, None]  # only a higher-scoring box suppresses
        if classes is not None:
            hits &= classes[block, None] == classes[None, :]
        suppressed |= hits.any(axis=0)
    return ~suppressed


def select_indices(candidates: Candidates, *, iou_threshold: float, class_agnostic: bool,
                   max_candidates: int, max_detections: int,
                   classes: Optional[Sequence[int]] = None) -> np.ndarray:
    """
    Class filter -> top-k (max_candidates) -> NMS -> first max_detections: kept indices.

    The indices point into candidates, by descending score. The class filter comes first so
    that unwanted classes do not take candidate slots.
    """
    index = np.arange(len(candidates))
    if classes is not None and len(index):
        index = index[np.isin(candidates.class_ids, np.asarray(classes, dtype=np.int64))]
    if not len(index):
        return index
    index = index[top_k(candidates.scores[index], max_candidates)]
    rotated = None if candidates.rotated is None else candidates.rotated[index]
    keep = nms(candidates.xyxy[index], candidates.scores[index], iou_threshold,
               None if class_agnostic else candidates.class_ids[index], rotated)
    return index[keep[:max_detections]]


def select(candidates: Candidates, **options) -> Candidates:
    """Return the candidates select_indices keeps (same keyword options), best first."""
    return candidates.take(select_indices(candidates, **options))
