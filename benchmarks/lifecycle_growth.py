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
What grows over lifecycle cycles: the node in this process, under tracemalloc and mallinfo2.

lifecycle_memory.py measures the node process from outside (RSS); this runs the same cycles
(configure, activate, stream active_s seconds, deactivate, cleanup) on a StreamInferNode in
this process, as the node's main() sets it up (two malloc arenas), and prints per checkpoint
the RSS, the Python heap (tracemalloc), and glibc's view (mallinfo2: bytes in use, free bytes
kept in the heap, mmapped bytes), then the Python allocation sites that grew most between the
warm-up checkpoint and the last one. Under each row: the memory mappings that changed by 512
KiB or more, and each malloc heap's mapped and free memory (malloc_info). RSS rising while "in
use" and tracemalloc stay flat is heap fragmentation or a heap's free top kept resident;
tracemalloc rising names the Python code that keeps objects.
Run: ./dev.sh run python benchmarks/lifecycle_growth.py --cycles 60 --active-s 2
"""

import argparse
import ctypes
import os
import tempfile
import threading
import time
import tracemalloc
from xml.etree import ElementTree

from node_process import mapping_rss, print_mapping_steps, process_stats
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.parameter import Parameter

from stream_infer.bundled import bundled_clip_path
from stream_infer.malloc_tuning import _libc, limit_arenas
from stream_infer.ros.node import StreamInferNode

MIB = 1024.0 * 1024.0


class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        'arena', 'ordblks', 'smblks', 'hblks', 'hblkhd', 'usmblks', 'fsmblks', 'uordblks',
        'fordblks', 'keepcost')]


def mallinfo2() -> MallInfo2:
    libc = _libc()
    libc.mallinfo2.restype = MallInfo2
    return libc.mallinfo2()


def malloc_heaps() -> list:
    """
    Return [(heap nr, MiB mapped, MiB free)] per malloc arena, from glibc's malloc_info().

    Free includes the arena's top, which malloc_trim() leaves resident in a thread arena
    (malloc_tuning.release_free_memory returns it): free memory that stays high here after
    cleanup, in step with RSS, is such a top.
    """
    libc = _libc()
    libc.fopen.restype = ctypes.c_void_p
    with tempfile.NamedTemporaryFile(suffix='.xml') as out:
        stream = ctypes.c_void_p(libc.fopen(out.name.encode(), b'w'))
        libc.malloc_info(0, stream)
        libc.fclose(stream)
        root = ElementTree.parse(out.name).getroot()
    heaps = []
    for heap in root.findall('heap'):
        free = sum(int(total.get('size')) for total in heap.findall('total'))
        mapped = next(int(s.get('size')) for s in heap.findall('system')
                      if s.get('type') == 'current')
        heaps.append((int(heap.get('nr')), mapped / MIB, free / MIB))
    return heaps


def checkpoint(cycle: int, previous_mappings: dict) -> tuple:
    """
    Print a row and return it with the mappings' Rss now.

    Under the row: the mappings that changed by 512 KiB since previous_mappings, and each
    malloc heap's mapped and free memory.
    """
    info = mallinfo2()
    row = {'cycle': cycle, 'rss': process_stats(os.getpid()).rss_mib,
           'python': tracemalloc.get_traced_memory()[0] / MIB,
           'in_use': info.uordblks / MIB, 'free_kept': info.fordblks / MIB,
           'mmapped': info.hblkhd / MIB, 'threads': threading.active_count()}
    print(f'{cycle:6d} {row["rss"]:8.1f} {row["python"]:8.1f} {row["in_use"]:8.1f} '
          f'{row["free_kept"]:9.1f} {row["mmapped"]:8.1f} {row["threads"]:8d}', flush=True)
    mappings = mapping_rss()
    print_mapping_steps(previous_mappings or mappings, mappings)
    print(f'{"":8}malloc heaps (nr: mapped/free MiB): ' + ', '.join(
        f'{nr}: {mapped:.1f}/{free:.1f}' for nr, mapped, free in malloc_heaps()), flush=True)
    return row, mappings


def frames_processed(node: StreamInferNode) -> int:
    stream = node._stream  # a benchmark may look inside
    return 0 if stream is None else stream.stats().frames_processed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--cycles', type=int, default=60)
    parser.add_argument('--every', type=int, default=10)
    parser.add_argument('--warmup', type=int, default=10)
    parser.add_argument('--active-s', type=float, default=2.0,
                        help='seconds each activation streams after its first frame')
    parser.add_argument('--top', type=int, default=12)
    args = parser.parse_args()
    limit_arenas()  # as the node's main() does
    tracemalloc.start(8)
    rclpy.init()
    node = StreamInferNode('stream_infer', namespace='/lifecycle_growth', parameter_overrides=[
        Parameter('autostart', value=False), Parameter('source', value=str(bundled_clip_path())),
        Parameter('loop', value=True), Parameter('enforce_fps', value=True)])
    rclpy.logging.set_logger_level('lifecycle_growth.stream_infer',
                                   rclpy.logging.LoggingSeverity.WARN)
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()
    print(f'{"cycle":>6} {"RSS":>8} {"python":>8} {"in use":>8} {"free kept":>9} '
          f'{"mmapped":>8} {"threads":>8}   (MiB)')
    rows, base, mappings = [], None, {}
    for cycle in range(1, args.cycles + 1):
        node.trigger_configure()
        node.trigger_activate()
        deadline = time.monotonic() + 60
        while frames_processed(node) == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(args.active_s)
        node.trigger_deactivate()
        node.trigger_cleanup()
        if cycle % args.every == 0 or cycle in (1, args.warmup):
            row, mappings = checkpoint(cycle, mappings)
            rows.append(row)
            if cycle == args.warmup:
                base = tracemalloc.take_snapshot()
    last = tracemalloc.take_snapshot()
    executor.shutdown()
    node.destroy_node()
    rclpy.shutdown()
    first = next(r for r in rows if r['cycle'] >= args.warmup)
    end = rows[-1]
    for key in ('rss', 'python', 'in_use', 'free_kept', 'mmapped'):
        print(f'{key:>10}: {first[key]:8.1f} -> {end[key]:8.1f} MiB '
              f'({100.0 * (end[key] - first[key]) / max(first[key], 1e-9):+.1f} %) from cycle '
              f'{first["cycle"]} to {end["cycle"]}')
    if base is not None:
        print(f'\nPython allocation sites that grew most from cycle {args.warmup}:')
        for stat in last.compare_to(base, 'traceback')[:args.top]:
            frames = list(stat.traceback)  # oldest first: the allocation is the last
            ours = [f for f in frames if 'stream_infer' in f.filename]
            where = f'{frames[-1].filename}:{frames[-1].lineno}'
            if ours and ours[-1] is not frames[-1]:
                where += f' (from {ours[-1].filename}:{ours[-1].lineno})'
            print(f'{stat.size_diff / 1024:+9.1f} KiB {stat.count_diff:+7d} blocks  {where}')


if __name__ == '__main__':
    main()
