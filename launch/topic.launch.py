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
Detections for an existing camera topic (a driver already publishing images).

ros2 launch stream_infer topic.launch.py image:=/camera/image_raw [transport:=raw|compressed]
    [reliability:=best_effort|reliable] [model:=x.onnx] [confidence:=0.3] [namespace:=ns]
    [params_file:=my.yaml]
With transport:=compressed the node subscribes to <image>/compressed.
"""

from stream_infer.ros.launch_support import launch_description, node_action

ARGUMENTS = {
    'image': ('/camera/image_raw', 'the camera image topic to subscribe to'),
    'transport': ('raw', 'raw (sensor_msgs/Image) or compressed (<image>/compressed)'),
    'reliability': ('best_effort', 'subscription reliability: best_effort or reliable'),
}


def _nodes(a):
    remap = [('image', a['image']), ('image/compressed', a['image'] + '/compressed')]
    return [node_action(a['namespace'], a['params_file'], remappings=remap, source='',
                        image_transport=a['transport'], image_reliability=a['reliability'],
                        model=a['model'], confidence=a['confidence'])]


def generate_launch_description():
    return launch_description(ARGUMENTS, _nodes)
