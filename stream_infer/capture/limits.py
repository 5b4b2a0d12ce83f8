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
How much is kept: rate caps, the interval between captures of a source, and the disk limits.

RateCaps and MinInterval are asked on the delivery thread with a time from an injectable clock
(time.monotonic by default; tests pass their own), so they cost a deque look-up. DiskSpace is
asked on the capture worker before each write: the dataset's size against its budget and the
filesystem's free space against the minimum to keep.

    >>> caps = RateCaps(per_minute=2)
    >>> for now in (0.0, 1.0, 2.0, 61.0):
    ...     if caps.allows(now):
    ...         caps.record(now)
    >>> caps.count
    3
"""

from collections import deque
import os
from pathlib import Path
import shutil
from typing import Deque, Dict, Tuple

MB = 1024 * 1024
WINDOWS = (('per_minute', 60.0), ('per_hour', 3600.0), ('per_day', 86400.0))


class RateCaps:
    """At most per_minute / per_hour / per_day events in any sliding 60 s / 1 h / 24 h; 0: none."""

    def __init__(self, per_minute: int = 0, per_hour: int = 0, per_day: int = 0) -> None:
        caps = {'per_minute': per_minute, 'per_hour': per_hour, 'per_day': per_day}
        # one deque per capped window, never longer than its cap
        self._windows: Tuple[Tuple[float, int, Deque[float]], ...] = tuple(
            (seconds, caps[name], deque(maxlen=caps[name]))
            for name, seconds in WINDOWS if caps[name])
        self.count = 0

    @classmethod
    def of(cls, owner: object) -> 'RateCaps':
        """Caps from any object with per_minute, per_hour and per_day attributes."""
        return cls(owner.per_minute, owner.per_hour, owner.per_day)

    def allows(self, now: float) -> bool:
        """Return True when one more event at now stays within every cap."""
        for seconds, cap, times in self._windows:
            while times and times[0] <= now - seconds:
                times.popleft()
            if len(times) >= cap:
                return False
        return True

    def record(self, now: float) -> None:
        """Count an event at now (call after allows(now) said yes)."""
        self.count += 1
        for _, _, times in self._windows:
            times.append(now)


class MinInterval:
    """At least `seconds` between two events of the same key (a source)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._last: Dict[str, float] = {}

    def allows(self, key: str, now: float) -> bool:
        last = self._last.get(key)
        return last is None or now - last >= self.seconds

    def record(self, key: str, now: float) -> None:
        self._last[key] = now


def tree_size(directory: Path) -> int:
    """Return the bytes of the regular files under directory (0 when it does not exist)."""
    total = 0
    stack = [directory]
    while stack:
        try:
            entries = list(os.scandir(stack.pop()))
        except (FileNotFoundError, NotADirectoryError):
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(Path(entry.path))
                elif entry.is_file(follow_symlinks=False):
                    total += entry.stat(follow_symlinks=False).st_size
            except FileNotFoundError:
                continue
    return total


class DiskSpace:
    """
    The dataset's size against its budget, and the filesystem's free space against a minimum.

    used starts from what the directory already holds (scan()) and grows with each write
    (add()); check() says why n more bytes cannot be written, or returns '' when they can.
    """

    def __init__(self, directory: Path, budget_mb: float, min_free_mb: float) -> None:
        self.directory = Path(directory)
        self.budget = int(budget_mb * MB) if budget_mb else None  # 0: no budget
        self.min_free = int(min_free_mb * MB)
        self.used = 0

    def scan(self) -> int:
        self.used = tree_size(self.directory)
        return self.used

    def add(self, nbytes: int) -> None:
        self.used += nbytes

    def over_budget(self, nbytes: int) -> str:
        """Return why nbytes more would exceed the budget ('' when they fit)."""
        if self.budget is not None and self.used + nbytes > self.budget:
            return (f'the disk budget of {self.budget / MB:g} MB is reached ({self.used / MB:.1f}'
                    f' MB in {self.directory})')
        return ''

    def low_space(self, nbytes: int) -> str:
        """Return why nbytes more would leave too little free space ('' when they fit)."""
        if not self.min_free:  # 0: no check; a full disk then fails the write (ENOSPC)
            return ''
        free = shutil.disk_usage(self.directory).free  # OSError when the directory vanished
        if free - nbytes < self.min_free:
            return (f'{free / MB:.1f} MB free on the filesystem of {self.directory}, '
                    f'{self.min_free / MB:g} MB must stay free')
        return ''


__all__ = ['DiskSpace', 'MB', 'MinInterval', 'RateCaps', 'tree_size']
