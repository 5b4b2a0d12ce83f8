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
Several cameras or streams, one namespaced stream_infer node each.

ros2 launch stream_infer multi_camera.launch.py sources:=0,/dev/video2,rtsp://cam3/stream
    [namespaces:=front,left,back] [namespace:=/robot] [loop:=true] [params_file:=my.yaml]
    [model:=x.onnx] [confidence:=0.3] [autostart:=false] [use_sim_time:=true]
Node i runs in namespace [namespace/]namespaces[i] (default cam0, cam1, ...): /cam0/detections,
/robot/front/detections, ... Cameras are checked first: a missing one ends the launch with one
line. Each node loads its own model session; give each its providers/threads in the params
file. Parameters: params_file, then each node's source, then the arguments you type (an
argument left empty keeps the params file's value).
"""

from launch import LaunchDescription
from launch.actions import OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import LifecycleNode

from stream_infer.ros import launch_support as ls

ARGUMENTS = {
    'sources': ('0,1', 'comma-separated camera indices or /dev/video paths, files or URLs'),
    'namespaces': ('', 'comma-separated namespaces, one per source; empty = cam0, cam1, ...'),
    'loop': ('', 'files: start again at the end (true/false); empty = params file, else false'),
    'enforce_fps': ('', 'files: play at their frame rate (true/false); empty = params file, '
                        'else true'),
}


def node_per_source(context):
    """One LifecycleNode per source (the sources are only known when launching)."""
    given = context.launch_configurations
    plan = ls.camera_plan(given['sources'], given['namespaces'], given['namespace'])
    return [
        LifecycleNode(
            package=ls.PACKAGE, executable=ls.EXECUTABLE, name=ls.NODE_NAME, namespace=namespace,
            parameters=[ls.params_file(), {'source': source}, ls.given_arguments(ARGUMENTS)],
            ros_arguments=['--log-level', LaunchConfiguration('log_level')],
            output='screen', emulate_tty=True, on_exit=ls.end_launch_on_exit)
        for namespace, source in plan]


def generate_launch_description():
    # One node (and model session) per source; another mode would be a second function here,
    # chosen by a 'mode' argument.
    return LaunchDescription([
        *ls.declare_arguments(ARGUMENTS),
        OpaqueFunction(function=node_per_source),
    ])
