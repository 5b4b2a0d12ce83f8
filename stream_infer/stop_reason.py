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


"""Why a run, or one source of it, ended; and which reason a run of several sources reports."""

from enum import StrEnum
from typing import Optional, Sequence


class StopReason(StrEnum):
    """Why a run (or one source of it) ended (Stats.stop_reason, on_stop)."""

    STOPPED = 'stopped'  # stop() was called (or Ctrl-C in run())
    ENDED = 'ended'  # the source has no more frames
    MAX_FRAMES = 'max_frames'  # max_frames were processed
    FAILED = 'failed'  # the source gave up (reconnect attempts spent, bad frame)
    ERROR = 'error'  # preprocessing or the model kept failing (Pipeline.error says why)


# A run of several sources ends for the most serious of its sources' reasons.
REASON_PRIORITY = (StopReason.ERROR, StopReason.FAILED, StopReason.STOPPED,
                   StopReason.MAX_FRAMES, StopReason.ENDED)


def combined_reason(reasons: Sequence[Optional[StopReason]]) -> StopReason:
    """
    Return the reason a run ends for, given its sources' reasons (the most serious one).

        >>> combined_reason([StopReason.ENDED, StopReason.FAILED, StopReason.ENDED])
        <StopReason.FAILED: 'failed'>
    """
    known = {reason for reason in reasons if reason is not None}
    return next((reason for reason in REASON_PRIORITY if reason in known), StopReason.STOPPED)


__all__ = ['REASON_PRIORITY', 'StopReason', 'combined_reason']
