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
Candidate boxes (after decoding, before NMS) and ranking them by score.

    >>> import numpy as np
    >>> top_k(np.array([0.2, 0.9, 0.5, 0.9], np.float32), 2).tolist()
    [1, 3]
"""

from dataclasses import dataclass, replace
from typing import Optional

import numpy as np


@dataclass(frozen=True)
class Candidates:
    """
    Boxes that passed the confidence threshold, in model-input pixels (any order).

    Segmentation models add each box's mask coefficients and the frame's prototypes (masks are
    made later, for the kept boxes only); oriented-box models add each box's rotated form, xyxy
    then being the axis-aligned box around it.
    """

    xyxy: np.ndarray       # float32 (K, 4)
    scores: np.ndarray     # float32 (K,)
    class_ids: np.ndarray  # int64 (K,)
    coefficients: Optional[np.ndarray] = None  # float32 (K, C): mask coefficients
    prototypes: Optional[np.ndarray] = None    # float32 (C, h, w): the frame's, not per box
    rotated: Optional[np.ndarray] = None       # float32 (K, 5): cx, cy, w, h, angle (radians)

    def __len__(self) -> int:
        return len(self.scores)

    def take(self, index: np.ndarray) -> 'Candidates':
        """Subset (or reorder) by an index or boolean mask."""
        return replace(self, xyxy=self.xyxy[index], scores=self.scores[index],
                       class_ids=self.class_ids[index],
                       coefficients=None if self.coefficients is None
                       else self.coefficients[index],
                       rotated=None if self.rotated is None else self.rotated[index])

    @classmethod
    def empty(cls) -> 'Candidates':
        """No candidates."""
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64))


def score_order(scores: np.ndarray) -> np.ndarray:
    """Return indices by descending score; ties keep their original order."""
    return np.argsort(-np.asarray(scores, dtype=np.float64), kind='stable')


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Return the indices of the k highest scores, by descending score (ties: lower first)."""
    if len(scores) <= k:
        return score_order(scores)
    # argpartition alone is not stable on ties; select by the k-th score then order stably.
    kth = np.partition(scores, len(scores) - k)[len(scores) - k]
    above = np.flatnonzero(scores > kth)
    at = np.flatnonzero(scores == kth)[:k - len(above)]
    chosen = np.concatenate((above, at))
    return chosen[score_order(scores[chosen])]
