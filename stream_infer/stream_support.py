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


"""The stream's small helpers: a lock-free-to-read callback list, a summary of source states."""

from collections import Counter
import threading
from typing import Callable, Sequence, Tuple

from stream_infer.options import CHANNEL_ORDERS
from stream_infer.sources import FrameSource


class CallbackList:
    """A copy-on-write list of callbacks: dispatch iterates a snapshot without a lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: Tuple[Tuple[object, Callable], ...] = ()
        self.items: Tuple[Callable, ...] = ()

    def add(self, callback: Callable) -> Callable[[], None]:
        """Register callback; return a function that unregisters this registration."""
        if not callable(callback):
            raise TypeError(f'callback must be callable, got {type(callback).__name__}')
        token = object()  # the same function may be registered twice: remove only this one
        with self._lock:
            self._entries = self._entries + ((token, callback),)
            self.items = tuple(cb for _, cb in self._entries)

        def unsubscribe() -> None:
            with self._lock:
                self._entries = tuple(e for e in self._entries if e[0] is not token)
                self.items = tuple(cb for _, cb in self._entries)
        return unsubscribe


def summary_state(sources: Sequence[FrameSource]) -> str:
    """One state for several sources: theirs when they agree, else 'connected 2, ended 1'."""
    counts = Counter(str(source.state) for source in sources)
    if len(counts) == 1:
        return next(iter(counts))
    return ', '.join(f'{state} {count}' for state, count in counts.items())


def channel_order(order: str) -> str:
    value = str(order).upper()
    if value not in CHANNEL_ORDERS:
        raise ValueError(f'output_channel_order={order!r}; accepted: {", ".join(CHANNEL_ORDERS)}')
    return value


__all__ = ['CallbackList', 'channel_order', 'summary_state']
