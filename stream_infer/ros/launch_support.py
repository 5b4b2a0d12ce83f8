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
What the launch files share; `launch` and `launch_ros` are imported only where they are used.

Parameters come in three layers, later ones winning (rcl applies params files in order):
1. the launch file's own defaults (video.launch.py: loop true);
2. the params file (`params_file:=my.yaml`, a copy of config/stream_infer.yaml); none when empty;
3. the launch arguments the user typed. An argument left at its default '' is not given: the
   params file's value (or the node's default) holds. The arguments that say what a launch file
   is about (video's `source`, webcam's `device`) have a non-empty default and are always given.
The node is a launch_ros LifecycleNode whose exit ends the launch (end_launch_on_exit): a
refused start-up value exits the node with status 2 and `ros2 launch` with status 1.

    >>> typed_overrides({'confidence': '0.5', 'transport': 'compressed', 'loop': ''})
    {'confidence': 0.5, 'image_transport': 'compressed'}
"""

import os
from pathlib import Path
import re
import tempfile
from typing import Dict, List, Mapping, Optional, Tuple

import yaml

from stream_infer.option_files import check_regular_file
from stream_infer.ros.cameras import CAMERA_NAME, CAMERA_NAME_RULE
from stream_infer.ros.parameters import BY_NAME

PACKAGE = 'stream_infer'
EXECUTABLE = 'stream_infer_node'
NODE_NAME = 'stream_infer'
LOG_LEVELS = ('debug', 'info', 'warn', 'error', 'fatal')
# Launch arguments whose parameter has another name.
ARGUMENT_PARAMETERS = {'device': 'source', 'transport': 'image_transport',
                       'reliability': 'image_reliability'}
BOOL_ARGUMENT_PARAMETERS = ('use_sim_time',)  # rclpy's own parameters an argument may set
# Arguments the launch files read themselves: they set no parameter directly (multi_camera's
# comma list `sources` becomes the parameter source of each node, or the list sources).
FILE_ARGUMENTS = ('image', 'sources', 'namespaces', 'shared_model')
# Enumerated launch arguments that set no parameter of the node.
LAUNCH_CHOICES = {'log_level': LOG_LEVELS, 'shared_model': ('true', 'false')}
# Launch arguments every launch file takes: name -> (default, description).
COMMON_ARGUMENTS = {
    'params_file': ('', 'parameters YAML (copy config/stream_infer.yaml and edit it); its '
                        'values hold unless you type their argument; empty = none'),
    'namespace': ('', 'namespace of the node and its topics (front: /front/detections)'),
    'model': ('', 'ONNX model path; empty = params file, else the bundled COCO-80 model'),
    'confidence': ('', 'minimum detection score 0..1; empty = params file, else 0.3'),
    'autostart': ('', 'configure and activate at start-up (true/false); false: drive it with '
                      'ros2 lifecycle set; empty = params file, else true'),
    'use_sim_time': ('', 'stamp frames the node opens with /clock time (true/false); empty = '
                         'params file, else false'),
    'log_level': ('info', 'log level of the node, core engine logs included'),
}


def default_clip() -> str:
    """Return the bundled clip's path, or a source that says what to do in a build without it."""
    from stream_infer.bundled import bundled_clip_path
    try:
        return str(bundled_clip_path())
    except FileNotFoundError:  # built with STREAM_INFER_BUNDLED_DATA=0 (setup.py)
        return 'no bundled clip in this build: give source:=<file or URL>'


def parameter_of(argument: str) -> Optional[str]:
    """Return the parameter a launch argument sets, or None (namespace, params_file, ...)."""
    if argument in FILE_ARGUMENTS:
        return None
    name = ARGUMENT_PARAMETERS.get(argument, argument)
    return name if name in BY_NAME or name in BOOL_ARGUMENT_PARAMETERS else None


def argument_choices(argument: str) -> Optional[List[str]]:
    """Return the values an enumerated argument accepts ('' = not given first), else None."""
    if argument in LAUNCH_CHOICES:
        return list(LAUNCH_CHOICES[argument])
    param = BY_NAME.get(parameter_of(argument) or '')
    return ['', *param.choices] if param is not None and param.choices else None


