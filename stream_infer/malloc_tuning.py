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
memory in use (mallinfo2) stayed flat at 87 MiB: nothing was kept, the heap fragmented. Two
glibc behaviours cause it:
- ONNX Runtime allocates a model's weights and buffers in large blocks. glibc serves blocks
  above its mmap threshold with mmap (returned to the system when freed), but raises that
  threshold each time such a block is freed (up to 32 MiB), so after the first cleanup the next
  model's blocks come from the heap, between long-lived small allocations, and leave holes;
- every thread may get its own arena (up to 8 per core), and each activation starts new
  threads (capture, inference, delivery, FFmpeg's), spreading such holes over many heaps.
large_blocks_on_mmap() puts the blocks allocated while a model loads on mmap, then fixes the
threshold where glibc's own adjustment would end (32 MiB), so per-frame buffers (a 1080p frame
is 6 MiB) are still recycled by the heap without page faults; limit_arenas(2) keeps threads on
two arenas. With both the node's RSS is flat after the first ten cycles, provided the old
run's objects are freed at cleanup (release_free_memory collects them first: they form
reference cycles, and left to Python's collector they were freed at random later points,
between the next model's blocks, +8 % over 60 cycles while streaming between them).

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
from typing import Iterator, Optional

M_TRIM_THRESHOLD = -1  # mallopt parameters (glibc malloc.h)
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
MIB = 1024 * 1024
GLIBC_MAX_MMAP_THRESHOLD = 32 * MIB  # where glibc's dynamic threshold stops (64-bit)


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
    first call on) with a trim threshold of twice that, as glibc's adjustment would leave them.
    """
    libc = _libc()
    if libc is None:
        yield
        return
    libc.mallopt(M_MMAP_THRESHOLD, int(during))
    libc.mallopt(M_TRIM_THRESHOLD, 2 * int(after))
    try:
        yield
    finally:
        libc.mallopt(M_MMAP_THRESHOLD, int(after))


def release_free_memory(collect: bool = True) -> bool:
    """
    Free the objects of a finished run, then return the heap's free pages (malloc_trim).

    collect: run Python's cyclic garbage collector first. A run's objects (stream, threads'
    state, callbacks, the detector with its session and frame buffers) reference each other,
    so they are freed only when the collector's oldest generation runs, which may be many
    cycles later: meanwhile the next model loads between them and the heap fragments (RSS
    +8 % over 60 cycles while streaming between them). Collecting here frees them at a fixed
    point, before the trim. Returns False (after collecting) if not glibc.
    """
    if collect:
        gc.collect()
    libc = _libc()
    if libc is None:
        return False
    libc.malloc_trim(0)
    return True


__all__ = ['large_blocks_on_mmap', 'limit_arenas', 'release_free_memory']
