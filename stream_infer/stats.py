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
Engine statistics: counters, rates and latency percentiles, recorded cheaply, read as snapshots.

The engine's threads record into a StatsRecorder under one short lock; stats() returns a frozen
Stats dataclass (nested dataclasses flatten to ROS diagnostics key/values), safe to read from
any thread. Drops are not recorded here: the slot and the source count them, the stream adds
them into the snapshot. With several sources each has its own recorder whose records also go
to the stream's total (parent).

    >>> recorder = StatsRecorder()
    >>> recorder.frame_in(); recorder.processed({'infer': 20.0}, age_ms=35.0)
    >>> stats = recorder.snapshot(frames_dropped=2)
    >>> stats.frames_in, stats.frames_processed, stats.frames_dropped
    (1, 1, 2)
    >>> stats.latency_ms['infer'].p50
    20.0
"""

from collections import deque
from dataclasses import dataclass, field
import threading
import time
from typing import Deque, Dict, Mapping, Optional

import numpy as np

STAGES = ('preprocess', 'infer', 'postprocess', 'track', 'callbacks')
WINDOW_S = 2.0  # rates are measured over the last WINDOW_S seconds
SAMPLES = 512  # latency percentiles are over the last SAMPLES frames


@dataclass(frozen=True)
class LatencySummary:
    """Milliseconds over the last SAMPLES frames (0 when there is none)."""

    count: int = 0
    last: float = 0.0
    mean: float = 0.0
    p50: float = 0.0
    p90: float = 0.0
    p99: float = 0.0
    max: float = 0.0  # noqa: A003 - a field name, as in numpy


@dataclass(frozen=True)
class Stats:
    """
    A snapshot of the engine's health.

    frames_in counts frames that reached the engine; frames_dropped those replaced by a newer
    one before inference (buffer) or skipped by the source to keep real time; errors frames
    whose preprocessing or inference raised; callback_errors exceptions raised by user
    callbacks. age_ms is capture -> delivery to the callbacks. source never holds credentials.
    """

    source: str = ''
    source_state: str = 'stopped'
    running: bool = False
    stop_reason: str = ''
    frames_in: int = 0
    frames_processed: int = 0
    frames_dropped: int = 0
    errors: int = 0
    callback_errors: int = 0
    detections_2d_only: int = 0  # detections on frames with depth left without a 3D box
    connection_losses: int = 0
    reconnects: int = 0
    transport: str = ''  # a network stream's (rtsp: tcp, udp or auto; else its URL scheme)
    last_error: str = ''  # the source's last warning or error (why it reconnected), redacted
    input_fps: float = 0.0
    processed_fps: float = 0.0
    mean_processed_fps: float = 0.0
    elapsed_s: float = 0.0
    latency_ms: Dict[str, LatencySummary] = field(default_factory=dict)
    age_ms: LatencySummary = field(default_factory=LatencySummary)


class _Ring:
    """Fixed-size ring of float samples."""

    def __init__(self, size: int = SAMPLES) -> None:
        self.values = np.zeros(size, dtype=np.float64)
        self.count = 0
        self.last = 0.0

    def add(self, value: float) -> None:
        self.values[self.count % len(self.values)] = value
        self.count += 1
        self.last = value

    def summary(self) -> LatencySummary:
        n = min(self.count, len(self.values))
        if n == 0:
            return LatencySummary()
        window = self.values[:n]
        p50, p90, p99 = np.percentile(window, (50, 90, 99))
        return LatencySummary(count=self.count, last=float(self.last),
                              mean=float(window.mean()), p50=float(p50), p90=float(p90),
                              p99=float(p99), max=float(window.max()))


def _forget_old(events: Deque[float], now: float) -> None:
    """Drop the events older than the rate window (so a stream nobody polls stays small)."""
    while events and events[0] < now - WINDOW_S:
        events.popleft()


def _rate(events: Deque[float], now: float) -> float:
    _forget_old(events, now)
    if len(events) < 2:
        return 0.0
    span = max(events[-1] - events[0], now - events[-1])
    return (len(events) - 1) / span if span > 0 else 0.0


class StatsRecorder:
    """
    Thread-safe recorder the engine writes to; snapshot() builds a Stats.

    parent: another recorder that also gets every frame, count and processed record (the total
    over several sources); reset() and stopped() are not passed on.
    """

    def __init__(self, parent: Optional['StatsRecorder'] = None) -> None:
        self._lock = threading.Lock()
        self.parent = parent
        self.reset()

    def reset(self) -> None:
        """Start a new run: zero every counter and sample."""
        with self._lock:
            self._started = time.monotonic()
            self._stopped: Optional[float] = None
            self._counts = {'in': 0, 'processed': 0, 'errors': 0, 'callback_errors': 0,
                            'detections_2d_only': 0}
            self._in_events: Deque[float] = deque()
            self._out_events: Deque[float] = deque()
            self._stages = {stage: _Ring() for stage in STAGES}
            self._age = _Ring()

    def frame_in(self) -> None:
        now = time.monotonic()
        with self._lock:
            self._counts['in'] += 1
            self._in_events.append(now)
            _forget_old(self._in_events, now)
        if self.parent is not None:
            self.parent.frame_in()

    def count(self, key: str, n: int = 1) -> None:
        with self._lock:
            self._counts[key] += n
        if self.parent is not None:
            self.parent.count(key, n)

    def processed(self, timings_ms: Mapping[str, float], age_ms: float) -> None:
        if self.parent is not None:
            self.parent.processed(timings_ms, age_ms)
        now = time.monotonic()
        with self._lock:
            self._counts['processed'] += 1
            self._out_events.append(now)
            _forget_old(self._out_events, now)
            for stage, value in timings_ms.items():
                ring = self._stages.get(stage)
                if ring is not None:
                    ring.add(value)
            self._age.add(age_ms)

    def stopped(self) -> None:
        with self._lock:
            self._stopped = time.monotonic()

    def snapshot(self, **extra) -> Stats:
        """Return a frozen Stats; extra sets the fields the recorder does not own (drops...)."""
        now = time.monotonic()
        with self._lock:
            end = self._stopped or now
            elapsed = max(end - self._started, 1e-9)
            counts = dict(self._counts)
            running = self._stopped is None
            input_fps = _rate(self._in_events, now) if running else 0.0
            processed_fps = _rate(self._out_events, now) if running else 0.0
            latency = {stage: ring.summary() for stage, ring in self._stages.items()}
            age = self._age.summary()
        return Stats(
            frames_in=counts['in'], frames_processed=counts['processed'], errors=counts['errors'],
            callback_errors=counts['callback_errors'],
            detections_2d_only=counts['detections_2d_only'], input_fps=input_fps,
            processed_fps=processed_fps, mean_processed_fps=counts['processed'] / elapsed,
            elapsed_s=elapsed, latency_ms=latency, age_ms=age, **extra)
