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
The options and trackers in force for a stream's sources, changed from any thread.

A stream's sources share one set of postprocess options; each may override some fields for
itself alone, and each has its own tracker. A change builds whole new option objects and
swaps them into the lanes' LiveSettings, which the run reads once per frame: a frame sees
the old options or the new ones, never a mix. This is InferenceStream's update_options(),
reset_options() and set_tracking(); the stream resolves which source a call names.

    >>> from stream_infer.lanes import Lane, LiveSettings
    >>> from stream_infer.options import PostprocessOptions, TrackerOptions
    >>> from stream_infer.sources import PushSource
    >>> from stream_infer.stats import StatsRecorder
    >>> shared = PostprocessOptions()
    >>> lanes = [Lane(0, 'left', PushSource(), LiveSettings(shared, None), StatsRecorder())]
    >>> live = LiveOptions(lanes, shared, TrackerOptions(), tracking=False)
    >>> live.update(lanes[0], {'confidence': 0.6}).confidence, live.shared.confidence
    (0.6, 0.3)
"""

import threading
from typing import Any, Dict, List, Optional

from stream_infer.lanes import Lane
from stream_infer.options import PostprocessOptions, TrackerOptions, updated
from stream_infer.tracking import Tracker


class LiveOptions:
    """The shared options, each lane's overrides, and tracking: one owner, one lock."""

    def __init__(self, lanes: List[Lane], shared: PostprocessOptions,
                 tracker_options: TrackerOptions, tracking: bool) -> None:
        self._lanes = lanes
        self._shared = shared
        self._tracker_options = tracker_options
        self._tracking = bool(tracking)
        self._lock = threading.Lock()

    @property
    def shared(self) -> PostprocessOptions:
        """Return the options every source follows where it has no override of its own."""
        return self._shared

    @property
    def tracker_options(self) -> TrackerOptions:
        return self._tracker_options

    @property
    def tracking(self) -> bool:
        return self._tracking

    def update(self, lane: Optional[Lane], changes: Dict[str, Any]) -> PostprocessOptions:
        """
        Apply changes to one lane (kept as its overrides) or, lane None, to the shared options.

        Invalid values raise ConfigurationError and change nothing. Returns the options now
        in force (that lane's, or the shared ones).
        """
        with self._lock:
            if lane is not None:
                overrides = {**lane.overrides, **changes}
                lane.settings.options = updated(self._shared, **overrides)
                lane.overrides = overrides
                return lane.settings.options
            shared = updated(self._shared, **changes)
            in_force = [updated(shared, **each.overrides) if each.overrides else shared
                        for each in self._lanes]
            self._shared = shared
            for each, options in zip(self._lanes, in_force):
                each.settings.options = options
            return shared

    def reset(self, lane: Lane) -> PostprocessOptions:
        """Drop a lane's overrides: it follows the shared options again."""
        with self._lock:
            lane.overrides = {}
            lane.settings.options = self._shared
            return self._shared

    def set_tracking(self, enabled: bool, changes: Dict[str, Any]) -> TrackerOptions:
        """Turn tracking on or off and/or change TrackerOptions fields; fresh tracks always."""
        with self._lock:
            options = updated(self._tracker_options, **changes)
            self._tracker_options = options
            self._tracking = bool(enabled)
            self._new_trackers()
            return options

    def new_trackers(self) -> None:
        """Give every lane a fresh tracker (or none when tracking is off): a new run's."""
        with self._lock:
            self._new_trackers()

    def _new_trackers(self) -> None:
        for lane in self._lanes:  # each source its own tracks
            lane.settings.tracker = Tracker(self._tracker_options) if self._tracking else None


__all__ = ['LiveOptions']
