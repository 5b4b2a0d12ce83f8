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
glibc malloc settings for a long-running process that loads and releases models.

Measured on the node (benchmarks/lifecycle_memory.py): each configure/activate/deactivate/
cleanup cycle left RSS 1-3 MiB higher (326 -> 404 MiB over 60 cycles, still rising) while the
memory in use (mallinfo2) stayed flat at 87 MiB: nothing was kept, the heap fragmented. Three
glibc behaviours cause it:
- ONNX Runtime allocates a model's weights and buffers in large blocks. glibc serves blocks
  above its mmap threshold with mmap (returned to the system when freed), but raises that
  threshold each time such a block is freed (up to 32 MiB), so after the first cleanup the next
  model's blocks come from the heap, between long-lived small allocations, and leave holes;
- every thread may get its own arena (up to 8 per core), and each activation starts new
  threads (capture, inference, delivery, FFmpeg's), spreading such holes over many heaps;
- malloc_trim() returns the free pages inside every heap but the free top of a thread arena
  only when a later free there finds it above the trim threshold (64 MiB once the mmap
  threshold is fixed): what a run's threads freed as they stopped stayed resident, and each
  run that held more frames at once than any before (a busier moment) raised the node's RSS
  after cleanup for good (+5.7 and +5.2 MiB in the two thread arenas over 200 cycles,
  /proc/PID/smaps: +4.9 %).
large_blocks_on_mmap() puts the blocks allocated while a model loads on mmap, then fixes the
threshold where glibc's own adjustment would end (32 MiB), so per-frame buffers (a 1080p frame
is 6 MiB) are still recycled by the heap without page faults; limit_arenas(2) keeps threads on
two arenas; release_free_memory() trims every heap, the thread arenas' tops included. With
these the node's RSS is flat after the first cycle, provided the old run's objects are freed
at cleanup (release_free_memory collects them first: they form reference cycles, and left to
Python's collector they were freed at random later points, between the next model's blocks,
+8 % over 60 cycles while streaming between them).

Process-wide settings: limit_arenas() is for process owners, early (the node's main());
the node wraps its model loading in large_blocks_on_mmap() and calls release_free_memory()
after cleanup. Where there is no glibc they do nothing.

    >>> with large_blocks_on_mmap():
    ...     pass                                  # load a model here
    >>> release_free_memory() in (True, False)    # False where there is no glibc
    True
"""

from contextlib import contextmanager
import ctypes
import ctypes.util
import gc
import threading
from typing import Iterator, Optional

M_TRIM_THRESHOLD = -1  # mallopt parameters (glibc malloc.h)
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
MIB = 1024 * 1024
GLIBC_MAX_MMAP_THRESHOLD = 32 * MIB  # where glibc's dynamic threshold stops (64-bit)
TRIM_THRESHOLD = 2 * GLIBC_MAX_MMAP_THRESHOLD  # glibc's own at that mmap threshold
TRIM_AT_ONCE = 128 * 1024  # glibc's default: a heap's free top beyond this is given back
ARENA_TRIMMERS = 4  # threads that trim the thread arenas no thread holds (limit_arenas: 2)


def _libc() -> Optional[ctypes.CDLL]:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library('c') or 'libc.so.6')
    except OSError:
        return None
    return libc if hasattr(libc, 'mallopt') and hasattr(libc, 'malloc_trim') else None


def limit_arenas(arenas: int = 2) -> bool:
    """Let all threads share at most arenas malloc arenas; False if not glibc."""
    libc = _libc()
    return bool(libc is not None and libc.mallopt(M_ARENA_MAX, int(arenas)) == 1)


@contextmanager
def large_blocks_on_mmap(during: int = MIB,
                         after: int = GLIBC_MAX_MMAP_THRESHOLD) -> Iterator[None]:
    """
    Serve blocks of `during` bytes or more with mmap inside the block (a model loading).

    Afterwards the threshold stays fixed at `after` (glibc's own adjustment is off from the
    first call on) with a trim threshold of TRIM_THRESHOLD, as glibc's adjustment would leave
    them (the next frames of a run reuse the free memory at a heap's top).
    """
    libc = _libc()
    if libc is None:
        yield
        return
    libc.mallopt(M_MMAP_THRESHOLD, int(during))
    libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    try:
        yield
    finally:
        libc.mallopt(M_MMAP_THRESHOLD, int(after))


def _trim_thread_arenas(libc: ctypes.CDLL, threads: int = ARENA_TRIMMERS) -> None:
    """
    Return the free tops of the thread arenas that no thread holds (a stopped run's).

    glibc gives a new thread such an arena first; each trimmer holds one while the others
    start, then frees a block there (96 KiB: above the 64 KiB from which a free looks at the
    top, below the 128 KiB from which glibc may serve it with mmap) while the trim threshold
    is low: that free returns the arena's top. The trimmers that find none share an arena in
    use, or (no limit_arenas) make a small one.
    """
    libc.malloc.restype = ctypes.c_void_p
    libc.free.argtypes = [ctypes.c_void_p]
    all_hold = threading.Barrier(threads)

    def trim() -> None:
        block = libc.malloc(96 * 1024)
        try:
            all_hold.wait(timeout=5.0)
        except threading.BrokenBarrierError:
            pass
        libc.free(block)

    trimmers = [threading.Thread(target=trim, name='arena-trim', daemon=True)
                for _ in range(threads)]
    started = []
    libc.mallopt(M_TRIM_THRESHOLD, TRIM_AT_ONCE)
    try:
        for trimmer in trimmers:
            trimmer.start()
            started.append(trimmer)
    except RuntimeError:  # no thread can start now (a process limit): trim what we have
        all_hold.abort()
    finally:
        for trimmer in started:
            trimmer.join(timeout=10.0)
        libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)


def release_free_memory(collect: bool = True) -> bool:
    """
    Free the objects of a finished run, then return the heaps' free pages to the system.

    collect: run Python's cyclic garbage collector first. A run's objects (stream, threads'
    state, callbacks, the detector with its session and frame buffers) reference each other,
    so they are freed only when the collector's oldest generation runs, which may be many
    cycles later: meanwhile the next model loads between them and the heap fragments (RSS
    +8 % over 60 cycles while streaming between them). Collecting here frees them at a fixed
    point, before the trim. malloc_trim() then returns the free pages inside every heap and at
    the main heap's top (and merges what is free at the thread arenas' tops), and
    _trim_thread_arenas() those tops (a few ms; a run of the process that still streams
    faults its next frames in again). Returns False (after collecting) if not glibc.
    """
    if collect:
        gc.collect()
    libc = _libc()
    if libc is None:
        return False
    libc.malloc_trim(0)
    _trim_thread_arenas(libc)
    return True


__all__ = ['large_blocks_on_mmap', 'limit_arenas', 'release_free_memory']
