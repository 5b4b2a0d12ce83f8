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

import array
import ast
from pathlib import Path
import re

import pytest
from rcl_interfaces.msg import ParameterType
from rclpy.parameter import Parameter
import yaml

from stream_infer.errors import ConfigurationError
from stream_infer.ros import launch_support
from stream_infer.ros.cameras import CameraOptions, cameras_of
from stream_infer.ros.parameters import (
    BY_NAME, check_change, class_filter, descriptor, foreign_names, LIVE, MODEL,
    normalized_value, options_from, PARAMS, SOURCE, startup_values)

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


def test_startup_values_check_what_a_runtime_set_checks():
    assert startup_values({}) == {p.name: p.default for p in PARAMS}
    assert startup_values({'classes': None})['classes'] == []  # `classes: []` in a YAML file
    assert startup_values({'classes': [0, 2]})['classes'] == ['0', '2']
    assert startup_values({'confidence': 0.5, 'loop': True})['confidence'] == 0.5
    for overrides, text in [
            ({'confidence': 1.5}, 'confidence=1.5: expected a number in [0, 1]'),
            ({'confidence': 1}, 'confidence=1: expected a number in [0, 1] (a double: write 1.0)'),
            ({'confidence': None}, 'confidence=no value: expected a number in [0, 1]'),
            ({'source': 0}, 'source=0: expected a string: quote it'),
            ({'loop': 'yes'}, "loop='yes': expected true or false"),
            ({'providers': 'CPUExecutionProvider'}, 'expected a list of strings'),
            ({'reconnect_delay': 2.0, 'reconnect_max_delay': 1.0},
             'reconnect_max_delay (1) must be >= reconnect_delay (2)'),
            ({'track_frame_rate': 0}, 'track_frame_rate=0: expected a number > 0')]:
        with pytest.raises(ConfigurationError) as info:
            startup_values(overrides)
        assert text in str(info.value) and '\n' not in str(info.value), str(info.value)
        name = next(iter(overrides))
        if name in ('confidence', 'loop', 'track_frame_rate') and overrides[name] is not None \
                and type(overrides[name]) is type(BY_NAME[name].default):
            assert check_change(name, overrides[name], 'unconfigured') == str(info.value)
    assert foreign_names(['confidnce', 'use_sim_time', 'qos_overrides./x.depth', 'loop']) == [
        'confidnce']


def test_classes_take_an_empty_array_of_any_type():
    assert normalized_value('classes', []) == [] and normalized_value('classes', None) == []
    assert normalized_value('classes', array.array('q')) == []
    assert normalized_value('classes', [3, 1]) == ['3', '1']
    kept = ['person']
    assert normalized_value('classes', kept) is kept
    assert normalized_value('providers', []) == []


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


def test_given_arguments_name_their_parameters_and_empty_means_not_given():
    out = launch_support.typed_overrides({
        'transport': 'compressed', 'reliability': '', 'device': '/dev/video2', 'image': '/cam',
        'namespace': 'front', 'params_file': 'x.yaml', 'log_level': 'debug',
        'use_sim_time': 'true', 'autostart': 'false', 'enforce_fps': ''})
    assert out == {'image_transport': 'compressed', 'source': '/dev/video2',
                   'use_sim_time': True, 'autostart': False}
    with pytest.raises(ValueError, match="confidence:='high' must be a number"):
        launch_support.typed_overrides({'confidence': 'high'})
    path = launch_support.arguments_file({'confidence': '0.6', 'loop': ''})
    assert yaml.safe_load(Path(path).read_text()) == {
        '/**': {'ros__parameters': {'confidence': 0.6}}}


def test_params_file_argument_names_an_existing_file_or_none(tmp_path):
    empty = launch_support.params_file_path('')
    assert yaml.safe_load(Path(empty).read_text()) == {'/**': {'ros__parameters': {}}}
    mine = tmp_path / 'my.yaml'
    mine.write_text('/**:\n  ros__parameters:\n    loop: false\n')
    assert launch_support.params_file_path(str(mine)) == str(mine)
    with pytest.raises(ValueError, match='no such file'):
        launch_support.params_file_path(str(tmp_path / 'typo.yaml'))


def test_enumerated_arguments_have_choices():
    assert launch_support.argument_choices('transport') == ['', 'raw', 'compressed']
    assert launch_support.argument_choices('reliability') == ['', 'best_effort', 'reliable']
    assert launch_support.argument_choices('log_level') == [
        'debug', 'info', 'warn', 'error', 'fatal']
    assert launch_support.argument_choices('confidence') is None
    assert launch_support.argument_choices('image') is None


