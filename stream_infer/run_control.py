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
Ending a run and starting the next: one owner per run for every source.

A run's capture thread may outlive stop() (a native read of a stalled stream lasts up to
read_timeout, an open up to open_timeout). While it lives it still owns its source: it may
release, reconnect and finally close it. A new run that opened the same source meanwhile would
have it wrecked under its own capture thread, so a start is refused until every thread of the
previous run has exited (check_previous_run_over); stop() again waits for them.
"""

import logging
import time
from typing import Optional

from stream_infer.errors import UsageError
from stream_infer.pipeline import Pipeline

LOG = logging.getLogger('stream_infer.stream')
GRACE_S = 0.5  # a previous run's threads that are about to exit are waited for this long


def join_run(pipeline: Pipeline, deadline: float) -> bool:
    """Wait until the run has ended and its threads exited, up to deadline (monotonic)."""
    pipeline.done.wait(max(0.0, deadline - time.monotonic()))
    for thread in pipeline.workers():
        thread.join(max(0.0, deadline - time.monotonic()))
    alive = [t.name for t in pipeline.workers() if t.is_alive()]
    if alive or not pipeline.done.is_set():
        LOG.warning('stop(): %s still busy (a blocking read or open, model call or callback); '
                    'it will exit by itself when that returns, and the stream cannot start '
                    'again until then (stop() again waits for it)',
                    ', '.join(alive) or 'the delivery loop')
        return False
    return True


def check_previous_run_over(pipeline: Optional[Pipeline]) -> None:
    """Raise UsageError while a thread of the previous run still lives (it owns a source)."""
    if pipeline is None:
        return
    deadline = time.monotonic() + GRACE_S
    for thread in pipeline.workers():
        thread.join(max(0.0, deadline - time.monotonic()))
    alive = [t.name for t in pipeline.workers() if t.is_alive()]
    if alive:
        raise UsageError(
            f'the previous run is not over: {", ".join(alive)} still in a blocking call (a '
            'network read ends within read_timeout, an open within open_timeout) and owns its '
            'source; call stop() again (it waits for it) before start()')


def log_run(pipeline: Pipeline, provider: str, tracking: bool) -> None:
    """Log what a run reads and how (one line per source)."""
    for run in pipeline.runs:
        LOG.info('streaming from %s (%s; model on %s, tracking %s)', run.lane.source.description,
                 'live: newest frame wins' if run.drop else 'every frame', provider,
                 'on' if tracking else 'off')
    if len(pipeline.runs) > 1:
        LOG.info('%d sources share the model, up to %d frames per run', len(pipeline.runs),
                 pipeline.max_batch)


__all__ = ['check_previous_run_over', 'join_run', 'log_run']
