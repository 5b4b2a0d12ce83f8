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
A video file or network stream through stream_infer (the bundled clip by default, looping).

ros2 launch stream_infer video.launch.py [source:=clip.mp4|rtsp://...] [loop:=true|false]
    [enforce_fps:=true|false] [params_file:=my.yaml] [model:=x.onnx] [confidence:=0.3]
    [namespace:=ns] [autostart:=false] [use_sim_time:=true] [log_level:=debug]
Parameters: this file's DEFAULTS, then params_file, then the arguments you type (an argument
left empty keeps the params file's value). `ros2 launch stream_infer video.launch.py -s` lists
every argument.
"""

from launch import LaunchDescription
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import LifecycleNode

from stream_infer.ros import launch_support as ls

ARGUMENTS = {
    'source': (ls.default_clip(), 'video file or rtsp/http(s) URL to play'),
    'loop': ('', 'start the file again at its end (true/false); empty = params file, else true'),
    'enforce_fps': ('', 'play files at their frame rate like a live camera (true/false); empty '
                        '= params file, else true'),
}
DEFAULTS = {'loop': True}  # this launch file's own values, below the params file


def generate_launch_description():
    return LaunchDescription([
        *ls.declare_arguments(ARGUMENTS),
        LifecycleNode(
            package=ls.PACKAGE, executable=ls.EXECUTABLE, name=ls.NODE_NAME,
            namespace=LaunchConfiguration('namespace'),
            parameters=[DEFAULTS, ls.params_file(), ls.given_arguments(ARGUMENTS)],
            ros_arguments=ls.log_level_arguments(LaunchConfiguration('namespace')),
            output='screen', emulate_tty=True, on_exit=ls.end_launch_on_exit),
    ])