def typed_overrides(values: Mapping[str, str]) -> dict:
    """
    Return the parameter values of the launch arguments given (non-empty), typed.

    Arguments that set no parameter are skipped; values take the parameter's type (ValueError
    naming the argument and what it accepts otherwise).
    """
    out = {}
    for argument, text in values.items():
        name = parameter_of(argument)
        if name is None or text == '':
            continue  # empty argument = keep the params file / default value
        default = BY_NAME[name].default if name in BY_NAME else False
        if isinstance(default, bool):
            if text.lower() not in ('true', 'false'):
                raise ValueError(f'{argument}:={text!r} must be true or false')
            out[name] = text.lower() == 'true'
        elif isinstance(default, (int, float)):
            try:
                out[name] = float(text) if isinstance(default, float) else int(text)
            except ValueError:
                kind = 'a number' if isinstance(default, float) else 'an integer'
                raise ValueError(f'{argument}:={text!r} must be {kind}') from None
        else:
            out[name] = text
    return out


def write_params_file(values: Mapping[str, object], prefix: str = 'stream_infer_') -> str:
    """Write values as a ROS params file for any node (/**) and return its path."""
    with tempfile.NamedTemporaryFile('w', prefix=prefix, suffix='.yaml', delete=False) as f:
        yaml.safe_dump({'/**': {'ros__parameters': dict(values)}}, f)
        return f.name


def params_file_path(path: str) -> str:
    """Return the params file to pass: the user's (which must exist), or one with no values."""
    if not path:
        return write_params_file({}, prefix='stream_infer_none_')
    # rcl reads it; a device, FIFO or huge file would hang or flood the node's start-up
    check_regular_file(path, 'params_file:', 'a parameters YAML file (copy '
                       'config/stream_infer.yaml from the package share directory and edit it)',
                       ValueError)
    return path


def arguments_file(values: Mapping[str, str]) -> str:
    """Return a params file with the parameters of the launch arguments given (non-empty)."""
    return write_params_file(typed_overrides(values), prefix='stream_infer_args_')


def exit_problem(name: str, returncode: int) -> Optional[str]:
    """Why a node's exit must fail the launch (non-zero status), or None for a clean exit."""
    if returncode == 0:
        return None
    return (f'{name} exited with status {returncode} (its error is logged above); '
            'the launch ends with it')


def end_launch_on_exit(event, context):
    """
    on_exit of the node (a required node): its exit ends the launch, failing it if it failed.

    Raising makes `ros2 launch` log the line and exit with status 1; a clean exit shuts the
    launch down normally. Nothing is done when the launch is already shutting down (Ctrl-C).
    """
    if context.is_shutdown:
        return None
    name = getattr(event.action, 'node_name', None) or event.process_name
    problem = exit_problem(name, event.returncode)
    if problem is not None:
        raise RuntimeError(problem)
    from launch.actions import Shutdown
    return [Shutdown(reason=f'{name} exited')]


def declare_arguments(arguments: Mapping[str, Tuple[str, str]]) -> list:
    """
    Declare arguments and COMMON_ARGUMENTS (DeclareLaunchArgument; choices if enumerated).

    An OpaqueFunction follows them that warns about arguments typed but not declared (which
    `ros2 launch` silently ignores): a node parameter must go into the params file.
    """
    from launch.actions import DeclareLaunchArgument, OpaqueFunction
    declared = {**arguments, **COMMON_ARGUMENTS}
    return [*(DeclareLaunchArgument(name, default_value=default, description=text,
                                    choices=argument_choices(name))
              for name, (default, text) in declared.items()),
            OpaqueFunction(function=warn_undeclared, args=[sorted(declared)])]


