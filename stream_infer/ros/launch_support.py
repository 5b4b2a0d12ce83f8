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
What the launch files share, kept free of `launch` imports where it can be tested without them.

The launch files stay thin: arguments, this module's checks, one Node per camera.
"""

from pathlib import Path
from typing import Callable, Dict, Optional, Tuple

from stream_infer.ros.parameters import BY_NAME

PACKAGE = 'stream_infer'
EXECUTABLE = 'stream_infer_node'
# Launch arguments every launch file takes: name -> (default, description).
COMMON_ARGUMENTS = {
    'model': ('', 'ONNX model path; empty = the bundled COCO-80 model'),
    'confidence': ('', 'minimum detection score; empty = params file value'),
    'namespace': ('', 'namespace for the node and its topics'),
    'params_file': ('', 'parameters YAML; empty = the installed config/stream_infer.yaml'),
}


def default_params_file() -> str:
    """config/stream_infer.yaml as installed (share/stream_infer/config)."""
    from ament_index_python.packages import get_package_share_directory
    return str(Path(get_package_share_directory(PACKAGE)) / 'config' / 'stream_infer.yaml')


def camera_error(device: str, dev_dir: str = '/dev') -> Optional[str]:
    """One clear line when a camera index or device path names no device, else None."""
    path = Path(dev_dir) / f'video{device}' if device.isdigit() else Path(device)
    if device in ('', 'webcam'):
        path = Path(dev_dir) / 'video0'
    if path.exists():
        return None
    return (f'stream_infer: no camera at {path}. Use a file or stream instead: '
            'ros2 launch stream_infer video.launch.py source:=<file or URL>, or an existing '
            'camera topic: ros2 launch stream_infer topic.launch.py image:=<topic>')


def typed_overrides(overrides: Dict[str, str]) -> dict:
    """Launch-argument strings -> parameter values of each parameter's declared type."""
    out = {}
    for name, text in overrides.items():
        if text == '':
            continue  # empty argument = keep the params file / default value
        default = BY_NAME[name].default
        if isinstance(default, bool):
            if text.lower() not in ('true', 'false'):
                raise ValueError(f'{name}:={text!r} must be true or false')
            out[name] = text.lower() == 'true'
        elif isinstance(default, (int, float)):
            out[name] = type(default)(float(text)) if isinstance(default, float) else int(text)
        else:
            out[name] = text
    return out


def node_action(namespace: str, params_file: str, name: str = PACKAGE, remappings=(),
                **overrides: str):
    """Make the launch_ros Node for one stream_infer node (params file, then overrides)."""
    from launch_ros.actions import Node
    return Node(package=PACKAGE, executable=EXECUTABLE, name=name, namespace=namespace,
                parameters=[params_file or default_params_file(), typed_overrides(overrides)],
                remappings=list(remappings), output='screen', emulate_tty=True)


def launch_description(arguments: Dict[str, Tuple[str, str]], make_nodes: Callable):
    """
    Declare arguments (plus COMMON_ARGUMENTS) and launch make_nodes(values).

    make_nodes gets the performed argument values as a dict of strings.
    """
    from launch import LaunchDescription
    from launch.actions import DeclareLaunchArgument, OpaqueFunction
    from launch.substitutions import LaunchConfiguration
    arguments = {**arguments, **COMMON_ARGUMENTS}

    def _perform(context):
        return make_nodes({n: LaunchConfiguration(n).perform(context) for n in arguments})

    return LaunchDescription(
        [DeclareLaunchArgument(n, default_value=d, description=t)
         for n, (d, t) in arguments.items()] + [OpaqueFunction(function=_perform)])
