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
A camera (index 0 by default) through stream_infer.

ros2 launch stream_infer webcam.launch.py [device:=0] [model:=x.onnx] [confidence:=0.3]
    [namespace:=front] [params_file:=my.yaml]
"""

from stream_infer.ros.launch_support import camera_error, launch_description, node_action

ARGUMENTS = {
    'device': ('0', 'camera index (/dev/videoN) or device path'),
}


def _nodes(a):
    error = camera_error(a['device'])
    if error:
        raise RuntimeError(error)
    return [node_action(a['namespace'], a['params_file'], source=a['device'], model=a['model'],
                        confidence=a['confidence'])]


def generate_launch_description():
    return launch_description(ARGUMENTS, _nodes)
