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
How far INT8 detections are from fp32's (the reference), and what INT8 buys in time.

Matching per frame: boxes of the same class, one-to-one (Hungarian assignment on IoU), a match
needs IoU >= 0.5. Precision: matched / INT8 boxes; recall: matched / fp32 boxes. Score shift:
mean (INT8 - fp32) score of the matches, and its mean absolute value. Timings alternate fp32
and INT8 rounds so both see the same load (the machine may be busy), medians reported.
"""

from dataclasses import dataclass
import statistics
import time
from typing import Any, Callable, Dict, List, Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment
import supervision as sv

MATCH_IOU = 0.5
NEAR_THRESHOLD = 0.1  # an unmatched box scoring below confidence + this merely crossed it


@dataclass
class Agreement:
    """INT8 detections against fp32's over some frames."""

    frames: int
    reference: int      # fp32 boxes
    candidate: int      # INT8 boxes
    matched: int
    mean_iou: float     # over the matches
    score_shift: float  # mean INT8 - fp32 score over the matches
    abs_score_shift: float
    unmatched_near_threshold: int = 0  # unmatched boxes of either side scoring near it

    @property
    def precision(self) -> float:
        return self.matched / self.candidate if self.candidate else 1.0

    @property
    def recall(self) -> float:
        return self.matched / self.reference if self.reference else 1.0

    @property
    def f1(self) -> float:
        total = self.reference + self.candidate
        return 2.0 * self.matched / total if total else 1.0

    def summary(self) -> str:
        return (f'F1 {self.f1:.3f} (precision {self.precision:.3f}, recall {self.recall:.3f}; '
                f'{self.matched} of {self.reference} fp32 boxes matched, {self.candidate} INT8 '
                f'boxes, {self.frames} frames), mean IoU {self.mean_iou:.3f}, score shift '
                f'{self.score_shift:+.3f} (mean |shift| {self.abs_score_shift:.3f}); '
                f'{self.unmatched_near_threshold} of the {self.unmatched} unmatched boxes score '
                f'within {NEAR_THRESHOLD} of the confidence threshold')

    @property
    def unmatched(self) -> int:
        return self.reference + self.candidate - 2 * self.matched


def _matches(ref: sv.Detections, cand: sv.Detections) -> tuple:
    """(iou, ref score, cand score) of one frame's matched pairs, scores of the unmatched."""
    if len(ref) == 0 or len(cand) == 0:
        empty = np.zeros(0)
        return empty, empty, empty, np.concatenate([ref.confidence, cand.confidence])
    iou = sv.box_iou_batch(ref.xyxy, cand.xyxy)
    iou[ref.class_id[:, None] != cand.class_id[None, :]] = 0.0
    rows, cols = linear_sum_assignment(-iou)
    keep = iou[rows, cols] >= MATCH_IOU
    rows, cols = rows[keep], cols[keep]
    unmatched = np.concatenate([np.delete(ref.confidence, rows), np.delete(cand.confidence, cols)])
    return iou[rows, cols], ref.confidence[rows], cand.confidence[cols], unmatched


def compare(reference: Sequence[sv.Detections], candidate: Sequence[sv.Detections],
            confidence: float = 0.0) -> Agreement:
    """Agreement of candidate (INT8) with reference (fp32) found at this confidence."""
    if len(reference) != len(candidate):
        raise ValueError(f'{len(reference)} reference frames but {len(candidate)} candidate')
    pairs = [_matches(r, c) for r, c in zip(reference, candidate)]
    ious = np.concatenate([p[0] for p in pairs]) if pairs else np.zeros(0)
    shift = (np.concatenate([p[2] - p[1] for p in pairs]) if pairs else np.zeros(0))
    lost = np.concatenate([p[3] for p in pairs]) if pairs else np.zeros(0)
    return Agreement(
        frames=len(reference), reference=sum(len(r) for r in reference),
        candidate=sum(len(c) for c in candidate), matched=int(len(ious)),
        mean_iou=float(ious.mean()) if len(ious) else 0.0,
        score_shift=float(shift.mean()) if len(shift) else 0.0,
        abs_score_shift=float(np.abs(shift).mean()) if len(shift) else 0.0,
        unmatched_near_threshold=int(np.count_nonzero(lost < confidence + NEAR_THRESHOLD)))


def detect_all(detector: Any, frames: Sequence[np.ndarray]) -> List[sv.Detections]:
    """Return the engine's detections (preprocess, model, decode, NMS) for each frame."""
    return [detector(frame).detections for frame in frames]


def alternated(rounds: int, runs: Dict[str, Callable[[], float]]) -> Dict[str, float]:
    """Run each measurement in turn, rounds times, rotating who goes first; median of each."""
    names = list(runs)
    values: Dict[str, list] = {name: [] for name in names}
    for r in range(rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:
            values[name].append(runs[name]())
    return {name: statistics.median(v) for name, v in values.items()}


def model_ms(session: Any, input_name: str, tensors: Sequence[np.ndarray]) -> float:
    """Mean session.run time per frame over tensors, in ms (the model alone)."""
    start = time.perf_counter()
    for tensor in tensors:
        session.run(None, {input_name: tensor})
    return (time.perf_counter() - start) * 1e3 / len(tensors)


def engine_fps(model: str, frames: Sequence[np.ndarray], threads: Any) -> float:
    """Frames per second of the whole engine (InferenceStream) with tracking on frames."""
    from stream_infer.stream import InferenceStream
    stream = InferenceStream(list(frames), model, track=True, threads=threads)
    try:
        start = time.perf_counter()
        stats = stream.run()
        elapsed = time.perf_counter() - start
    finally:
        stream.close()
    return stats.frames_processed / elapsed if elapsed > 0 else 0.0
