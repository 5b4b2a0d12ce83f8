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
Several RTSP cameras in one node, over real DDS: each its detections and its diagnostics.

Two gst-rtsp-server processes (H.264); one is killed and restarted while the other goes on.
/diagnostics shows per camera the transport, the reconnect count and the last error. The node
process's own output through a camera that is down, comes up and restarts holds none of
FFmpeg's or OpenCV's lines (issue 18: `[tcp @ 0x...]` in ros2 launch output).
Skipped, naming the Debian packages, where the system python has no GStreamer RTSP server.
"""

import signal

from diagnostic_msgs.msg import DiagnosticArray
from helpers.rtsp_camera import missing_packages, RtspCamera
import pytest
from ros_harness import constant_end2end_model, RELIABLE_QOS, wait_for
from test_ros_node_cameras import code_model, start_cameras, statuses
from test_ros_node_process import start_process
from vision_msgs.msg import Detection2DArray

__all__ = ['code_model']  # fixtures
pytestmark = pytest.mark.skipif(bool(missing_packages()), reason=missing_packages() or 'ok')


@pytest.fixture
def servers():
    cams = {name: RtspCamera() for name in ('gate', 'dock')}
    yield cams
    for cam in cams.values():
        cam.kill()


def test_two_rtsp_cameras_in_one_node_each_with_transport_reconnects_and_last_error(
        ros, code_model, servers):
    ns, node_name = '/rtsp', 'si_rtsp'
    node = f'{ns}/{node_name}'
    for cam in servers.values():
        cam.start()
    diags = ros.collect(DiagnosticArray, '/diagnostics')
    got = {c: ros.collect(Detection2DArray, f'{ns}/{c}/detections') for c in servers}
    start_cameras(ros, code_model, node_name, ns, list(servers),
                  sources=[cam.url() for cam in servers.values()], rtsp_transport='tcp',
                  reconnect_delay=0.1, reconnect_max_delay=0.5, diagnostics_period=0.2)

    def values(camera):
        return statuses(diags, node).get(f'{node}: stream_infer {camera}', (0, {}))[1]

    assert wait_for(lambda: all(len(got[c]) >= 10 for c in servers), timeout=30), \
        {c: len(m) for c, m in got.items()}
    assert wait_for(lambda: values('gate').get('transport') == 'tcp'
                    and values('dock').get('transport') == 'tcp'), statuses(diags, node)
    assert values('gate')['reconnects'] == '0' and values('gate')['last_error'] == ''
    servers['gate'].kill()
    assert wait_for(lambda: values('gate').get('source_state') == 'reconnecting')
    dock_before = len(got['dock'])
    assert wait_for(lambda: len(got['dock']) >= dock_before + 10), 'dock goes on meanwhile'
    gate_before = len(got['gate'])
    servers['gate'].start()
    assert wait_for(lambda: len(got['gate']) >= gate_before + 10, timeout=30)
    assert wait_for(lambda: values('gate').get('reconnects') == '1')
    gate, dock = values('gate'), values('dock')
    assert gate['source_state'] == 'connected' and gate['connection_losses'] == '1'
    assert 'nothing accepts connections' in gate['last_error'] \
        or 'stream lost' in gate['last_error'], gate
    assert dock['reconnects'] == '0' and dock['last_error'] == '' and dock['transport'] == 'tcp'


def test_node_process_output_has_no_ffmpeg_or_opencv_lines_through_restarts(ros, tmp_path):
    model = constant_end2end_model(tmp_path / 'const.onnx', [[8, 8, 24, 40, 0.9, 0]])
    cam = RtspCamera()  # down when the node starts
    got = ros.collect(Detection2DArray, '/rtspproc/detections', RELIABLE_QOS)
    proc, log = start_process(tmp_path, 'rtspproc', f'source:={cam.url()}', f'model:={model}',
                              'layout:=end2end', 'reconnect_delay:=0.1',
                              'reconnect_max_delay:=0.3', 'rtsp_transport:=tcp')
    try:
        assert wait_for(lambda: 'nothing accepts connections' in
                        (tmp_path / 'rtspproc.log').read_text() or proc.poll() is not None,
                        timeout=60)
        cam.start()
        assert wait_for(lambda: len(got) >= 10, timeout=30)
        cam.kill()
        before = len(got)
        cam.start()
        assert wait_for(lambda: len(got) >= before + 10, timeout=30)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=15) == 0
    finally:
        cam.kill()
        if proc.poll() is None:
            proc.kill()
        log.close()
    text = (tmp_path / 'rtspproc.log').read_text()
    print(text)
    for noise in ('[tcp @', '[rtsp @', '[ WARN:', '[ERROR:', 'cap.cpp', 'VIDEOIO'):
        assert noise not in text, noise
    assert 'reconnect attempt' in text and 'reconnected after' in text
