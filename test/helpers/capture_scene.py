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
A scripted scene for capture tests: frames that encode their index, a model that reads it.

The model (a plain callable, run by the real engine) returns for frame i exactly the boxes
scene(i) lists, so each rule can be made to fire on chosen frames and the tests know which.
results() builds StreamResults directly, for tests that drive a CaptureSink without a stream.
"""

from dataclasses import dataclass
from typing import Optional, Sequence

from helpers.frame_codes import read_index, stamp_index
import numpy as np
import supervision as sv

from stream_infer.options import PostprocessOptions
from stream_infer.results import StreamResult
from stream_infer.sources import Frame

NAMES = ['person', 'car', 'cat', 'dog', 'bird', 'truck']
PERSON, CAR, CAT, DOG, BIRD, TRUCK = range(6)
WIDTH, HEIGHT = 320, 240
FRAMES = 45
# capture options that keep every frame a rule picks (no caps, interval, disk limits)
NO_LIMITS = {'min_interval_s': 0, 'per_minute': 0, 'per_hour': 0, 'per_day': 0,
             'disk_budget_mb': 0, 'min_free_mb': 0, 'queue_size': 64}


def scene(i: int) -> np.ndarray:
    """Return frame i's boxes: rows of x1, y1, x2, y2, score, class_id."""
    rows = []
    if i < 40 and i not in (24, 25):  # person A: its track misses frames 24 and 25
        rows.append([20, 40, 60, 140, 0.9, PERSON])
    if 20 <= i < 40:  # person B enters at 20 (its track is confirmed on 21)
        rows.append([200, 40, 240, 140, 0.9, PERSON])
    if i in (5, 17):  # a cat scored near 0.5
        rows.append([100, 150, 150, 200, 0.52, CAT])
    if i == 6:  # the same cat, sure
        rows.append([100, 150, 150, 200, 0.9, CAT])
    if i in (8, 9):
        rows.append([160, 150, 200, 200, 0.8, DOG])
    if i in (9, 10):  # dog and bird together only on frame 9
        rows.append([210, 150, 250, 200, 0.8, BIRD])
    if i == 12:
        rows += [[x, 10, x + 20, 30, 0.8, CAR] for x in (100, 130, 160)]
    if i == 13:
        rows += [[x, 10, x + 20, 30, 0.8, CAR] for x in (100, 130)]
    if 30 <= i < 42:  # a truck too weak to start a track (0.2 < 0.25): untracked for 12 frames
        rows.append([260, 160, 300, 220, 0.2, TRUCK])
    return np.array(rows, dtype=np.float64).reshape(-1, 6)


def scene_model(image: np.ndarray) -> np.ndarray:
    """Act as the model: read the frame's index from its pixels, return its scripted boxes."""
    return scene(read_index(image))


def scene_frames(count: int = FRAMES, width: int = WIDTH, height: int = HEIGHT) -> list:
    return [stamp_index(i, width, height) for i in range(count)]


@dataclass(frozen=True)
class SourcedResult(StreamResult):
    """A result as a multi-source stream delivers it (it names its source)."""

    source_name: str = ''


def result(frame_id: int, boxes: Sequence = (), tracker_ids: Optional[Sequence[int]] = None,
           image: Optional[np.ndarray] = None, source_name: Optional[str] = None,
           options: Optional[PostprocessOptions] = None, timestamp: float = 0.0
           ) -> StreamResult:
    """Return a StreamResult whose image encodes frame_id and whose detections are boxes."""
    rows = np.asarray(boxes, dtype=np.float64).reshape(-1, 6)
    class_id = rows[:, 5].astype(int)
    detections = sv.Detections(
        xyxy=rows[:, :4].copy(), confidence=rows[:, 4].copy(), class_id=class_id,
        tracker_id=np.asarray(tracker_ids if tracker_ids is not None else [-1] * len(rows),
                              dtype=int),
        data={'class_name': np.array([NAMES[c] for c in class_id], dtype=str)})
    image = stamp_index(frame_id, WIDTH, HEIGHT) if image is None else image
    frame = Frame(image, frame_id, timestamp, 0.0)
    options = options or PostprocessOptions()
    if source_name is None:
        return StreamResult(frame, detections, {}, 0.0, options)
    return SourcedResult(frame, detections, {}, 0.0, options, source_name=source_name)
