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
What the delivery thread hands the capture worker, and what the worker hands back.

A CaptureJob is a private copy of one chosen frame (the engine's frame is shared and must not
be kept) with its detections as plain arrays, the rules that chose it and where it came from;
copying happens only for frames that are kept. A CaptureRecord says where a job was written.

    >>> import numpy as np, supervision as sv
    >>> from stream_infer.results import StreamResult
    >>> from stream_infer.sources import Frame
    >>> frame = Frame(np.zeros((4, 6, 3), np.uint8), frame_id=3, timestamp=10.0, monotonic=0.0)
    >>> result = StreamResult(frame, sv.Detections.empty(), timings_ms={}, age_ms=0.0)
    >>> job = CaptureJob.of(result, ('random',), source='cam', captured_at=11.0)
    >>> job.image is frame.image, job.frame_id, job.width, job.height
    (False, 3, 6, 4)
"""

from concurrent.futures import Future
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Optional, Tuple

import numpy as np

from stream_infer.capture.rules import FrameView
from stream_infer.detection.masks import outline
from stream_infer.detection.task_outputs import CORNERS_KEY


def source_of(result: Any, default: str) -> str:
    """
    Return the name of the source a result came from (the key of per-source state).

    Results of a multi-source stream carry their source's name; a single source is unnamed
    ('') and gets default (the sink's source description).
    """
    name = getattr(result, 'source_name', '')
    return str(name) if name else default


def thresholds_of(result: Any) -> Optional[dict]:
    """Return the PostprocessOptions in force for the result as a JSON-ready dict."""
    options = getattr(result, 'options', None)
    if options is None:
        return None
    values = asdict(options)
    if values.get('classes') is not None:
        values['classes'] = list(values['classes'])
    return values


def shape_polygons(detections: Any) -> Optional[Tuple[np.ndarray, ...]]:
    """
    Return each detection's polygon for YOLO-seg / YOLO-OBB labels, or None for plain boxes.

    An oriented box gives its four corners; a mask its outline (its box's corners when the
    mask is empty, so every detection keeps a label line).
    """
    count = len(detections)
    corners = detections.data.get(CORNERS_KEY) if detections.data else None
    if corners is not None and len(corners) == count:
        return tuple(np.asarray(corners, np.float64))
    if detections.mask is None or len(detections.mask) != count:
        return None
    polygons = []
    for mask, (x1, y1, x2, y2) in zip(detections.mask, np.asarray(detections.xyxy, float)):
        points = outline(mask, (x1, y1, x2, y2)).astype(np.float64)
        polygons.append(points if len(points) >= 3 else
                        np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]]))
    return tuple(polygons)


@dataclass(frozen=True)
class CaptureJob:
    """One frame chosen for the dataset: a private copy of the image and its detections."""

    image: np.ndarray
    xyxy: np.ndarray  # (N, 4) original-image pixels
    confidence: np.ndarray
    class_id: np.ndarray
    tracker_id: np.ndarray
    class_name: np.ndarray
    rules: Tuple[str, ...]
    source: str
    frame_id: int
    timestamp: float  # the frame's capture time (wall clock, or the caller's stamp)
    captured_at: float  # wall clock when the frame was chosen (picks the day's batch)
    thresholds: Optional[dict] = None
    futures: Tuple[Future, ...] = ()  # resolved with the CaptureRecord (manual captures)
    polygons: Optional[Tuple[np.ndarray, ...]] = None  # per detection: mask outline or corners

    @classmethod
    def of(cls, result: Any, rules: Tuple[str, ...], source: str, captured_at: float,
           view: Optional[FrameView] = None, futures: Tuple[Future, ...] = ()
           ) -> 'CaptureJob':
        """Copy what the worker needs out of a StreamResult (view: its FrameView, if made)."""
        view = view or FrameView.of(result)
        frame = result.frame
        return cls(np.array(frame.image, copy=True), view.xyxy.copy(), view.confidence.copy(),
                   view.class_id.copy(), view.tracker_id.copy(), view.class_name.copy(),
                   tuple(rules), source, int(frame.frame_id), float(frame.timestamp),
                   float(captured_at), thresholds_of(result), tuple(futures),
                   shape_polygons(result.detections))

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    @property
    def height(self) -> int:
        return int(self.image.shape[0])


@dataclass(frozen=True)
class CaptureRecord:
    """Where a captured frame was written (paths are absolute) and what chose it."""

    image: Path
    label: Path
    batch: Path
    rules: Tuple[str, ...]
    source: str
    frame_id: int
    nbytes: int


__all__ = ['CaptureJob', 'CaptureRecord', 'source_of', 'thresholds_of']
