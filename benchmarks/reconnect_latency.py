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
Reconnect latency: how long after a network camera comes back its frames flow again.

A real MJPEG-over-HTTP server process (test/helpers/mjpeg_server.py, with credentials) is killed
and restarted --cycles times, down for a different time each cycle (so the backoff has grown
to different points); the engine reads it with the default ReconnectPolicy (backoff 0.5 s
doubling to 5 s, server probed every 0.25 s). Latency = from the restarted server's READY line
to the first frame it sent being delivered. --no-probe turns probing off (what the engine did
before), for comparison.
Run: ./dev.sh run python benchmarks/reconnect_latency.py
"""

import argparse
from pathlib import Path
import socket
import subprocess
import sys
import threading
import time

import numpy as np

from stream_infer.options import ReconnectPolicy
from stream_infer.stream import InferenceStream

HELPERS = Path(__file__).resolve().parent.parent / 'test' / 'helpers'
sys.path.insert(0, str(HELPERS))
from frame_codes import read_index  # noqa: E402, I100 - test helpers: not a package

DOWN_TIMES_S = (1.0, 2.5, 4.0, 6.0, 1.5, 3.0, 8.0, 0.6, 5.0, 12.0)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def start_server(port: int, start_index: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, str(HELPERS / 'mjpeg_server.py'), '--port', str(port), '--fps', '30',
         '--user', 'viewer', '--password', 'secret', '--start-index', str(start_index)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline()
    if not line.startswith('READY'):
        raise RuntimeError(f'server did not start: {line!r}')
    return proc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--cycles', type=int, default=10)
    parser.add_argument('--no-probe', action='store_true',
                        help='plain backoff, no probing (the engine before)')
    args = parser.parse_args()
    policy = ReconnectPolicy(probe_interval=60.0) if args.no_probe else ReconnectPolicy()
    port = free_port()
    url = f'http://viewer:secret@127.0.0.1:{port}/stream.mjpg'
    first_seen = {}  # start index of a server run -> monotonic time its first frame arrived
    lock = threading.Lock()

    def on_result(result):
        index = read_index(result.frame.image)
        with lock:
            first_seen.setdefault(index // 5000, time.monotonic())

    server = start_server(port, 0)
    stream = InferenceStream(url, lambda frame: np.zeros((0, 6)), reconnect=policy)
    stream.on_result(on_result)
    stream.start()
    latencies = []
    print(f'{"cycle":>5} {"down s":>7} {"latency s":>9}  (policy: initial '
          f'{policy.initial_delay} s, max {policy.max_delay} s, probe '
          f'{"off" if args.no_probe else f"{policy.probe_interval} s"})')
    try:
        time.sleep(1.0)
        for cycle in range(1, args.cycles + 1):
            down = DOWN_TIMES_S[(cycle - 1) % len(DOWN_TIMES_S)]
            server.kill()
            server.wait()
            time.sleep(down)
            server = start_server(port, cycle * 5000)
            back = time.monotonic()
            deadline = back + 30.0
            while cycle not in first_seen and time.monotonic() < deadline:
                time.sleep(0.005)
            latency = first_seen.get(cycle, float('nan')) - back
            latencies.append(latency)
            print(f'{cycle:5d} {down:7.1f} {latency:9.2f}', flush=True)
            time.sleep(1.0)
    finally:
        stream.stop()
        server.kill()
    values = np.array(latencies)
    print(f'reconnect latency over {len(values)} restarts: min {np.nanmin(values):.2f} s, mean '
          f'{np.nanmean(values):.2f} s, max {np.nanmax(values):.2f} s; connection losses '
          f'{stream.stats().connection_losses}, reconnects {stream.stats().reconnects}')


if __name__ == '__main__':
    main()