def test_a_failed_node_fails_the_launch():
    assert launch_support.exit_problem('/cam0/stream_infer', 0) is None
    problem = launch_support.exit_problem('/cam0/stream_infer', 2)
    assert '/cam0/stream_infer' in problem and 'status 2' in problem and '\n' not in problem


def test_camera_error_is_one_clear_line(tmp_path):
    assert launch_support.camera_error('0', dev_dir=str(tmp_path)).count('\n') == 0
    message = launch_support.camera_error('0', dev_dir=str(tmp_path))
    assert f'{tmp_path}/video0' in message
    assert 'video.launch.py source:=' in message and 'topic.launch.py image:=' in message
    (tmp_path / 'video0').touch()
    assert launch_support.camera_error('0', dev_dir=str(tmp_path)) is None
    assert launch_support.camera_error('webcam', dev_dir=str(tmp_path)) is None
    assert launch_support.camera_error(str(tmp_path / 'video0')) is None
    by_id = tmp_path / 'usb-cam-video-index0'
    by_id.symlink_to(tmp_path / 'video0')
    assert launch_support.camera_error(str(by_id)) is None
    message = launch_support.camera_error('/dev/null')
    assert 'no camera at /dev/null (is not a camera device (/dev/videoN))' in message


def test_multi_camera_plan_namespaces_and_cameras(tmp_path):
    plan = launch_support.camera_plan
    files = 'a.mp4,rtsp://cam/b'
    assert plan(files, '') == [('cam0', 'a.mp4'), ('cam1', 'rtsp://cam/b')]
    assert plan(files, '/a,b', parent='/robot') == [('/robot/a', 'a.mp4'),
                                                    ('/robot/b', 'rtsp://cam/b')]
    assert plan(files, 'a/,b', parent='robot/') == [('robot/a', 'a.mp4'),
                                                    ('robot/b', 'rtsp://cam/b')]
    assert plan(files, '/a,/b')[0][0] == '/a'
    (tmp_path / 'video0').touch()
    assert plan('0', '', dev_dir=str(tmp_path)) == [('cam0', '0')]
    for sources, namespaces, words in [
            ('0,1', '', f'no camera at {tmp_path}/video1'), ('a.mp4,b.mp4', 'x', 'names 1'),
            ('a.mp4,b.mp4', 'x,/x/', 'repeats x'), (' , ', '', 'sources:= is empty')]:
        with pytest.raises(ValueError, match=re.escape(words)) as info:
            plan(sources, namespaces, dev_dir=str(tmp_path))
        assert '\n' not in str(info.value)


def test_several_cameras_take_one_entry_each_and_refuse_single_camera_parameters():
    values = startup_values({'cameras': ['front', 'rear'], 'sources': [0, 2]})
    assert values['sources'] == ['0', '2']  # camera indices written as YAML integers
    assert startup_values({'cameras': None, 'sources': []})['cameras'] == []  # `cameras: []`
    assert startup_values({'cameras': ['a'], 'frame_id': 'camera'})['cameras'] == ['a']
    for overrides, text in [
            ({'cameras': ['front', 'rear'], 'sources': ['a.mp4']},
             'sources has 1 entries for 2 cameras (front, rear): give one per camera, or none'),
            ({'cameras': ['a'], 'frame_ids': ['x', 'y']}, 'frame_ids has 2 entries for 1'),
            ({'sources': ['a.mp4']}, "sources=['a.mp4'] is for several cameras: set cameras"),
            ({'source_credentials_files': ['/s']},
             'a single camera uses source_credentials_file'),
            ({'cameras': ['front', 'front']}, 'names front twice'),
            ({'cameras': ['front-left']}, "'front-left' is not a camera name: expected "
                                          "letters, digits and '_', not starting with a digit"),
            ({'cameras': ['a'], 'source': 'x.mp4'},
             "source='x.mp4' is for a single camera; with cameras (a) give sources"),
            ({'cameras': ['a'], 'source_credentials_file': '/s'}, 'give source_credentials_files'),
            ({'cameras': ['a'], 'frame_id': 'base'}, 'give frame_ids'),
            ({'cameras': 'front'}, "cameras='front': expected a list of strings"),
            ({'max_batch': -1}, 'max_batch=-1: expected an integer in [1, 256], or 0 (unset)')]:
        with pytest.raises(ConfigurationError) as info:
            startup_values(overrides)
        assert text in str(info.value) and '\n' not in str(info.value), str(info.value)
    assert check_change('cameras', ['a'], 'active') is not None  # a source parameter
    assert check_change('cameras', ['a'], 'inactive') is None


