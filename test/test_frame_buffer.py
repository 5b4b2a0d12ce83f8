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
The single-slot hand-off: newest wins, drops counted, blocking mode, finish and close.

And the slot group (one slot per source, one consumer): round-robin, drained slots, close.
"""

import threading

import pytest

from stream_infer.frame_buffer import LatestSlot, SlotClosed, SlotGroup


def test_newest_item_replaces_waiting_one_and_the_drop_is_counted():
    slot = LatestSlot()
    assert slot.put('a') and slot.put('b') and slot.put('c')
    assert slot.dropped == 2 and len(slot) == 1
    assert slot.take(0) == 'c'
    assert slot.take(0.01) is None  # empty: timeout
    assert (slot.puts, slot.takes, slot.dropped) == (3, 1, 2)


def test_blocking_put_waits_for_the_consumer_and_drops_nothing():
    slot = LatestSlot()
    got = []

    def consume():
        while True:
            try:
                item = slot.take(1.0)
            except SlotClosed:
                return
            if item is not None:
                got.append(item)

    consumer = threading.Thread(target=consume)
    consumer.start()
    for i in range(500):
        assert slot.put(i, block=True)
    slot.finish()
    consumer.join(5)
    assert not consumer.is_alive()
    assert got == list(range(500)) and slot.dropped == 0


def test_blocking_put_times_out_when_nobody_takes():
    slot = LatestSlot()
    slot.put(1)
    assert slot.put(2, block=True, timeout=0.05) is False
    assert slot.take(0) == 1


def test_finish_lets_the_last_item_be_taken_then_raises():
    slot = LatestSlot()
    slot.put('last')
    slot.finish()
    with pytest.raises(SlotClosed):
        slot.put('late')
    assert slot.take(0) == 'last'
    with pytest.raises(SlotClosed):
        slot.take(0)


def test_close_discards_and_wakes_blocked_take_and_put():
    slot = LatestSlot()
    raised = []

    def wait_take():
        try:
            slot.take()
        except SlotClosed:
            raised.append('take')

    def wait_put():
        slot.put('x')
        try:
            slot.put('y', block=True)
        except SlotClosed:
            raised.append('put')

    threads = [threading.Thread(target=wait_put)]
    threads[0].start()
    while len(slot) == 0:
        threading.Event().wait(0.001)
    slot.close()
    threads.append(threading.Thread(target=wait_take))
    threads[1].start()
    for t in threads:
        t.join(5)
    assert sorted(raised) == ['put', 'take']
    assert slot.closed


def test_concurrent_producer_consumer_accounting_and_order():
    """Every put is either taken or counted as dropped, and takes come out in order."""
    slot = LatestSlot()
    taken = []
    done = threading.Event()

    def consume():
        while True:
            try:
                item = slot.take(0.5)
            except SlotClosed:
                done.set()
                return
            if item is not None:
                taken.append(item)
                for _ in range(200):  # a slow-ish consumer
                    pass

    consumer = threading.Thread(target=consume)
    consumer.start()
    for i in range(20000):
        slot.put(i)
    slot.finish()
    consumer.join(10)
    assert done.is_set()
    assert taken == sorted(taken) and len(set(taken)) == len(taken)
    assert taken[-1] == 19999, 'the newest item must always be delivered'
    assert len(taken) + slot.dropped == 20000


def test_group_take_is_round_robin_over_the_slots_holding_an_item():
    group = SlotGroup(3)
    order = []
    for _ in range(4):  # every slot always full: strict rotation 0, 1, 2, 0, ...
        for index, slot in enumerate(group.slots):
            if not len(slot):
                slot.put((index, len(order)))
        order.append(group.take(timeout=0)[0][0])
    assert order == [0, 1, 2, 0]
    group.slots[2].take(0)
    group.slots[0].take(0)  # only slot 1 holds an item: it is served whatever the turn
    assert [i for i, _ in group.take(max_items=3, timeout=0)] == [1]
    assert group.take(timeout=0.01) == []


def test_group_batches_one_item_per_slot_starting_after_the_last_served():
    group = SlotGroup(4)
    for index, slot in enumerate(group.slots):
        slot.put(f'item {index}')
    assert [i for i, _ in group.take(max_items=3)] == [0, 1, 2]
    for index in (0, 1, 2):
        group.slots[index].put(f'again {index}')
    assert [i for i, _ in group.take(max_items=3)] == [3, 0, 1]
    assert [i for i, _ in group.take(max_items=3)] == [2]


def test_group_ends_only_when_every_slot_is_drained():
    group = SlotGroup(2)
    group.slots[0].put('last of 0')
    group.slots[0].finish()
    group.slots[1].close()
    assert group.take(timeout=0) == [(0, 'last of 0')]
    with pytest.raises(SlotClosed):
        group.take(timeout=0)


def test_group_consumer_wakes_for_any_slot_and_a_slow_producer_is_not_starved():
    """A producer putting as fast as it can beside one putting rarely: both get taken."""
    group = SlotGroup(2)
    fast, slow = group.slots
    stop = threading.Event()
    taken = {0: 0, 1: 0}

    def produce_fast():
        i = 0
        while not stop.is_set():
            fast.put(i)
            i += 1
        fast.finish()

    def consume():
        while True:
            try:
                for index, _ in group.take(timeout=1.0):
                    taken[index] += 1
            except SlotClosed:
                return

    threads = [threading.Thread(target=produce_fast), threading.Thread(target=consume)]
    for thread in threads:
        thread.start()
    for i in range(50):
        assert slow.put(i, block=True, timeout=5.0), 'the slow slot is always emptied'
    slow.finish()
    stop.set()
    for thread in threads:
        thread.join(5)
    assert not any(t.is_alive() for t in threads)
    assert taken[1] == 50 and slow.dropped == 0 and taken[0] > 0
