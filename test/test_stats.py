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

"""Engine statistics: what the recorder keeps between snapshots."""

import stream_infer.stats as stats


def test_rate_windows_stay_small_when_nobody_reads_the_stats(monkeypatch):
    """A stream whose stats() nobody calls must not keep every frame's time forever."""
    ticks = iter(range(10 ** 6))
    monkeypatch.setattr(stats.time, 'monotonic', lambda: next(ticks) * 0.01)  # 10 ms a call
    recorder = stats.StatsRecorder()
    for _ in range(5000):
        recorder.frame_in()
        recorder.processed({'infer': 1.0}, age_ms=2.0)
    window = stats.WINDOW_S / 0.01
    assert len(recorder._in_events) <= window and len(recorder._out_events) <= window
    snapshot = recorder.snapshot()
    assert snapshot.frames_in == snapshot.frames_processed == 5000
    assert snapshot.input_fps > 0