@pytest.mark.parametrize('name', ['front', 'cam_0', '_x', 'Rear2', '0', '2cam', 'a-b', 'a.b',
                                  'a/b', '', 'ä'])
def test_camera_names_are_those_ros_accepts_as_a_topic_prefix(name):
    """A camera name is one token of a ROS topic name (rclpy's own check decides)."""
    from rclpy.validate_topic_name import validate_topic_name
    try:
        validate_topic_name(name)
        validate_topic_name(f'{name}/detections')
        ros_accepts = '/' not in name  # one token
    except Exception:  # noqa: BLE001 - rclpy's InvalidTopicNameException
        ros_accepts = False
    try:
        CameraOptions(cameras=(name,))
        accepted = True
    except ConfigurationError:
        accepted = False
    assert accepted == ros_accepts


def test_cameras_of_fills_per_camera_defaults():
    plan = cameras_of(CameraOptions(cameras=('a', 'b'), frame_ids=('a_optical', ''),
                                    source_credentials_files=('/run/a', '')),
                      source='', frame_id='camera', credentials_file='')
    assert [(c.name, c.source, c.frame_id, c.credentials_file) for c in plan] == [
        ('a', '', 'a_optical', '/run/a'), ('b', '', 'b', '')]
    assert [c.topic('annotated/compressed') for c in plan] == [
        'a/annotated/compressed', 'b/annotated/compressed']
    assert plan[1].events_topic == '~/b/stream_events'
    assert plan[1].diagnostic_name('/robot/stream_infer') == '/robot/stream_infer: stream_infer b'
    [single] = cameras_of(CameraOptions(), source='0', frame_id='cam', credentials_file='/s')
    assert (single.topic('detections'), single.events_topic, single.frame_id) == (
        'detections', '~/stream_events', 'cam')
    assert single.diagnostic_name('/stream_infer') == '/stream_infer: stream_infer'


def test_multi_camera_launch_shares_one_node_or_runs_one_per_source(tmp_path):
    nodes = launch_support.multi_camera_nodes
    files = 'a.mp4,rtsp://cam/b'
    assert nodes(files, '', 'true') == [('', {'cameras': ['cam0', 'cam1'],
                                              'sources': ['a.mp4', 'rtsp://cam/b']})]
    assert nodes(files, '/front, rear/', 'true', parent='/robot') == [
        ('/robot', {'cameras': ['front', 'rear'], 'sources': ['a.mp4', 'rtsp://cam/b']})]
    assert nodes(files, 'front,rear', 'false', parent='/robot') == [
        ('/robot/front', {'source': 'a.mp4'}), ('/robot/rear', {'source': 'rtsp://cam/b'})]
    (tmp_path / 'video0').touch()
    assert nodes('0', '', 'true', dev_dir=str(tmp_path)) == [
        ('', {'cameras': ['cam0'], 'sources': ['0']})]
    for sources, namespaces, shared, words in [
            (files, 'a/b,c', 'true', "namespaces:= 'a/b' cannot name a camera"),
            (files, 'front-left,c', 'true', 'expected letters, digits'),
            (files, 'x', 'true', 'names 1 namespaces for 2 sources'),
            ('0', '', 'true', f'no camera at {tmp_path}/video0'),
            (files, '', 'yes', "shared_model:='yes' must be true or false")]:
        if sources == '0':
            (tmp_path / 'video0').unlink()
        with pytest.raises(ValueError, match=re.escape(words)) as info:
            nodes(sources, namespaces, shared, dev_dir=str(tmp_path))
        assert '\n' not in str(info.value)
    assert nodes(files, 'a/b,c', 'false')[0][0] == 'a/b'  # nested namespaces: one node each
    assert launch_support.argument_choices('shared_model') == ['true', 'false']
    # The comma list `sources` is the launch file's: it is not the node's parameter sources.
    assert launch_support.typed_overrides({'sources': 'a.mp4,b.mp4', 'loop': 'true'}) == {
        'loop': True}


# ------------------------------------------------------------------ launch files (no launch_ros)
LAUNCH_ONLY_ARGUMENTS = {'image', 'sources', 'namespaces', 'shared_model'}  # used by the file
NODE_KEYWORDS = {'package', 'executable', 'name', 'namespace', 'parameters', 'remappings',
                 'ros_arguments', 'output', 'emulate_tty', 'on_exit'}  # launch_ros LifecycleNode


def _calls(tree, name):
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call)
            and getattr(n.func, 'id', getattr(n.func, 'attr', None)) == name]


