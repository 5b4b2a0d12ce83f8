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
Where capture stands: its state and counters, as a frozen snapshot safe to read from any thread.

CaptureStats flattens to key/values the way the engine's Stats does (the ROS node's diagnostics
read it); every frame a rule chose but that was not written is counted under the reason why.

    >>> stats = CaptureStats(directory='data', saved=3, fired={'new_track': 4, 'random': 0})
    >>> stats.state.stopped, stats.not_saved
    (False, 0)
    >>> stats.summary()
    '3 images saved to data (rules fired: new_track 4)'
"""

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Dict


class CaptureState(StrEnum):
    """What the capture worker is doing."""

    CAPTURING = 'capturing'
    LOW_DISK = 'low_disk'  # below min_free_mb: frames are not written until space returns
    BUDGET_REACHED = 'budget_reached'  # the dataset holds disk_budget_mb: capture stopped
    FAILED = 'failed'  # the directory cannot be written (full, read-only, gone): stopped
    CLOSED = 'closed'  # closed while capturing (a stopped capture keeps its reason)

    @property
    def stopped(self) -> bool:
        """Return True when no frame will be written any more (until a new capture is made)."""
        return self in (CaptureState.BUDGET_REACHED, CaptureState.FAILED, CaptureState.CLOSED)


@dataclass(frozen=True)
class CaptureStats:
    """
    A snapshot of capture.

    frames_seen: results handed to the capture; fired: per rule, frames it fired on (after
    its probability); saved / saved_bytes: images written by this capture (with their labels
    and manifest lines); dataset_bytes: what the directory holds. Not written, by reason:
    dropped_limits (caps, min interval), dropped_queue (the disk was slower than the rules),
    dropped_disk (budget or free space), dropped_stopped (after capture stopped). write_errors:
    writes that failed (the first one stops capture); errors: anything else that went wrong.
    pending: frames handed to the worker and not yet written or dropped (at most queue_size + 1).
    """

    state: CaptureState = CaptureState.CAPTURING
    message: str = ''
    directory: str = ''
    batch: str = ''
    frames_seen: int = 0
    fired: Dict[str, int] = field(default_factory=dict)
    manual_requests: int = 0
    saved: int = 0
    saved_bytes: int = 0
    dataset_bytes: int = 0
    dropped_limits: int = 0
    dropped_queue: int = 0
    dropped_disk: int = 0
    dropped_stopped: int = 0
    write_errors: int = 0
    errors: int = 0
    pending: int = 0
    last_image: str = ''

    def summary(self) -> str:
        """Say in one line what capture did (for logs and the CLI's summary)."""
        fired = ', '.join(f'{name} {count}' for name, count in self.fired.items() if count)
        line = (f'{self.saved} images saved to {self.batch or self.directory} (rules fired: '
                f'{fired or "none"}')
        if self.manual_requests:
            line += f'; {self.manual_requests} requested'
        line += ')'
        reasons = [f'{count} {why}' for count, why in (
            (self.dropped_limits, 'caps/interval'), (self.dropped_queue, 'queue full'),
            (self.dropped_disk, 'disk limits'), (self.dropped_stopped, 'after stopping'))
            if count]
        if reasons:
            line += f'; not saved: {", ".join(reasons)}'
        if self.state.stopped and self.state != CaptureState.CLOSED:
            line += f'; {self.state}: {self.message}'
        return line

    @property
    def not_saved(self) -> int:
        """Frames chosen (by a rule or a request) that were not written, for any reason."""
        return (self.dropped_limits + self.dropped_queue + self.dropped_disk
                + self.dropped_stopped)


__all__ = ['CaptureState', 'CaptureStats']