def undeclared_warning(given: Mapping[str, str], declared: List[str]) -> Optional[str]:
    """
    Return one line about the arguments given that the launch file does not declare, or None.

        >>> undeclared_warning({'class_id_format': 'name', 'loop': ''}, ['loop'])[:44]
        'class_id_format:=name is no argument of this'
    """
    extra = sorted(set(given) - set(declared))
    if not extra:
        return None
    typed = ', '.join(f'{name}:={given[name]}' for name in extra)
    parameters = [name for name in extra if name in BY_NAME]
    hint = 'the arguments it takes: ros2 launch stream_infer <file> -s'
    if parameters:
        hint = (f'node parameters ({", ".join(parameters)}) go into a parameters file: '
                'params_file:=my.yaml (a copy of config/stream_infer.yaml), or ros2 param set')
    verb = 'is no argument' if len(extra) == 1 else 'are no arguments'
    return f'{typed} {verb} of this launch file and will be ignored; {hint}'


def warn_undeclared(context, declared: List[str]) -> list:
    """Log undeclared_warning for this launch (an OpaqueFunction body)."""
    warning = undeclared_warning(dict(context.launch_configurations), declared)
    if warning:
        import launch.logging
        launch.logging.get_logger('launch').warning(warning)
    return []


def node_logger_name(namespace: str, name: str = NODE_NAME) -> str:
    """
    Return the rcl logger name of the node: its namespace and name joined with dots.

        >>> node_logger_name('/robot/front/')
        'robot.front.stream_infer'
    """
    return '.'.join([part for part in namespace.split('/') if part] + [name])


def log_level_arguments(namespace) -> list:
    """
    Return the node's --log-level ros argument: log_level for the node's logger only.

    A global `--log-level debug` also turns on rcl's and rmw's debug lines (timers, wait sets:
    dozens a second); `--log-level <node logger>:=debug` shows the node's and the engine's.
    namespace is the node's namespace (a string or a substitution).
    """
    from stream_infer.ros.launch_substitutions import NodeLogLevel
    return ['--log-level', NodeLogLevel(namespace, 'log_level')]


def params_file():
    """Substitution: the params_file argument's file, or an empty params file when not given."""
    from stream_infer.ros.launch_substitutions import ParamsFile
    return ParamsFile('params_file')


def given_arguments(arguments: Mapping[str, Tuple[str, str]]):
    """Substitution: a params file of the arguments (and COMMON_ARGUMENTS) the user typed."""
    from stream_infer.ros.launch_substitutions import GivenArguments
    return GivenArguments([name for name in {**arguments, **COMMON_ARGUMENTS}
                           if parameter_of(name) is not None])


def check_camera(context) -> list:
    """End the launch with one line when `device` names no camera (an OpaqueFunction body)."""
    error = camera_error(context.launch_configurations['device'])
    if error:
        raise RuntimeError(error)
    return []


# ------------------------------------------------------------------ cameras
def is_camera(spec: str) -> bool:
    """Return True when a source names a camera: an index, 'webcam' or a /dev path."""
    return spec.isdigit() or spec == 'webcam' or spec.startswith('/dev/')


def camera_error(device: str, dev_dir: str = '/dev') -> Optional[str]:
    """One clear line when a camera index or device path names no camera device, else None."""
    path = Path(dev_dir) / f'video{device}' if device.isdigit() else Path(device)
    if device in ('', 'webcam'):
        path = Path(dev_dir) / 'video0'
    if path.exists() and re.fullmatch(r'video\d+', Path(os.path.realpath(path)).name):
        return None
    what = 'is not a camera device (/dev/videoN)' if path.exists() else 'does not exist'
    return (f'stream_infer: no camera at {path} ({what}). Use a file or stream instead: '
            'ros2 launch stream_infer video.launch.py source:=<file or URL>, or an existing '
            'camera topic: ros2 launch stream_infer topic.launch.py image:=<topic>')


def join_namespace(parent: str, child: str) -> str:
    """Join namespaces whatever slashes the user typed: ('/robot', '/a') -> '/robot/a'."""
    parts = [part for text in (parent, child) for part in text.split('/') if part]
    joined = '/'.join(parts)
    return '/' + joined if parent.startswith('/') or (not parent and child.startswith('/')) \
        else joined