def launch_data(path):
    """Run a launch file's stream_infer imports and constants (its launch imports need ROS)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    body = [n for n in tree.body if isinstance(n, ast.Assign) or (
        isinstance(n, ast.ImportFrom) and n.module.startswith('stream_infer'))]
    namespace = {}
    exec(compile(ast.Module(body=body, type_ignores=[]), str(path), 'exec'), namespace)
    return tree, namespace


@pytest.mark.parametrize('path', LAUNCH_FILES, ids=lambda p: p.name)
def test_launch_file_structure(path):
    tree, data = launch_data(path)
    compile(tree, str(path), 'exec')
    functions = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    assert 'generate_launch_description' in functions
    arguments = data['ARGUMENTS']
    declared = set(arguments) | set(launch_support.COMMON_ARGUMENTS)
    read = {call.args[0].value for call in _calls(tree, 'LaunchConfiguration')}
    read |= {n.slice.value for n in ast.walk(tree) if isinstance(n, ast.Subscript)
             and isinstance(n.slice, ast.Constant) and getattr(n.value, 'id', '') == 'given'}
    assert read <= declared, f'{path.name} reads undeclared arguments {read - declared}'
    for name, (default, text) in arguments.items():
        assert isinstance(default, str) and len(text) > 15, name
        assert launch_support.parameter_of(name) or name in LAUNCH_ONLY_ARGUMENTS, \
            f'{path.name}: argument {name} sets no parameter'
        choices = launch_support.argument_choices(name)
        assert choices is None or default in choices, name
    for name, (default, text) in launch_support.COMMON_ARGUMENTS.items():
        choices = launch_support.argument_choices(name)
        assert choices is None or default in choices, name
    for table in ('DEFAULTS', 'TOPIC_MODE'):
        for name, value in data.get(table, {}).items():
            assert type(value) is type(BY_NAME[name].default), (path.name, table, name)
    assert not _calls(tree, 'Node'), 'use the launch_ros LifecycleNode action'
    nodes = _calls(tree, 'LifecycleNode')
    assert len(nodes) == 1, path.name
    keywords = {kw.arg for kw in nodes[0].keywords}
    assert {'package', 'executable', 'name', 'namespace', 'parameters', 'on_exit'} <= keywords
    assert keywords <= NODE_KEYWORDS, keywords - NODE_KEYWORDS
    given = {kw.arg: ast.unparse(kw.value) for kw in nodes[0].keywords}
    assert given['on_exit'] == 'ls.end_launch_on_exit', 'the node must be required'
    assert given['ros_arguments'] in ("ls.log_level_arguments(LaunchConfiguration('namespace'))",
                                      'ls.log_level_arguments(namespace)')  # the node's logger
    assert given['name'] == 'ls.NODE_NAME' and given['package'] == 'ls.PACKAGE'
    parameters = next(kw.value for kw in nodes[0].keywords if kw.arg == 'parameters')
    layers = [ast.unparse(e) for e in parameters.elts]
    assert 'ls.params_file()' in layers, layers
    assert layers[-1] == 'ls.given_arguments(ARGUMENTS)', 'typed arguments must come last'
    assert layers.index('ls.params_file()') <= 1 and (
        'DEFAULTS' not in layers or layers.index('DEFAULTS') == 0), layers
    for call in _calls(tree, 'OpaqueFunction'):
        function = ast.unparse(call.keywords[0].value)
        assert function in functions or hasattr(launch_support, function.split('.')[-1])


def test_the_four_launch_files_exist():
    assert [p.name for p in LAUNCH_FILES] == [
        'multi_camera.launch.py', 'topic.launch.py', 'video.launch.py', 'webcam.launch.py']


def test_launch_support_docstring_examples_and_the_launch_fixes():
    import doctest
    result = doctest.testmod(launch_support, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted >= 6, result
    warning = launch_support.undeclared_warning(
        {'class_id_format': 'name', 'colour': 'red', 'loop': ''}, ['loop'])
    assert warning.startswith('class_id_format:=name, colour:=red are no arguments of this '
                              'launch file and will be ignored;')
    assert 'node parameters (class_id_format) go into a parameters file: params_file:=' in warning
    assert 'ros2 launch stream_infer <file> -s' in launch_support.undeclared_warning(
        {'colour': 'red'}, [])
    assert launch_support.undeclared_warning({'loop': 'true'}, ['loop']) is None
    assert launch_support.node_logger_name('') == 'stream_infer'
    assert launch_support.node_logger_name('/front') == 'front.stream_infer'
    plan = launch_support.multi_camera_nodes('a.mp4,b.mp4', 'front,rear', 'false', '/robot')
    for namespace, fixed in plan:
        assert launch_support.camera_defaults(namespace, fixed) == {
            'frame_id': namespace.rsplit('/', 1)[-1]}
