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
What the stream-infer command prints about a run on stderr: progress while it runs, a summary.

    >>> Summary().per_class
    Counter()
"""

from collections import Counter
import time
from typing import List, Optional, TextIO

from stream_infer.results import StreamResult
from stream_infer.stream import InferenceStream


class Progress:
    """One status line on stderr about once a second (rewritten in place on a terminal)."""

    def __init__(self, stream: InferenceStream, total: Optional[int], out: TextIO) -> None:
        self.stream = stream
        self.total = total
        self.out = out
        self.tty = out.isatty()
        self.last = time.monotonic()
        self.shown = False

    def update(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last < 1.0:
            return
        self.last = now
        stats = self.stream.stats()
        done = f'{stats.frames_processed}'
        if self.total:
            done += f'/{self.total} ({100.0 * stats.frames_processed / self.total:.0f}%)'
        fps = stats.processed_fps or stats.mean_processed_fps
        line = (f'frames {done}  {fps:.1f} fps  dropped {stats.frames_dropped}  '
                f'age {stats.age_ms.p50:.0f} ms')
        if self.tty:
            self.out.write('\r' + line.ljust(70))
        else:
            self.out.write(line + '\n')
        self.out.flush()
        self.shown = True

    def finish(self) -> None:
        if self.shown and self.tty:
            self.out.write('\n')
            self.out.flush()


class Summary:
    """Counts what was seen: detections per class and tracks (with their first class)."""

    def __init__(self) -> None:
        self.per_class: Counter = Counter()
        self.tracks: dict = {}  # (source index, track id) -> class name

    def add(self, result: StreamResult) -> None:
        detections = result.detections
        if not len(detections):
            return
        names = detections.data.get('class_name')
        names = [str(n) for n in names] if names is not None \
            else [str(c) for c in detections.class_id]
        self.per_class.update(names)
        if detections.tracker_id is not None:
            for track, name in zip(detections.tracker_id.tolist(), names):
                if track >= 0:  # track ids are per source
                    self.tracks.setdefault((result.source_index, track), name)

    def lines(self, stream: InferenceStream) -> List[str]:
        stats = stream.stats()
        out = [f'{stats.frames_processed} frames from {stats.source} in {stats.elapsed_s:.1f} s: '
               f'{stats.mean_processed_fps:.1f} fps, {stats.frames_dropped} dropped '
               f'({stats.stop_reason or "running"})']
        if len(stream.source_names) > 1:
            for name, one in stream.stats_by_source().items():
                out.append(f'  {name}: {one.frames_processed} frames, '
                           f'{one.mean_processed_fps:.1f} fps, {one.frames_dropped} dropped, '
                           f'age p99 {one.age_ms.p99:.0f} ms ({one.stop_reason or "running"})')
        if self.per_class:
            out.append('detections: ' + ', '.join(
                f'{name} {count}' for name, count in self.per_class.most_common()))
        else:
            out.append('detections: none')
        if self.tracks:
            by_class = Counter(self.tracks.values())
            out.append(f'tracks: {len(self.tracks)} (' + ', '.join(
                f'{name} {count}' for name, count in by_class.most_common()) + ')')
        elif stream.tracking:
            out.append('tracks: none')
        infer = stats.latency_ms.get('infer')
        if infer is not None and infer.count:
            model = f'{stream.detector.provider} ({stream.detector.precision})'
            out.append(f'model: {model}, inference p50 {infer.p50:.1f} ms, '
                       f'frame age p50 {stats.age_ms.p50:.0f} ms / p99 {stats.age_ms.p99:.0f} '
                       'ms')
        if stats.errors or stats.callback_errors:
            out.append(f'errors: {stats.errors} frames, {stats.callback_errors} in outputs')
        return out


__all__ = ['Progress', 'Summary']
