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
StreamResult: one delivered prediction, the frame that was predicted and what was found on it.

This is the one container that leaves the engine: callbacks, sinks (JSON Lines, video, capture)
and the ROS node all read it, and convert its supervision Detections at their own edge.

    >>> import numpy as np, supervision as sv
    >>> from stream_infer.sources import Frame
    >>> frame = Frame(np.zeros((2, 4, 3), np.uint8), frame_id=7, timestamp=0.0, monotonic=0.0)
    >>> result = StreamResult(frame, sv.Detections.empty(), timings_ms={}, age_ms=1.5)
    >>> result.predictions['frame_id'], result.predictions['image']
    (7, {'width': 4, 'height': 2})
"""

from dataclasses import dataclass
from functools import cached_property
from typing import Any, Dict, Optional

import numpy as np
import supervision as sv

from stream_infer.options import PostprocessOptions
from stream_infer.predictions import to_prediction_dict
from stream_infer.sources import Frame


@dataclass(frozen=True)
class StreamResult:
    """
    One delivered prediction: the frame that was predicted and what was found on it.

    detections: sv.Detections in frame pixels with confidence, class_id, data['class_name']
    and tracker_id (the track id, or -1 when the box is on no confirmed track or tracking is
    off). timings_ms: 'preprocess', 'infer' (the whole model run, a batch of several sources'
    frames included), 'postprocess', 'track'. age_ms: capture -> delivery to the callbacks.
    options: the PostprocessOptions this frame was filtered with. source_index, source_name:
    which source of the stream the frame came from (0 and '' for a single-source stream; the
    dicts carry them as 'source_id' and 'source' when the name is not ''). track_epoch: the
    tracker's id numbering (Tracker.epoch; 0 without tracking): when it changes, track ids
    started again at 1, so state kept per track id (traces, capture rules) is stale.
    """

    frame: Frame
    detections: sv.Detections
    timings_ms: Dict[str, float]
    age_ms: float
    options: Optional[PostprocessOptions] = None
    source_index: int = 0
    source_name: str = ''
    track_epoch: int = 0

    @property
    def frame_id(self) -> int:
        return self.frame.frame_id

    @property
    def timestamp(self) -> float:
        return self.frame.timestamp

    @property
    def image(self) -> np.ndarray:
        return self.frame.image

    @cached_property
    def predictions(self) -> Dict[str, Any]:
        """Return the Roboflow-style dict (computed once, shared: do not modify it)."""
        return self.to_dict()

    def to_dict(self) -> Dict[str, Any]:
        """Return a new Roboflow-style dict of this result (see stream_infer.predictions)."""
        extra: Dict[str, Any] = {}
        if self.source_name:
            extra.update(source_id=self.source_index, source=self.source_name)
        extra.update(age_ms=self.age_ms, timings_ms=dict(self.timings_ms))
        return to_prediction_dict(
            self.detections, width=self.frame.width, height=self.frame.height,
            frame_id=self.frame.frame_id, timestamp=self.frame.timestamp, extra=extra)


Prediction = StreamResult

__all__ = ['Prediction', 'StreamResult']
