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
The node's parameters: derived from the engine's options, plus the few only the node has.

Each parameter feeds one option field (stream_infer.options, or NodeOptions below for what only
the node has) and takes its meaning, default and accepted values from it; the table only adds
the ROS name, the ROS type and when the parameter may change:
- live: thresholds and options applied from the next frame, at any time;
- source: how frames arrive; changeable unless the node is active (activate reopens);
- model: what configure loads; changeable only while unconfigured (cleanup releases the model).
config/stream_infer.yaml lists every parameter with its default; a test keeps the two in step.
Start-up values (startup_values) and runtime sets (check_change) go through the same checks:
the option objects are built from the parameter values, so what is accepted is exactly what can
be applied.
"""

from dataclasses import dataclass
import re
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from stream_infer.capture.config import CaptureOptions
from stream_infer.errors import ConfigurationError
from stream_infer.options import (
    check_options, check_value, DecodeOptions, DepthOptions, describe_accepted, ModelOptions,
    option, option_fields, PostprocessOptions, ReconnectPolicy, SourceOptions, TrackerOptions)
from stream_infer.ros.cameras import CameraOptions, check_single_camera_parameters

LIVE, SOURCE, MODEL = 'live', 'source', 'model'


@dataclass(frozen=True)
class NodeOptions:
    """What only the ROS node has: lifecycle, topics, message formats, the annotated image."""

    what = 'node'
    autostart: bool = option(True, 'Configure and activate by itself at start-up (false: drive '
                             'it with `ros2 lifecycle set`).')
    source: str = option('', 'Frames to open: camera index (0) or device (/dev/video0), '
                         '"webcam", a video file, or an rtsp/http(s) URL. Empty = subscribe to '
                         'the `image` topic instead.')
    image_transport: str = option('raw', 'Topic mode: "raw" subscribes to `image` '
                                  '(sensor_msgs/Image), "compressed" to `image/compressed` '
                                  '(JPEG/PNG).', choices=('raw', 'compressed'))
    image_reliability: str = option('best_effort', 'Topic mode subscription reliability; '
                                    'best_effort (REP-2003 sensor data) matches every camera '
                                    'driver.', choices=('best_effort', 'reliable'))
    source_credentials_file: str = option(
        '', 'File holding "user:password" for a network source, put into the URL at activate '
        'so the secret is never a parameter (parameters are broadcast on /parameter_events). '
        'Empty = none.')
    frame_id: str = option('camera', 'frame_id stamped on frames the node opens itself (source '
                           'mode).')
    publish_source_image: bool = option(False, 'Source mode: republish every captured frame on '
                                        '`image_raw` (bgr8, capture-time stamp, frame_id).')
    model: str = option('', 'ONNX model path; empty = the bundled COCO-80 CenterNet model.')
    class_id_format: str = option('index', 'Detection class_id: "index" (numeric, mapped to '
                                  'names by `label_info`) or "name".', choices=('index', 'name'))
    tracking: bool = option(True, 'ByteTrack: Detection2D.id = track id (empty when untracked).')
    annotated_traces: bool = option(True, '`annotated`: draw track traces.')
    annotated_trace_length: int = option(30, '`annotated`: trace length in frames.',
                                         bounds=(1, 1000))
    annotated_labels: bool = option(True, '`annotated`: draw class, score and track id labels.')
    annotated_jpeg_quality: int = option(80, '`annotated/compressed`: JPEG quality.',
                                         bounds=(1, 100))
    diagnostics_period: float = option(1.0, 'Seconds between /diagnostics messages.',
                                       bounds=(0.1, 60.0))
    depth: bool = option(False, 'Topic mode: pair each image by stamp with an aligned depth '
                         'image (`depth/image`: 16UC1 millimetres or 32FC1 metres) and use '
                         '`camera_info` (K) to publish `detections_3d` and `markers`; false: '
                         '2D only, nothing more subscribed.')
    depth_transport: str = option('raw', 'With depth: "raw" subscribes to `depth/image`, '
                                  '"compressedDepth" to `depth/image/compressedDepth` '
                                  "(image_transport's PNG depth).",
                                  choices=('raw', 'compressedDepth'))

    def __post_init__(self) -> None:
        check_options(self)


@dataclass(frozen=True)
class Param:
    """
    One declared parameter: the option field it feeds, its ROS default, and its kind.

    default is the ROS value (its type is the parameter type); ros_none is the ROS value that
    stands for an option's None (0 threads, '' labels); bounds is the range `ros2 param
    describe` shows (the real check is the option's).
    """

    name: str
    target: type
    field: str
    kind: str = LIVE
    default: Any = None
    ros_none: Any = None

    @property
    def option(self):
        return option_fields(self.target)[self.field]

    @property
    def description(self) -> str:
        text = self.option.metadata['help']
        text = text[0].upper() + text[1:] + ('' if text.endswith('.') else '.')
        return text if self.ros_none is None else f'{text} {self.ros_none!r} = unset.'

    @property
    def bounds(self) -> Optional[Tuple[float, float]]:
        meta = self.option.metadata
        low, high = meta['bounds'] or (None, None)
        if meta['above'] is not None:
            low = meta['above']
        if isinstance(self.default, int) and self.ros_none is not None:
            low = self.ros_none  # e.g. threads: 0 = None
        return None if low is None or high is None else (low, high)

    @property
    def choices(self) -> Tuple[str, ...]:
        return self.option.metadata['choices']

    def to_option(self, value: Any) -> Any:
        """Return the option value a ROS value stands for (types and None as the option wants)."""
        if self.ros_none is not None and value == self.ros_none:
            return None
        if self.field == 'classes':
            return class_filter(value)
        if isinstance(value, (list, tuple)):
            return tuple(value)
        if self.option.metadata['kind'] is float and isinstance(value, int) \
                and not isinstance(value, bool):
            return float(value)
        return value


CAPTURE_PREFIX = 'capture_'
CAPTURE_UNSET = {'rules_file': '', 'seed': -1}  # the ROS values of the options' None


def _param(name: str, target: type, field: Optional[str] = None, kind: str = LIVE,
           default: Any = None, ros_none: Any = None) -> Param:
    """Build a Param whose ROS default is the option's unless given (None -> ros_none)."""
    field = field or name
    if default is None:
        default = option_fields(target)[field].default
        default = ros_none if default is None else default
        default = list(default) if isinstance(default, tuple) else default
    return Param(name, target, field, kind, default, ros_none)


PARAMS = (
    # lifecycle
    _param('autostart', NodeOptions, kind=SOURCE),
    # input
    _param('source', NodeOptions, kind=SOURCE),
    _param('source_credentials_file', NodeOptions, kind=SOURCE),
    # several cameras in one node (empty cameras: the single camera above)
    _param('cameras', CameraOptions, kind=SOURCE),
    _param('sources', CameraOptions, kind=SOURCE),
    _param('frame_ids', CameraOptions, kind=SOURCE),
    _param('source_credentials_files', CameraOptions, kind=SOURCE),
    _param('max_batch', ModelOptions, kind=SOURCE, ros_none=0),
    _param('image_transport', NodeOptions, kind=SOURCE),
    _param('image_reliability', NodeOptions, kind=SOURCE),
    _param('frame_id', NodeOptions, kind=SOURCE),
    _param('publish_source_image', NodeOptions, kind=SOURCE),
    _param('enforce_fps', SourceOptions, kind=SOURCE, default=True),  # files play like cameras
    _param('loop', SourceOptions, kind=SOURCE),
    _param('reconnect_delay', ReconnectPolicy, 'initial_delay', SOURCE),
    _param('reconnect_max_delay', ReconnectPolicy, 'max_delay', SOURCE),
    _param('wait_for_source', ReconnectPolicy, kind=SOURCE, default=True),  # robots boot first
    _param('read_timeout', ReconnectPolicy, kind=SOURCE),
    _param('rtsp_transport', ReconnectPolicy, kind=SOURCE),
    _param('rtsp_low_latency', ReconnectPolicy, kind=SOURCE),
    # 3D from an aligned depth image (topic mode)
    _param('depth', NodeOptions, kind=SOURCE),
    _param('depth_transport', NodeOptions, kind=SOURCE),
    *(_param(name, DepthOptions, kind=SOURCE) for name in option_fields(DepthOptions)),
    # model
    _param('model', NodeOptions, kind=MODEL),
    _param('labels', ModelOptions, kind=MODEL, ros_none=''),
    _param('layout', ModelOptions, kind=MODEL),
    _param('providers', ModelOptions, kind=MODEL),
    _param('threads', ModelOptions, kind=MODEL, ros_none=0),
    _param('spin_wait', ModelOptions, kind=MODEL),
    # detection thresholds (live)
    _param('confidence', PostprocessOptions),
    _param('iou_threshold', PostprocessOptions),
    _param('class_agnostic_nms', PostprocessOptions, 'class_agnostic'),
    _param('max_candidates', PostprocessOptions),
    _param('max_detections', PostprocessOptions),
    _param('classes', PostprocessOptions, default=['']),
    _param('class_id_format', NodeOptions),
    # tracking (live; changing any resets the tracker)
    _param('tracking', NodeOptions),
    _param('track_activation_threshold', TrackerOptions),
    _param('lost_track_buffer', TrackerOptions),
    _param('minimum_matching_threshold', TrackerOptions),
    _param('minimum_consecutive_frames', TrackerOptions),
    _param('track_frame_rate', TrackerOptions, 'frame_rate', default=30),  # an integer in ROS
    # outputs (live)
    _param('annotated_traces', NodeOptions),
    _param('annotated_trace_length', NodeOptions),
    _param('annotated_labels', NodeOptions),
    _param('annotated_jpeg_quality', NodeOptions),
    _param('diagnostics_period', NodeOptions),
    # inputs (live)
    _param('max_image_pixels', DecodeOptions),
    # hard-example capture (live: a change starts a new capture with the new values)
    *(_param(f'{CAPTURE_PREFIX}{name}', CaptureOptions, name, ros_none=CAPTURE_UNSET.get(name))
      for name in option_fields(CaptureOptions)),
)
BY_NAME = {p.name: p for p in PARAMS}
INTEGER_ENTRIES = ('classes', 'sources')  # string arrays whose entries may be integers
RCLPY_PARAMETERS = ('use_sim_time', 'start_type_description_service')  # rclpy declares these
WHEN = {LIVE: 'applied from the next frame',
        SOURCE: 'changeable while not active (deactivate, set, activate)',
        MODEL: 'changeable while unconfigured (deactivate, cleanup, set, configure)'}


def descriptor(p: Param):
    """Describe p for `ros2 param describe`: meaning, accepted values, when it may change."""
    from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor
    text = f'{p.description} [{WHEN[p.kind]}]'
    if p.choices:
        text += f' One of: {", ".join(p.choices)}.'
    d = ParameterDescriptor(description=text)
    if p.bounds is not None:
        lo, hi = p.bounds
        if isinstance(p.default, float):
            d.floating_point_range = [FloatingPointRange(from_value=float(lo), to_value=float(hi))]
        else:
            d.integer_range = [IntegerRange(from_value=int(lo), to_value=int(hi), step=1)]
    return d


def class_filter(values: Sequence[Any]) -> Optional[list]:
    """Parameter `classes` -> names/indices for Detector.resolve_classes (None = all)."""
    out = []
    for v in values:
        v = str(v).strip()
        if v:
            out.append(int(v) if v.lstrip('-').isdigit() else v)
    return out or None


def is_array(value: Any) -> bool:
    """Return True for a ROS array value (list, tuple or array.array; not str/bytes)."""
    return not isinstance(value, (str, bytes)) and hasattr(value, '__len__') \
        and hasattr(value, '__iter__')


def normalized_value(name: str, value: Any) -> Any:
    """
    Return the value parameter name stores for value (value itself when nothing changes).

    String-array parameters accept an empty array of any ROS type (`ros2 param set ... classes
    "[]"` sends a bool array; an empty YAML list arrives without a type); `classes` (indices)
    and `sources` (camera indices) accept integers too; all are stored as the string array the
    parameter is declared with.
    """
    p = BY_NAME.get(name)
    if p is None or not isinstance(p.default, list):
        return value
    if value is None or (is_array(value) and len(value) == 0):
        return []  # an empty array of any type: the string array the parameter is
    if name not in INTEGER_ENTRIES:
        return value
    if is_array(value) and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        return [str(v) for v in value]
    return value


def _accepted_words(p: Param) -> str:
    """Say what parameter p accepts (range, choices, or its ROS type)."""
    if isinstance(p.default, list):
        return ('a list of class names or indices ([] or [""] = all)' if p.name == 'classes'
                else 'a list of strings')
    if isinstance(p.default, str) and not p.choices:
        return 'a string'
    return describe_accepted(p.option)


def _ros_type_problem(p: Param, value: Any) -> Optional[str]:
    """Why value does not have p's ROS type (what rclpy refuses at runtime), or None."""
    default = p.default
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, (int, float)):
        ok = isinstance(value, type(default)) and not isinstance(value, bool)
    elif isinstance(default, str):
        ok = isinstance(value, str)
    else:
        ok = is_array(value) and all(isinstance(v, str) for v in value)
    if ok:
        return None
    hint = ''
    if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
        hint = f' (a double: write {float(value)!r})'
    elif isinstance(default, str) and isinstance(value, (int, float, bool)):
        hint = f""": quote it (-p {p.name}:="'{value}'", or {p.name}: '{value}' in YAML)"""
    shown = 'no value' if value is None else repr(value)
    return f'{p.name}={shown}: expected {_accepted_words(p)}{hint}'


def startup_values(overrides: Mapping[str, Any]) -> Dict[str, Any]:
    """
    Return every parameter's start-up value: its override (-p, params files) or its default.

    Each override gets the check a runtime `ros2 param set` gets (its ROS type, then
    check_value_of), then the rules between parameters (options_from). Raises
    ConfigurationError with one line naming the parameter, the value and what is accepted.

        >>> startup_values({'confidence': 0.5})['confidence']
        0.5
        >>> startup_values({'class_id_format': 'bogus'})
        Traceback (most recent call last):
        ...
        stream_infer.errors.ConfigurationError: class_id_format='bogus': expected one of: ...
    """
    values = {}
    for p in PARAMS:
        if p.name not in overrides:
            values[p.name] = p.default
            continue
        value = normalized_value(p.name, overrides[p.name])
        if is_array(value):
            value = list(value)
        reason = _ros_type_problem(p, value) or check_value_of(p.name, value)
        if reason is not None:
            raise ConfigurationError(reason)
        values[p.name] = value
    options_from(values)  # the rules between parameters, in parameter words
    return values


def foreign_names(names: Sequence[str]) -> List[str]:
    """Return the names that are no parameter of this node (typos), rclpy's own excepted."""
    return sorted(n for n in names if n not in BY_NAME and n not in RCLPY_PARAMETERS
                  and not n.startswith('qos_overrides.'))


def _in_parameter_words(message: str) -> str:
    """Name parameters, not option fields, in an option's error message."""
    for p in PARAMS:
        if p.field != p.name:  # 'initial_delay (10)', 'capture rules=...', not every 'rules'
            what = getattr(p.target, 'what', '')
            prefix = rf'(?:{what} )?' if what else ''
            message = re.sub(rf'\b{prefix}{p.field}\b(?=\s*[=(])', p.name, message)
    return message


def check_value_of(name: str, value: Any) -> Optional[str]:
    """Why value is not accepted for parameter name (None: accepted, or not ours)."""
    p = BY_NAME.get(name)
    if p is None:
        return None
    try:
        check_value(p.option, p.to_option(value))
    except ConfigurationError:
        none = None if p.ros_none is None else f'{p.ros_none!r} (unset)'
        return _in_parameter_words(f'{name}={value!r}: expected '
                                   f'{describe_accepted(p.option, none)}')
    return None


def options_from(values: Mapping[str, Any]) -> Dict[type, Any]:
    """
    Build every option object from parameter values {name: ROS value}.

    Raises ConfigurationError in parameter words when a value is not accepted, also for the
    rules between parameters.

    PostprocessOptions comes without classes (names are resolved against the model's).
    """
    fields_by_target: Dict[type, dict] = {}
    for p in PARAMS:
        if p.name in values and not (p.target is PostprocessOptions and p.field == 'classes'):
            fields_by_target.setdefault(p.target, {})[p.field] = p.to_option(values[p.name])
    try:
        built = {target: target(**kwargs) for target, kwargs in fields_by_target.items()}
        if CameraOptions in built and NodeOptions in built:
            node = built[NodeOptions]
            check_single_camera_parameters(
                built[CameraOptions], source=node.source, frame_id=node.frame_id,
                frame_id_default=NodeOptions.frame_id,
                credentials_file=node.source_credentials_file)
        return built
    except ConfigurationError as exc:
        raise ConfigurationError(_in_parameter_words(str(exc))) from None


def check_change(name: str, value: Any, state: str) -> Optional[str]:
    """
    Return why setting name=value is refused in lifecycle state, or None to accept it.

    The value check is the option's own; this adds the reload rules.
    """
    p = BY_NAME.get(name)
    if p is None:
        return None  # not ours (e.g. use_sim_time)
    reason = check_value_of(name, value)
    if reason is not None:
        return reason
    if p.kind == SOURCE and state == 'active':
        return (f'{name} cannot change while active: ros2 lifecycle set <node> deactivate, '
                f'ros2 param set <node> {name} ..., ros2 lifecycle set <node> activate')
    if p.kind == MODEL and state in ('inactive', 'active'):
        return (f'{name} needs the model reloaded: ros2 lifecycle set <node> deactivate (if '
                f'active), then cleanup, ros2 param set <node> {name} ..., then configure '
                'and activate')
    return None
