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
The delivery thread's last stage: track a frame's detections and make its StreamResult.

After postprocessing (Detector.postprocess, with the lane's options) a frame's detections get
their track ids from the lane's own tracker (NO_TRACK with tracking off), 3D boxes when the
frame came with depth, and the time each took in the result's timings. The lane's tracker and
depth options are read once per frame: the stream swaps whole objects in from any thread.
"""

import time

import numpy as np

from stream_infer.depth.estimate import attach_3d
from stream_infer.detection import DetectionResult
from stream_infer.lanes import Lane
from stream_infer.options import PostprocessOptions
from stream_infer.results import StreamResult
from stream_infer.sources import Frame
from stream_infer.tracking import NO_TRACK


def tracked_result(lane: Lane, frame: Frame, detected: DetectionResult,
                   options: PostprocessOptions) -> StreamResult:
    """Return the frame's StreamResult: detections tracked (and 3D with depth), timed."""
    tracker = lane.settings.tracker  # one read per frame
    detections = detected.detections
    start = time.perf_counter()
    if tracker is not None:
        detections = tracker.update(detections)
    else:
        detections.tracker_id = np.full(len(detections), NO_TRACK, dtype=int)
    timings = dict(detected.timings_ms)
    timings['track'] = (time.perf_counter() - start) * 1000.0
    if frame.depth is not None:  # 3D boxes into detections.data; 2D-only ones counted
        start = time.perf_counter()
        lane.stats.count('detections_2d_only', attach_3d(
            detections, (frame.width, frame.height), frame.depth, lane.settings.depth))
        timings['depth'] = (time.perf_counter() - start) * 1000.0
    age_ms = (time.monotonic() - frame.monotonic) * 1000.0
    return StreamResult(frame, detections, timings, age_ms, options, lane.index, lane.name,
                        getattr(tracker, 'epoch', 0))  # ids restart when it changes


__all__ = ['tracked_result']
