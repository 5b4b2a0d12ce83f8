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
OPENCV_FFMPEG_CAPTURE_OPTIONS is process-global: each open sees its own options, then the old.

Real opens against a real silent server process (an open lasts read_timeout there), so one
open is in flight while another, with other options, asks to open.
"""

import os
import threading

import cv2
import pytest
from test_network_stream import wait_until
from test_silent_server import silent_port

from stream_infer.sources.ffmpeg_options import ENV, open_network_capture

__all__ = ['silent_port']  # fixtures
PARAMS = (cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, 10000)


@pytest.fixture
def environment():
    before = os.environ.get(ENV)
    yield
    if before is None:
        os.environ.pop(ENV, None)
    else:
        os.environ[ENV] = before


def test_an_open_with_other_options_waits_and_the_value_is_put_back(silent_port, environment):
    os.environ.pop(ENV, None)
    url = f'http://127.0.0.1:{silent_port}/stream'
    first = {'timeout': '1500000'}  # a silent server: this open lasts 1.5 s
    second = {'timeout': '1000000', 'probesize': '32768'}
    seen = []
    threads = [threading.Thread(target=open_network_capture, args=(url, options, PARAMS))
               for options in (first, second)]
    threads[0].start()
    assert wait_until(lambda: os.environ.get(ENV) == 'timeout;1500000')
    threads[1].start()
    while threads[0].is_alive():
        seen.append(os.environ.get(ENV))
        threads[0].join(0.002)
    for thread in threads:
        thread.join(30)
    assert set(seen) <= {'timeout;1500000', None}, set(seen)  # never the second's meanwhile
    assert ENV not in os.environ  # put back: it was not set


def test_the_users_own_value_is_kept_after_ours(silent_port, environment):
    os.environ[ENV] = 'rtsp_transport;udp'
    url = f'http://127.0.0.1:{silent_port}/stream'
    seen = []
    opener = threading.Thread(target=open_network_capture,
                              args=(url, {'timeout': '1000000'}, PARAMS))
    opener.start()
    while opener.is_alive():
        seen.append(os.environ.get(ENV))
        opener.join(0.002)
    opener.join(30)
    assert 'timeout;1000000|rtsp_transport;udp' in seen
    assert os.environ[ENV] == 'rtsp_transport;udp'
