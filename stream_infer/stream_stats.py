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
A stream's Stats snapshot: the recorders' counters plus what the sources and the run know.

The recorders (stats.py) count frames and latencies; drops, the connection's health and why a
run or a source ended live in the sources and the Pipeline. These functions put them together
for InferenceStream.stats(): one source's snapshot, or the total over several (their states
summed up as 'connected 2, ended 1').
"""

from collections import Counter
from typing import Optional, Sequence

from stream_infer.lanes import Lane
from stream_infer.pipeline import Pipeline
from stream_infer.sources import FrameSource
from stream_infer.stats import Stats, StatsRecorder


def source_health(source: FrameSource) -> dict:
    """Return the connection fields of a source's Stats."""
    return {'connection_losses': source.losses, 'reconnects': source.reconnects,
            'transport': source.transport, 'last_error': source.last_error}


def summary_state(sources: Sequence[FrameSource]) -> str:
    """One state for several sources: theirs when they agree, else 'connected 2, ended 1'."""
    counts = Counter(str(source.state) for source in sources)
    if len(counts) == 1:
        return next(iter(counts))
    return ', '.join(f'{state} {count}' for state, count in counts.items())


def source_snapshot(lane: Lane, pipeline: Optional[Pipeline], running: bool,
                    several: bool) -> Stats:
    """
    Return one source's Stats; with several sources its own end shows as soon as it ended.

    pipeline: the current (or last) run, None before the first; running: the stream's.
    """
    finished = pipeline is not None and pipeline.finished.is_set()
    run = pipeline.runs[lane.index] if pipeline is not None else None
    reason = pipeline.reason if finished else ''
    if several and run is not None and run.reason is not None:
        running, reason = False, run.reason  # this source ended, others go on
    return lane.stats.snapshot(
        source=lane.source.description, source_state=lane.source.state,
        running=running, stop_reason=reason or '', **source_health(lane.source),
        frames_dropped=lane.source.skipped + (run.slot.dropped if run else 0))


def total_snapshot(stats: StatsRecorder, sources: Sequence[FrameSource], description: str,
                   pipeline: Optional[Pipeline], running: bool) -> Stats:
    """Return the Stats over every source (the most serious stop_reason, summed drops)."""
    finished = pipeline is not None and pipeline.finished.is_set()
    buffer_drops = pipeline.dropped if pipeline is not None else 0
    return stats.snapshot(
        source=description, source_state=summary_state(sources),
        running=running, stop_reason=pipeline.reason if finished else '',
        connection_losses=sum(s.losses for s in sources),
        reconnects=sum(s.reconnects for s in sources),
        frames_dropped=sum(s.skipped for s in sources) + buffer_drops)


__all__ = ['source_health', 'source_snapshot', 'summary_state', 'total_snapshot']
