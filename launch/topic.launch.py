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
    [reliability:=best_effort|reliable] [params_file:=my.yaml] [model:=x.onnx]
    [confidence:=0.3] [namespace:=ns] [autostart:=false] [use_sim_time:=true] [log_level:=debug]
The node's `image` is remapped to the image topic, `image/compressed` to <image>/compressed
(transport:=compressed subscribes to that one). Parameters: params_file, then topic mode
(source ''), then the arguments you type (an argument left empty keeps the params file's
value). `ros2 launch stream_infer topic.launch.py -s` lists every argument.
"""

from launch import LaunchDescription
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import LifecycleNode

from stream_infer.ros import launch_support as ls

ARGUMENTS = {
    'image': ('/camera/image_raw', 'the camera image topic to subscribe to'),
    'transport': ('', 'raw (sensor_msgs/Image on image) or compressed (<image>/compressed); '
                      'empty = params file (image_transport), else raw'),
    'reliability': ('', 'subscription reliability; empty = params file (image_reliability), '
                        'else best_effort'),
}
TOPIC_MODE = {'source': ''}  # what this launch file is about: the node subscribes


def generate_launch_description():
    image = LaunchConfiguration('image')
    return LaunchDescription([
        *ls.declare_arguments(ARGUMENTS),
        LifecycleNode(
            package=ls.PACKAGE, executable=ls.EXECUTABLE, name=ls.NODE_NAME,
            namespace=LaunchConfiguration('namespace'),
            parameters=[ls.params_file(), TOPIC_MODE, ls.given_arguments(ARGUMENTS)],
            remappings=[('image', image), ('image/compressed', [image, '/compressed'])],
            ros_arguments=ls.log_level_arguments(LaunchConfiguration('namespace')),
            output='screen', emulate_tty=True, on_exit=ls.end_launch_on_exit),
    ])
