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
What a run's threads free as they stop goes back to the system (stream_infer/malloc_tuning.py).

Runs in a fresh Python process: the malloc settings are process-wide, and a fresh process
gives the worker thread an arena of its own, as the node's engine threads have.
"""

import subprocess
import sys
import textwrap

import pytest

from stream_infer.malloc_tuning import _libc

WORKER = textwrap.dedent("""
    import threading
    from stream_infer.malloc_tuning import large_blocks_on_mmap, release_free_memory

    def rss_mib():
        with open('/proc/self/status') as status:
            return next(int(l.split()[1]) for l in status if l.startswith('VmRSS:')) / 1024

    with large_blocks_on_mmap():  # as the node loads its model: fixes the mmap threshold
        pass
    held, ready, go = [], threading.Event(), threading.Event()

    def run_thread():  # a run's frames: 1 MiB blocks from this thread's arena, written
        held.extend(bytes([i]) * (1 << 20) for i in range(48))
        ready.set()
        go.wait()
        held.clear()  # freed by the thread as its run stops

    base = rss_mib()
    thread = threading.Thread(target=run_thread)
    thread.start()
    ready.wait()
    peak = rss_mib()
    go.set()
    thread.join()
    stopped = rss_mib()
    release_free_memory()
    print(peak - base, stopped - base, rss_mib() - base)
""")


@pytest.mark.skipif(_libc() is None, reason='glibc malloc only')
def test_what_a_stopped_runs_thread_freed_goes_back():
    """
    48 MiB freed by a thread as its run stops leave at most a few MiB resident after release.

    The thread arena keeps them at its top (below the 64 MiB trim threshold), where
    malloc_trim() alone left all 48 (the node before: its RSS stepped up after a busier run).
    """
    out = subprocess.run([sys.executable, '-c', WORKER], capture_output=True, text=True,
                         timeout=120, check=True).stdout.split()
    peak, stopped, kept = (float(value) for value in out)
    assert peak > 40, f'the worker held only {peak:.1f} MiB'
    assert stopped > 40, f'glibc gave back the freed top at once ({stopped:.1f} MiB kept)'
    assert kept < 8, f'{kept:.1f} of {peak:.1f} MiB still resident after release_free_memory()'
