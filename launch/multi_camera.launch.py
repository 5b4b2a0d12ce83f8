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
Several cameras or streams: one stream_infer node sharing one model, or one node each.

ros2 launch stream_infer multi_camera.launch.py sources:=0,/dev/video2,rtsp://cam3/stream
    [namespaces:=front,left,back] [shared_model:=true|false] [namespace:=/robot]
    [loop:=true] [params_file:=my.yaml] [model:=x.onnx] [confidence:=0.3] [autostart:=false]
    [use_sim_time:=true]
Camera i publishes under [namespace/]namespaces[i] (default cam0, cam1, ...) in both modes:
/cam0/detections, /robot/front/detections, ...
- shared_model:=true (default): one node /[namespace/]stream_infer, one model and lifecycle,
  serving every source as a camera named after its namespace (parameters cameras, sources).
- shared_model:=false: one node per source, /[namespace/]namespaces[i]/stream_infer, each
  loading its own model session (give each its providers/threads in the params file).
Both modes stamp frames with the camera name (frame_ids, or frame_id of a node of its own).
Cameras are checked first: a missing one ends the launch with one line. Parameters:
params_file, then the sources, then the arguments you type (an argument left empty keeps the
params file's value).
"""

from launch import LaunchDescription
from launch.actions import OpaqueFunction
from launch_ros.actions import LifecycleNode

from stream_infer.ros import launch_support as ls

ARGUMENTS = {
    'sources': ('0,1', 'comma-separated camera indices or /dev/video paths, files or URLs'),
    'namespaces': ('', 'comma-separated namespaces (camera names), one per source; empty = '
                       'cam0, cam1, ...'),
    'shared_model': ('true', 'true: one node and model serve every source; false: one node '
                             '(and model) per source'),
    'loop': ('', 'files: start again at the end (true/false); empty = params file, else false'),
    'enforce_fps': ('', 'files: play at their frame rate (true/false); empty = params file, '
                        'else true'),
}


def nodes(context):
    """Return the shared node, or one node per source (sources are known when launching)."""
    given = context.launch_configurations
    plan = ls.multi_camera_nodes(given['sources'], given['namespaces'], given['shared_model'],
                                 given['namespace'])
    return [
        LifecycleNode(
            package=ls.PACKAGE, executable=ls.EXECUTABLE, name=ls.NODE_NAME, namespace=namespace,
            parameters=[ls.camera_defaults(namespace, cameras), ls.params_file(), cameras,
                        ls.given_arguments(ARGUMENTS)],
            ros_arguments=ls.log_level_arguments(namespace),
            output='screen', emulate_tty=True, on_exit=ls.end_launch_on_exit)
        for namespace, cameras in plan]


def generate_launch_description():
    return LaunchDescription([
        *ls.declare_arguments(ARGUMENTS),
        OpaqueFunction(function=nodes),
    ])
