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

"""Parameters table, config file and launch files, checked without launch_ros (not installable)."""

import ast
from pathlib import Path

import pytest
from rcl_interfaces.msg import ParameterType
from rclpy.parameter import Parameter
import yaml

from stream_infer.ros import launch_support
from stream_infer.ros.parameters import (
    BY_NAME, check_change, class_filter, descriptor, LIVE, MODEL, options_from, PARAMS, SOURCE)

ROOT = Path(__file__).resolve().parent.parent
LAUNCH_FILES = sorted((ROOT / 'launch').glob('*.launch.py'))


def test_parameters_derive_from_the_options():
    # The ROS default is the option's, except where the node deliberately differs.
    differs = {'enforce_fps': True, 'classes': [''], 'track_frame_rate': 30,
               'wait_for_source': True}  # a robot's camera may come up after the node
    for p in PARAMS:
        default = p.option.default
        default = p.ros_none if default is None else default
        default = list(default) if isinstance(default, tuple) else default
        assert p.default == differs.get(p.name, default), p.name
        assert p.option.metadata['help'][1:] in p.description
        assert p.to_option(p.default) == (None if p.name == 'classes' else
                                          p.option.default if p.name not in differs else
                                          float(p.default) if p.name == 'track_frame_rate'
                                          else p.default)
    assert check_change('threads', 0, 'unconfigured') is None  # 0 = onnxruntime's default
    assert '0 (unset)' in check_change('threads', -1, 'unconfigured')
    reason = check_change('confidence', 1.000001, 'active')  # inside rclpy's range tolerance
    assert reason == 'confidence=1.000001: expected a number in [0, 1]'
    with pytest.raises(ValueError, match=r'reconnect_max_delay \(5\) must be >= '
                                         r'reconnect_delay \(10\)'):
        options_from({'reconnect_delay': 10.0, 'reconnect_max_delay': 5.0})


def test_config_file_lists_every_parameter_with_its_default():
    config = yaml.safe_load((ROOT / 'config' / 'stream_infer.yaml').read_text())
    values = config['/**']['ros__parameters']
    assert values == {p.name: p.default for p in PARAMS}


@pytest.mark.parametrize('param', PARAMS, ids=lambda p: p.name)
def test_every_parameter_is_described_and_typed(param):
    d = descriptor(param)
    assert len(param.description) > 15 and param.description in d.description
    assert Parameter('x', value=param.default).type_ != Parameter.Type.NOT_SET
    if param.bounds is not None:
        assert d.floating_point_range or d.integer_range
        lo, hi = param.bounds
        assert lo <= param.default <= hi
    if param.choices:
        assert param.default in param.choices


def test_ranges_have_the_ros_type_of_the_default():
    conf = descriptor(BY_NAME['confidence'])
    assert conf.floating_point_range[0].to_value == 1.0 and not conf.integer_range
    top_k = descriptor(BY_NAME['max_candidates'])
    assert top_k.integer_range[0].from_value == 1 and not top_k.floating_point_range
    assert Parameter('t', value=BY_NAME['providers'].default).type_ == \
        Parameter.Type.STRING_ARRAY
    assert ParameterType.PARAMETER_STRING_ARRAY == Parameter.Type.STRING_ARRAY.value


def test_reload_rules_by_state():
    assert check_change('confidence', 0.5, 'active') is None
    reason = check_change('source', 'x.mp4', 'active')
    assert 'deactivate' in reason and 'activate' in reason
    assert check_change('source', 'x.mp4', 'inactive') is None
    for state in ('inactive', 'active'):
        reason = check_change('model', 'm.onnx', state)
        assert 'cleanup' in reason and 'configure' in reason
    assert check_change('model', 'm.onnx', 'unconfigured') is None
    assert 'one of: raw, compressed' in check_change('image_transport', 'h264', 'unconfigured')
    assert check_change('use_sim_time', True, 'active') is None  # not ours
    kinds = {p.kind for p in PARAMS}
    assert kinds == {LIVE, SOURCE, MODEL}


def test_class_filter_parses_names_and_indices():
    assert class_filter(['']) is None
    assert class_filter([]) is None
    assert class_filter(['person', ' 41 ', '']) == ['person', 41]


def test_typed_overrides_follow_declared_types():
    out = launch_support.typed_overrides(
        {'confidence': '0.5', 'source': '0', 'loop': 'True', 'max_detections': '7', 'model': ''})
    assert out == {'confidence': 0.5, 'source': '0', 'loop': True, 'max_detections': 7}
    assert isinstance(out['confidence'], float)
    with pytest.raises(ValueError, match='true or false'):
        launch_support.typed_overrides({'loop': 'yes'})


def test_camera_error_is_one_clear_line(tmp_path):
    assert launch_support.camera_error('0', dev_dir=str(tmp_path)).count('\n') == 0
    message = launch_support.camera_error('0', dev_dir=str(tmp_path))
    assert f'{tmp_path}/video0' in message
    assert 'video.launch.py source:=' in message and 'topic.launch.py image:=' in message
    (tmp_path / 'video0').touch()
    assert launch_support.camera_error('0', dev_dir=str(tmp_path)) is None
    assert launch_support.camera_error('webcam', dev_dir=str(tmp_path)) is None
    assert launch_support.camera_error(str(tmp_path / 'video0')) is None


def _calls(tree, name):
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call)
            and getattr(n.func, 'id', getattr(n.func, 'attr', None)) == name]


@pytest.mark.parametrize('path', LAUNCH_FILES, ids=lambda p: p.name)
def test_launch_file_structure(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    compile(tree, str(path), 'exec')
    functions = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    assert 'generate_launch_description' in functions
    arguments = next(n for n in tree.body if isinstance(n, ast.Assign)
                     and n.targets[0].id == 'ARGUMENTS')
    declared = set(ast.literal_eval(arguments.value)) | set(launch_support.COMMON_ARGUMENTS)
    used = {n.slice.value for n in ast.walk(tree)
            if isinstance(n, ast.Subscript) and getattr(n.value, 'id', '') == 'a'}
    assert used <= declared, f'{path.name} reads undeclared arguments {used - declared}'
    for call in _calls(tree, 'node_action'):
        for kw in call.keywords:
            if kw.arg not in ('remappings', 'name'):
                assert kw.arg in BY_NAME, f'{path.name}: {kw.arg} is no node parameter'


def test_the_four_launch_files_exist():
    assert [p.name for p in LAUNCH_FILES] == [
        'multi_camera.launch.py', 'topic.launch.py', 'video.launch.py', 'webcam.launch.py']
