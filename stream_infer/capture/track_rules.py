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
Sampling rules that read the tracker: new_track, flicker, untracked.

These catch the frames where the model is probably wrong, which no single-frame rule can see:
a confirmed track that loses its box for a few frames and gets it back (flicker: the model
missed the object), and a box that stays off every confirmed track for many frames (the
tracker does not believe the model: a false positive, or a flickering class). new_track marks
where objects enter. They need tracking on (tracker_id -1 = on no confirmed track); each keeps
its memory per source, updated on every frame with a few vectorised numpy operations.

    >>> import numpy as np
    >>> from stream_infer.capture.rules import FrameView
    >>> def frame(ids):
    ...     n = len(ids)
    ...     return FrameView(np.tile([0., 0., 10., 10.], (n, 1)), np.ones(n), np.zeros(n, int),
    ...                      np.array(ids, int), np.array(['person'] * n), 0.3)
    >>> rule = FlickerRule(max_gap=2)
    >>> state = rule.new_state()
    >>> [rule.matches(frame(ids), state) for ids in ([1], [], [1], [1])]
    [False, False, True, False]
"""

from dataclasses import dataclass
from typing import ClassVar, Tuple

import numpy as np

from stream_infer.capture.rules import FrameView, Rule
from stream_infer.detection.nms import iou_between
from stream_infer.options import option

# Frames a track id is remembered after it was last seen. ByteTrack drops a lost track after
# lost_track_buffer frames (30 by default) and never reuses its id, so an id unseen for longer
# cannot come back; the memory stays bounded by the tracks of the last TRACK_MEMORY frames.
TRACK_MEMORY = 1000


class TrackMemory:
    """The confirmed track ids seen lately (sorted) and the frame each was last seen in."""

    def __init__(self, horizon: int = TRACK_MEMORY) -> None:
        self.horizon = horizon
        self.frame = 0
        self.ids = np.empty(0, dtype=np.int64)
        self.last_seen = np.empty(0, dtype=np.int64)

    def observe(self, track_ids: np.ndarray) -> Tuple[int, np.ndarray]:
        """
        Note this frame's confirmed ids; return (new ids count, gaps of the known ones).

        A gap is the number of frames a known id was missing before this one (0 = it was on
        the previous frame).
        """
        self.frame += 1
        ids = np.unique(np.asarray(track_ids, dtype=np.int64))
        pos = np.searchsorted(self.ids, ids)
        known = pos < len(self.ids)
        known[known] = self.ids[pos[known]] == ids[known]
        gaps = self.frame - self.last_seen[pos[known]] - 1
        self.last_seen[pos[known]] = self.frame
        fresh = ids[~known]
        if fresh.size:
            merged = np.concatenate([self.ids, fresh])
            order = np.argsort(merged, kind='stable')
            self.ids = merged[order]
            self.last_seen = np.concatenate(
                [self.last_seen, np.full(fresh.size, self.frame, dtype=np.int64)])[order]
        if self.ids.size and self.frame - self.last_seen.min() > self.horizon:
            keep = self.frame - self.last_seen <= self.horizon
            self.ids, self.last_seen = self.ids[keep], self.last_seen[keep]
        return int(fresh.size), gaps


def _confirmed_ids(rule: Rule, view: FrameView) -> np.ndarray:
    return view.tracker_id[rule.selected(view) & (view.tracker_id >= 0)]


@dataclass(frozen=True)
class NewTrackRule(Rule):
    """A confirmed track id (of the selected classes) appears for the first time."""

    kind: ClassVar[str] = 'new_track'
    good_for: ClassVar[str] = 'objects entering the scene (one frame per object)'

    def new_state(self) -> TrackMemory:
        return TrackMemory()

    def matches(self, view: FrameView, state: TrackMemory) -> bool:
        fresh, _ = state.observe(_confirmed_ids(self, view))
        return fresh > 0


@dataclass(frozen=True)
class FlickerRule(Rule):
    """A confirmed track comes back after missing its detection for 1..max_gap frames."""

    kind: ClassVar[str] = 'flicker'
    good_for: ClassVar[str] = ('missed detections: the model lost an object for a few frames '
                               'that the tracker kept')

    max_gap: int = option(5, 'most frames a track may miss and still count as flicker (longer '
                          'is an occlusion)', bounds=(1, 1000))

    def new_state(self) -> TrackMemory:
        return TrackMemory()

    def matches(self, view: FrameView, state: TrackMemory) -> bool:
        _, gaps = state.observe(_confirmed_ids(self, view))
        return bool(np.any((gaps >= 1) & (gaps <= self.max_gap)))


class UntrackedBoxes:
    """The boxes that were on no confirmed track in the previous frame, and for how long."""

    def __init__(self) -> None:
        self.boxes = np.empty((0, 4))
        self.runs = np.empty(0, dtype=np.int64)


@dataclass(frozen=True)
class UntrackedRule(Rule):
    """A box stays off every confirmed track for `frames` frames in a row (and each such run)."""

    kind: ClassVar[str] = 'untracked'
    good_for: ClassVar[str] = ('detections the tracker does not believe: false positives, '
                               'boxes whose class or position jumps')

    frames: int = option(15, 'frames in a row a box stays on no confirmed track (the rule '
                         'fires then, and every as many frames after)', bounds=(1, 100000))
    iou: float = option(0.5, 'overlap that makes boxes of consecutive frames the same box',
                        bounds=(None, 1.0), above=0.0)

    def new_state(self) -> UntrackedBoxes:
        return UntrackedBoxes()

    def matches(self, view: FrameView, state: UntrackedBoxes) -> bool:
        boxes = view.xyxy[self.selected(view) & (view.tracker_id < 0)]
        runs = np.ones(len(boxes), dtype=np.int64)
        if len(boxes) and len(state.boxes):
            overlap = iou_between(boxes, state.boxes)
            best = overlap.argmax(axis=1)
            same = overlap[np.arange(len(boxes)), best] >= self.iou
            runs[same] = state.runs[best[same]] + 1
        state.boxes, state.runs = boxes, runs
        return bool(np.any(runs % self.frames == 0))


__all__ = ['FlickerRule', 'NewTrackRule', 'TRACK_MEMORY', 'TrackMemory', 'UntrackedBoxes',
           'UntrackedRule']
