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

ros2 launch stream_infer webcam.launch.py [device:=0|/dev/video2|/dev/v4l/by-id/...]
    [params_file:=my.yaml] [model:=x.onnx] [confidence:=0.3] [namespace:=front]
    [autostart:=false] [use_sim_time:=true] [log_level:=debug]
Without that camera the launch ends at once with one line saying what to use instead.
Parameters: params_file, then the arguments you type (device sets `source`; an argument left
empty keeps the params file's value). `ros2 launch stream_infer webcam.launch.py -s` lists
every argument.
"""

from launch import LaunchDescription
from launch.actions import OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import LifecycleNode

from stream_infer.ros import launch_support as ls

ARGUMENTS = {
    'device': ('0', 'camera index N (/dev/videoN) or device path'),
}


def generate_launch_description():
    return LaunchDescription([
        *ls.declare_arguments(ARGUMENTS),
        OpaqueFunction(function=ls.check_camera),  # one clear line when there is no camera
        LifecycleNode(
            package=ls.PACKAGE, executable=ls.EXECUTABLE, name=ls.NODE_NAME,
            namespace=LaunchConfiguration('namespace'),
            parameters=[ls.params_file(), ls.given_arguments(ARGUMENTS)],
            ros_arguments=ls.log_level_arguments(LaunchConfiguration('namespace')),
            output='screen', emulate_tty=True, on_exit=ls.end_launch_on_exit),
    ])
