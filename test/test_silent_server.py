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
A server that accepts the connection and sends nothing (issue 22, item 5).

A real process listens on 127.0.0.1 and never answers (the kernel completes the TCP handshake
for its backlog). The open must give up after read_timeout (FFmpeg's socket timeout), say
that the server accepts connections but sent no stream, and retry with the backoff, for
rtsp:// and http:// alike.
"""

import logging
import subprocess
import sys

import numpy as np
import pytest
from test_network_stream import free_port, wait_until

from stream_infer.errors import SourceError
from stream_infer.options import ReconnectPolicy
from stream_infer.stream import InferenceStream

SILENT = 'import socket, sys, time\n' \
         's = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(16)\n' \
         'print("READY", flush=True); time.sleep(600)\n'


@pytest.fixture
def silent_port():
    port = free_port()
    process = subprocess.Popen([sys.executable, '-c', SILENT, str(port)],
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().startswith('READY')
    yield port
    process.kill()
    process.wait(5)
    process.stdout.close()


def one_box(frame):
    return np.array([[1.0, 1.0, 20.0, 20.0, 0.9, 0.0]])


@pytest.mark.parametrize('scheme', ['rtsp', 'http'])
def test_a_silent_server_fails_the_open_after_read_timeout_naming_it(silent_port, scheme):
    stream = InferenceStream(f'{scheme}://127.0.0.1:{silent_port}/stream', model=one_box,
                             open_timeout=30.0, read_timeout=1.0)
    with pytest.raises(SourceError, match=r'the server accepts connections but sent no stream '
                                          r'within \d+\.\d s \(read_timeout\)'):
        stream.start()


@pytest.mark.parametrize('scheme', ['rtsp', 'http'])
def test_a_silent_server_is_reported_and_retried_while_waiting_for_it(
        silent_port, scheme, caplog):
    caplog.set_level(logging.INFO)
    policy = ReconnectPolicy(open_timeout=30.0, read_timeout=1.0, wait_for_source=True,
                             initial_delay=0.1, max_delay=0.2)
    stream = InferenceStream(f'{scheme}://127.0.0.1:{silent_port}/stream', model=one_box,
                             reconnect=policy)
    with stream:
        assert wait_until(lambda: caplog.text.count('sent no stream within') >= 2, timeout=30)
        stats = stream.stats()
    assert stats.source_state == 'reconnecting' and 'sent no stream' in stats.last_error
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any('cannot open yet (the server accepts connections but sent no stream' in line
               and 'reconnect attempt 1' in line for line in warnings), warnings
