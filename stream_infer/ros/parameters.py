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
The node's parameters: one table with defaults, descriptions, ranges and when each may change.

Three kinds (see README 'Parameters'):
- live: thresholds and options applied from the next frame, at any time;
- source: how frames arrive; changeable unless the node is active (activate reopens);
- model: what configure loads; changeable only while unconfigured (cleanup releases the model).
config/stream_infer.yaml lists every parameter with its default; a test keeps the two in step.
"""

from dataclasses import dataclass
from typing import Any, Optional, Sequence, Tuple

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor

LIVE, SOURCE, MODEL = 'live', 'source', 'model'


@dataclass(frozen=True)
class Param:
    """One declared parameter: default (its type is the ROS type), meaning, range and kind."""

    name: str
    default: Any
    description: str
    kind: str = LIVE
    bounds: Optional[Tuple[float, float]] = None
    choices: Optional[Sequence[str]] = None


PARAMS = (
    # lifecycle
    Param('autostart', True, 'Configure and activate by itself at start-up (false: drive it with '
          '`ros2 lifecycle set`).', SOURCE),
    # input
    Param('source', '', 'Frames to open: camera index (0), "webcam", a video file, or an '
          'rtsp/http(s) URL. Empty = subscribe to the `image` topic instead.', SOURCE),
    Param('image_transport', 'raw', 'Topic mode: "raw" subscribes to `image` '
          '(sensor_msgs/Image), "compressed" to `image/compressed` (JPEG/PNG).', SOURCE,
          choices=('raw', 'compressed')),
    Param('image_reliability', 'best_effort', 'Topic mode subscription reliability; '
          'best_effort (REP-2003 sensor data) matches every camera driver.', SOURCE,
          choices=('best_effort', 'reliable')),
    Param('frame_id', 'camera', 'frame_id stamped on frames the node opens itself (source mode).',
          SOURCE),
    Param('publish_source_image', False, 'Source mode: republish every captured frame on '
          '`image_raw` (bgr8, capture-time stamp, frame_id).', SOURCE),
    Param('enforce_fps', True, 'Source mode, video files: play at the file frame rate like a live '
          'camera (frames the model cannot keep up with are dropped). false = every frame, '
          'as fast as possible.', SOURCE),
    Param('loop', False, 'Source mode, video files: start again at the end instead of stopping.',
          SOURCE),
    Param('reconnect_delay', 0.5, 'Live/network sources: first reconnect delay after a failure '
          'or stall, seconds (doubles up to reconnect_max_delay).', SOURCE, bounds=(0.01, 60.0)),
    Param('reconnect_max_delay', 5.0, 'Live/network sources: longest delay between reconnect '
          'attempts, seconds.', SOURCE, bounds=(0.01, 600.0)),
    # model
    Param('model', '', 'ONNX model path; empty = the bundled COCO-80 CenterNet model.', MODEL),
    Param('labels', '', 'Class names file (txt one per line, or yaml); empty = from the model '
          'metadata, else the index.', MODEL),
    Param('layout', 'auto', 'Model output layout.', MODEL,
          choices=('auto', 'yolov8', 'yolov5', 'end2end')),
    Param('providers', ['CPUExecutionProvider'], 'ONNX Runtime execution providers in order of '
          'preference (CUDA, TensorRT, OpenVINO, CoreML, CPU); unavailable ones are skipped '
          'with a warning.', MODEL),
    Param('threads', 0, 'ONNX Runtime intra-op threads; 0 = its default.', MODEL,
          bounds=(0, 256)),
    # detection thresholds (live)
    Param('confidence', 0.3, 'Minimum detection score.', bounds=(0.0, 1.0)),
    Param('iou_threshold', 0.45, 'IoU above which NMS suppresses the lower-scored box.',
          bounds=(0.0, 1.0)),
    Param('class_agnostic_nms', False, 'NMS across classes instead of per class.'),
    Param('max_candidates', 300, 'Top-k boxes by score kept before NMS.', bounds=(1, 100000)),
    Param('max_detections', 100, 'Most detections published per frame, after NMS.',
          bounds=(1, 10000)),
    Param('classes', [''], 'Keep only these classes (names or indices); [""] or [] = all.'),
    Param('class_id_format', 'index', 'Detection class_id: "index" (numeric, mapped to names '
          'by `label_info`) or "name".', choices=('index', 'name')),
    # tracking (live; changing any resets the tracker)
    Param('tracking', True, 'ByteTrack: Detection2D.id = track id (empty when untracked).'),
    Param('track_activation_threshold', 0.25, 'ByteTrack: score needed to start a track.',
          bounds=(0.0, 1.0)),
    Param('lost_track_buffer', 30, 'ByteTrack: frames a lost track is kept for re-association.',
          bounds=(1, 10000)),
    Param('minimum_matching_threshold', 0.8, 'ByteTrack: matching threshold (1 - IoU cost).',
          bounds=(0.0, 1.0)),
    Param('minimum_consecutive_frames', 1, 'ByteTrack: frames before a track gets an id.',
          bounds=(1, 1000)),
    Param('track_frame_rate', 30, 'ByteTrack: expected frame rate, scales lost_track_buffer.',
          bounds=(1, 1000)),
    # outputs (live)
    Param('annotated_traces', True, '`annotated`: draw track traces.'),
    Param('annotated_trace_length', 30, '`annotated`: trace length in frames.', bounds=(1, 1000)),
    Param('annotated_labels', True, '`annotated`: draw class, score and track id labels.'),
    Param('diagnostics_period', 1.0, 'Seconds between /diagnostics messages.',
          bounds=(0.1, 60.0)),
)
BY_NAME = {p.name: p for p in PARAMS}


def descriptor(p: Param) -> ParameterDescriptor:
    """Describe p for `ros2 param describe`: meaning, range and when it may change."""
    when = {LIVE: 'applied from the next frame',
            SOURCE: 'changeable while not active (deactivate, set, activate)',
            MODEL: 'changeable while unconfigured (deactivate, cleanup, set, configure)'}[p.kind]
    text = f'{p.description} [{when}]'
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


def check_change(name: str, value: Any, state: str) -> Optional[str]:
    """
    Return why setting name=value is refused in lifecycle state, or None to accept it.

    Ranges are enforced by the descriptors; this adds choices and the reload rules.
    """
    p = BY_NAME.get(name)
    if p is None:
        return None  # not ours (e.g. use_sim_time)
    if p.choices and value not in p.choices:
        return f'{name}={value!r} is not accepted; use one of: {", ".join(p.choices)}'
    if name == 'reconnect_delay' and value <= 0:
        return 'reconnect_delay must be > 0'
    if p.kind == SOURCE and state == 'active':
        return (f'{name} cannot change while active: ros2 lifecycle set <node> deactivate, '
                f'ros2 param set <node> {name} ..., ros2 lifecycle set <node> activate')
    if p.kind == MODEL and state in ('inactive', 'active'):
        return (f'{name} needs the model reloaded: ros2 lifecycle set <node> deactivate (if '
                f'active), then cleanup, ros2 param set <node> {name} ..., then configure '
                'and activate')
    return None


def class_filter(values: Sequence[str]) -> Optional[list]:
    """Parameter `classes` -> names/indices for Detector.resolve_classes (None = all)."""
    out = []
    for v in values:
        v = str(v).strip()
        if v:
            out.append(int(v) if v.lstrip('-').isdigit() else v)
    return out or None
