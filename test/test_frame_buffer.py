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

"""The single-slot hand-off: newest wins, drops counted, blocking mode, finish and close."""

import threading

import pytest

from stream_infer.frame_buffer import LatestSlot, SlotClosed


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
