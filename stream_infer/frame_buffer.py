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
A single-slot hand-off between two threads: the freshest item waits, older ones are dropped.

The producer swaps a whole object in under a Condition, and the consumer takes the whole object
out, so a consumer can never see one frame's image with another frame's id (the bug of
flag-and-attribute hand-offs). put(block=False) replaces a waiting item and counts the drop
(live sources); put(block=True) waits until the slot is free (files read as fast as possible).

A SlotGroup is several such slots (one per source) sharing one Condition, so one consumer can
wait for "any slot has an item" and take from them round-robin: a busy source never starves a
slow one, and an empty or stalled slot never blocks the others.
"""

import threading
import time
from typing import Generic, List, Optional, Tuple, TypeVar

T = TypeVar('T')


class SlotClosed(Exception):
    """The slot was closed, or finished and drained: no more items will come."""


class LatestSlot(Generic[T]):
    """
    A thread-safe single-slot buffer with drop counting, finish (drain) and close (discard).

        >>> slot = LatestSlot()
        >>> slot.put('frame 1'); slot.put('frame 2')   # the newer one replaces the waiting one
        True
        True
        >>> slot.take(), slot.dropped
        ('frame 2', 1)
    """

    def __init__(self, condition: Optional[threading.Condition] = None) -> None:
        self._cond = condition or threading.Condition()  # a SlotGroup's slots share one
        self._item: Optional[T] = None
        self._full = False
        self._finished = False
        self._closed = False
        self.puts = 0
        self.takes = 0
        self.dropped = 0

    def put(self, item: T, block: bool = False, timeout: Optional[float] = None) -> bool:
        """
        Offer item; return True when it is in the slot.

        block=False: replace a waiting item (counted in dropped). block=True: wait until the
        slot is empty (False on timeout). Raises SlotClosed after close() or finish().
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            if block:
                while self._full and not (self._closed or self._finished):
                    remaining = None if deadline is None else deadline - time.monotonic()
                    if remaining is not None and remaining <= 0:
                        return False
                    self._cond.wait(remaining)
            if self._closed or self._finished:
                raise SlotClosed()
            if self._full:
                self.dropped += 1
            self._item, self._full = item, True
            self.puts += 1
            self._cond.notify_all()
            return True

    def take(self, timeout: Optional[float] = None) -> Optional[T]:
        """
        Remove and return the waiting item; None when none came within timeout.

        Raises SlotClosed when closed, or when finished and empty.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while not self._full:
                if self._closed or self._finished:
                    raise SlotClosed()
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return None
                self._cond.wait(remaining)
            if self._closed:
                raise SlotClosed()
            return self._pop()

    def _pop(self) -> T:
        """Remove the waiting item (the caller holds the condition and knows it is full)."""
        item, self._item, self._full = self._item, None, False
        self.takes += 1
        self._cond.notify_all()
        return item

    def finish(self) -> None:
        """No more puts: the waiting item (if any) can still be taken, then take() raises."""
        with self._cond:
            self._finished = True
            self._cond.notify_all()

    def close(self) -> None:
        """Stop now: drop the waiting item and wake every waiter (they raise SlotClosed)."""
        with self._cond:
            self._closed = True
            self._item, self._full = None, False
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def drained(self) -> bool:
        """Return True when no item will ever come out again (closed, or finished and empty)."""
        return self._closed or (self._finished and not self._full)

    def __len__(self) -> int:
        return int(self._full)


class SlotGroup(Generic[T]):
    """
    One LatestSlot per producer, one consumer taking from any of them, round-robin.

    take() waits until at least one slot holds an item, then returns up to max_items of them
    (one per slot, as (slot index, item) pairs) starting after the slot served last, so every
    producer with a fresh item gets its turn. It raises SlotClosed once every slot is drained.

        >>> group = SlotGroup(3)
        >>> group.slots[0].put('a0'); group.slots[2].put('c0')
        True
        True
        >>> group.take(), group.take()
        ([(0, 'a0')], [(2, 'c0')])
        >>> group.slots[0].put('a1'); group.slots[1].put('b1'); group.slots[2].put('c1')
        True
        True
        True
        >>> group.take(max_items=2), group.take(max_items=2)
        ([(0, 'a1'), (1, 'b1')], [(2, 'c1')])
    """

    def __init__(self, count: int) -> None:
        if count < 1:
            raise ValueError(f'a slot group needs at least one slot, got {count}')
        self._cond = threading.Condition()
        self.slots: List[LatestSlot[T]] = [LatestSlot(self._cond) for _ in range(count)]
        self._last = count - 1  # the slot served last: slot 0 goes first

    def take(self, max_items: int = 1,
             timeout: Optional[float] = None) -> List[Tuple[int, T]]:
        """
        Remove and return up to max_items waiting items, round-robin; [] on timeout.

        Raises SlotClosed when every slot is closed, or finished and empty.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        slots, count = self.slots, len(self.slots)
        with self._cond:
            while True:
                taken = []
                for step in range(1, count + 1):
                    index = (self._last + step) % count
                    slot = slots[index]
                    if slot._full and not slot._closed:
                        taken.append((index, slot._pop()))
                        if len(taken) == max_items:
                            break
                if taken:
                    self._last = taken[-1][0]
                    return taken
                if all(slot.drained for slot in slots):
                    raise SlotClosed()
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return []
                self._cond.wait(remaining)

    def close(self) -> None:
        """Close every slot (waiters raise SlotClosed)."""
        for slot in self.slots:
            slot.close()

    @property
    def dropped(self) -> int:
        """Items replaced before they were taken, over every slot."""
        return sum(slot.dropped for slot in self.slots)
