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
The node process's memory over lifecycle cycles stays flat (benchmarks/lifecycle_memory.py).

Before the malloc tuning (stream_infer/malloc_tuning.py) each configure/activate/deactivate/
cleanup cycle with the bundled model left the process 3-9 MiB larger (242 -> 519 MiB over 30
cycles); since, RSS moves within about 25 MiB around a flat line. The bound below sits between
the two: the old growth measured 75 MiB from cycles 2-4 to 13-15 here, the tuned node 6 MiB.
"""

import os
import signal
import subprocess

from lifecycle_msgs.msg import Transition
from lifecycle_msgs.srv import ChangeState
import pytest
from ros_harness import RosHarness, wait_for
from std_msgs.msg import String
from test_ros_node_process import EVENTS_QOS, installed_node

from stream_infer.bundled import bundled_clip_path

CYCLE = (Transition.TRANSITION_CONFIGURE, Transition.TRANSITION_ACTIVATE,
         Transition.TRANSITION_DEACTIVATE, Transition.TRANSITION_CLEANUP)


def rss_mib(pid: int) -> float:
    with open(f'/proc/{pid}/status') as status:
        line = next(text for text in status if text.startswith('VmRSS:'))
    return int(line.split()[1]) / 1024.0


@pytest.mark.slow
def test_rss_stays_flat_over_configure_cleanup_cycles(tmp_path):
    ros = RosHarness()
    log = (tmp_path / 'node.log').open('w')
    proc = subprocess.Popen(
        [installed_node(), '--ros-args', '-r', '__ns:=/mem', '-p', 'autostart:=false',
         '-p', f'source:={bundled_clip_path()}', '-p', 'loop:=true'],
        stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ))
    events = ros.collect(String, '/mem/stream_infer/stream_events', EVENTS_QOS)
    change = ros.probe.create_client(ChangeState, '/mem/stream_infer/change_state')
    rss = {}
    try:
        for cycle in range(1, 16):
            for transition_id in CYCLE:
                request = ChangeState.Request(transition=Transition(id=transition_id))
                assert ros.call(change, request, timeout=60.0).success, (cycle, transition_id)
                if transition_id == Transition.TRANSITION_ACTIVATE:
                    assert wait_for(lambda: sum(e.data == 'started' for e in events) >= cycle,
                                    timeout=60)
            rss[cycle] = rss_mib(proc.pid)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=15)
        log.close()
        ros.close()
    print('RSS MiB per cycle:', {k: round(v) for k, v in rss.items()})
    early = sum(rss[c] for c in (2, 3, 4)) / 3
    late = sum(rss[c] for c in (13, 14, 15)) / 3
    assert late - early < 40.0, f'RSS grew {late - early:.0f} MiB over 11 cycles: {rss}'


def test_cleanup_frees_the_runs_objects_at_once(ros):
    """
    After cleanup nothing of the run is left for the garbage collector to find later.

    A run's objects reference each other (stream, callbacks, detector, its preprocessor's
    frame buffers), so without a collection at cleanup they were freed whenever the collector's
    oldest generation ran: tracemalloc showed the Python heap swinging 10-24 MiB between cycles
    and the next model loading between the leftovers (RSS +8 % over 60 cycles).
    """
    import gc
    import weakref

    from rclpy.parameter import Parameter

    from stream_infer.ros.node import StreamInferNode

    node = ros.add(StreamInferNode('si_gc', context=ros.context, parameter_overrides=[
        Parameter('autostart', value=False), Parameter('source', value=str(bundled_clip_path())),
        Parameter('loop', value=True)]))
    gc.disable()  # only the node's own collection may free cycles in this test
    try:
        for _ in range(2):
            node.trigger_configure()
            node.trigger_activate()
            assert wait_for(lambda: node._stream.stats().frames_processed >= 3, timeout=60)
            run = [weakref.ref(obj) for obj in (node._detector, node._stream,
                                                node._stream._pipeline)]
            node.trigger_deactivate()
            node.trigger_cleanup()
            alive = [ref() for ref in run if ref() is not None]
            assert not alive, f'still alive after cleanup: {[type(a).__name__ for a in alive]}'
    finally:
        gc.enable()


@pytest.mark.parametrize('source', ['clip', 'topic'])
def test_callback_groups_do_not_grow_over_cycles(ros, source):
    """
    The node's callback groups do not keep a reference per entity it ever created.

    rclpy's groups keep a weak reference to every entity ever added, dead or alive: each
    configure/activate/deactivate/cleanup cycle left 14 dead ones in the node's groups (its
    publishers' event handlers, the diagnostics timer, topic-mode subscriptions). The node
    drops them after deactivate and cleanup.
    """
    from rclpy.parameter import Parameter

    from stream_infer.ros.node import StreamInferNode

    node = ros.add(StreamInferNode('si_groups', context=ros.context, parameter_overrides=[
        Parameter('autostart', value=False),
        Parameter('source', value=str(bundled_clip_path()) if source == 'clip' else ''),
        Parameter('loop', value=True)]))

    def references() -> int:
        entities = [*node.subscriptions, *node.timers, *node.services, *node.clients,
                    *node.waitables]  # (publishers have none: their event handlers do)
        groups = {id(group): group for group in [node.default_callback_group] + [
            entity.callback_group for entity in entities]}
        return sum(len(group.entities) for group in groups.values())

    counts = []
    for _ in range(3):
        node.trigger_configure()
        node.trigger_activate()
        node.trigger_deactivate()
        node.trigger_cleanup()
        counts.append(references())
    assert counts[0] == counts[1] == counts[2], f'weak references after each cycle: {counts}'