def camera_plan(sources: str, namespaces: str, parent: str = '',
                dev_dir: str = '/dev') -> List[Tuple[str, str]]:
    """
    Return (namespace, source) per source of multi_camera.launch.py, or raise ValueError.

    sources and namespaces are comma lists; namespaces default to cam0, cam1, ...; cameras must
    exist (camera_error), namespaces must be distinct.

        >>> camera_plan('a.mp4,b.mp4', '/x,y', parent='/robot')
        [('/robot/x', 'a.mp4'), ('/robot/y', 'b.mp4')]
    """
    specs = [s.strip() for s in sources.split(',') if s.strip()]
    names = [n.strip() for n in namespaces.split(',') if n.strip()]
    if not specs:
        raise ValueError('sources:= is empty: give comma-separated cameras, files or URLs')
    if names and len(names) != len(specs):
        raise ValueError(f'namespaces:= names {len(names)} namespaces for {len(specs)} '
                         'sources: give one per source, or none (cam0, cam1, ...)')
    names = [join_namespace(parent, n) for n in (names or [f'cam{i}' for i in range(len(specs))])]
    bare = [n.strip('/') for n in names]  # 'x' and '/x' are one node at the top level
    repeated = sorted({n for n in bare if bare.count(n) > 1})
    if repeated:
        raise ValueError(f'namespaces:= repeats {", ".join(repeated)}: each source needs its own')
    for spec in specs:
        error = camera_error(spec, dev_dir) if is_camera(spec) else None
        if error:
            raise ValueError(error)
    return list(zip(names, specs))


def multi_camera_nodes(sources: str, namespaces: str, shared_model: str, parent: str = '',
                       dev_dir: str = '/dev') -> List[Tuple[str, Dict[str, object]]]:
    """
    Return (namespace, fixed parameters) per node of multi_camera.launch.py, or ValueError.

    shared_model 'false': one node per source in its namespace (camera_plan), parameter
    source. 'true': one node in the parent namespace serving every source with one model,
    each a camera named after its namespace (parameters cameras, sources), so the detections
    topics are the same in both modes (/front/detections, /robot/front/detections).

        >>> multi_camera_nodes('a.mp4,b.mp4', 'front,rear', 'true', parent='/robot')
        [('/robot', {'cameras': ['front', 'rear'], 'sources': ['a.mp4', 'b.mp4']})]
        >>> multi_camera_nodes('a.mp4,b.mp4', '', 'false')
        [('cam0', {'source': 'a.mp4'}), ('cam1', {'source': 'b.mp4'})]
    """
    if shared_model not in LAUNCH_CHOICES['shared_model']:
        raise ValueError(f'shared_model:={shared_model!r} must be true or false')
    plan = camera_plan(sources, namespaces, parent, dev_dir)
    if shared_model == 'false':
        return [(namespace, {'source': source}) for namespace, source in plan]
    names = ([n.strip().strip('/') for n in namespaces.split(',') if n.strip()]
             or [f'cam{i}' for i in range(len(plan))])
    for name in names:
        if not CAMERA_NAME.fullmatch(name):
            raise ValueError(f'namespaces:= {name!r} cannot name a camera of the shared node '
                             f'(shared_model:=true): expected {CAMERA_NAME_RULE}, one level '
                             '(or shared_model:=false: one node per namespace)')
    return [(parent, {'cameras': names, 'sources': [source for _, source in plan]})]


def camera_defaults(namespace: str, fixed: Mapping[str, object]) -> Dict[str, object]:
    """
    Return the values below the params file of one node of multi_camera_nodes.

    A node of its own (shared_model:=false) gets frame_id = its camera name, the last part of
    its namespace, as the shared node's frame_ids default to the camera names: both modes stamp
    the same frame_id.

        >>> camera_defaults('/robot/front', {'source': 'a.mp4'})
        {'frame_id': 'front'}
        >>> camera_defaults('/robot', {'cameras': ['front'], 'sources': ['a.mp4']})
        {}
    """
    if 'source' not in fixed:
        return {}
    return {'frame_id': [part for part in namespace.split('/') if part][-1]}
