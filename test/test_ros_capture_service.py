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
`~/capture` in the node process (its single-threaded executor) over real DDS, topic mode.

The service used to wait up to 3 s per camera on the executor; before the first delivered
frame it waited for a frame that could only arrive through that blocked executor, so it always
timed out. Now it answers at once, and the node goes on receiving images and answering.
"""

from pathlib import Path
import signal

from lifecycle_msgs.srv import GetState
from rcl_interfaces.srv import SetParameters
from rclpy.parameter import Parameter
from ros_harness import constant_end2end_model, RELIABLE_QOS, SENSOR_QOS, wait_for
from sensor_msgs.msg import Image
from std_srvs.srv import Trigger
from test_ros_node import image_msg, publish_until, with_stamp
from test_ros_node_process import start_process
from vision_msgs.msg import Detection2DArray

NAME = 'capsvc'


def test_capture_before_the_first_frame_answers_at_once_then_saves_the_next(ros, tmp_path):
    model = constant_end2end_model(tmp_path / 'const.onnx', [[8, 8, 24, 40, 0.9, 0]])
    dataset = tmp_path / 'hard'
    got = ros.collect(Detection2DArray, f'/{NAME}/detections', RELIABLE_QOS)
    proc, log = start_process(tmp_path, NAME, f'model:={model}', 'layout:=end2end',
                              f'capture_directory:={dataset}')
    try:
        state = ros.probe.create_client(GetState, f'/{NAME}/stream_infer/get_state')
        assert wait_for(lambda: ros.call(state, GetState.Request(), timeout=30)
                        .current_state.label == 'active', timeout=60)
        capture = ros.probe.create_client(Trigger, f'/{NAME}/stream_infer/capture')
        answer = ros.call(capture, Trigger.Request(), timeout=30)
        # the old service: 'no frame saved within 3 s (TimeoutError())'
        assert not answer.success and 'no frame delivered yet' in answer.message, answer.message
        assert ros.call(state, GetState.Request(), timeout=30).current_state.label == 'active'
        pub = ros.probe.create_publisher(Image, f'/{NAME}/image', SENSOR_QOS)
        assert publish_until(ros, pub, image_msg(stamp=(900, 0)), got, with_stamp(900))
        answer = ros.call(capture, Trigger.Request(), timeout=30)
        assert answer.success, answer.message
        if 'queued' in answer.message:  # a disk slower than SERVICE_WAIT_S (a busy machine)
            assert wait_for(lambda: any(dataset.rglob('*.jpg')), timeout=30)
        else:
            saved = Path(answer.message)
            assert saved.suffix == '.jpg' and saved.is_file() and dataset in saved.parents
        # a capture_* change while active: a new sink at once, the old one closes aside and
        # hands its batch over (its lock), so the batch goes on: no DAY_2
        setter = ros.probe.create_client(SetParameters, f'/{NAME}/stream_infer/set_parameters')
        request = SetParameters.Request(parameters=[
            Parameter('capture_jpeg_quality', value=80).to_parameter_msg()])
        [result] = ros.call(setter, request, timeout=30).results
        assert result.successful, result.reason
        assert publish_until(ros, pub, image_msg(stamp=(901, 0)), got, with_stamp(901))
        answer = ros.call(capture, Trigger.Request(), timeout=30)
        assert answer.success, answer.message
        assert wait_for(lambda: len(list(dataset.rglob('*.jpg'))) >= 2, timeout=30)
        batches = [p.name for p in dataset.iterdir() if p.is_dir()]
        assert len(batches) == 1, batches
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=30)
        log.close()
    assert code == 0, (tmp_path / f'{NAME}.log').read_text()
