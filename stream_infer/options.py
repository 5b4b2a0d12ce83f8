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
Every tunable option of the engine, defined once: default, meaning, accepted values.

Each option is a field of a frozen dataclass declared with option(): its default, a help text
and what it accepts (a range, a lower bound, choices, None allowed). The dataclass checks
itself on construction (check_options), so an options object that exists is valid, and every
interface derives from these fields instead of repeating them: the InferenceStream keywords,
the CLI flags (stream_infer.cli), the ROS parameter table (stream_infer.ros.parameters) and
config/stream_infer.yaml (kept in step by a test). Import-light on purpose: no numpy, OpenCV or
onnxruntime, so the ROS parameter table and launch files can import it cheaply.

    >>> from stream_infer.options import PostprocessOptions, updated
    >>> options = PostprocessOptions(confidence=0.5)
    >>> updated(options, iou_threshold=0.6).iou_threshold
    0.6
"""

from dataclasses import dataclass, Field, field, fields, replace
import math
import numbers
from typing import Any, ClassVar, Mapping, Optional, Sequence, Tuple, TypeVar

from stream_infer.errors import ConfigurationError

T = TypeVar('T')

LAYOUTS = ('auto', 'yolov8', 'yolov5', 'end2end')
RTSP_TRANSPORTS = ('auto', 'tcp', 'udp')
CHANNEL_ORDERS = ('BGR', 'RGB')


def option(default: Any, help: str, *, bounds: Optional[Tuple[Any, Any]] = None,  # noqa: A002
           above: Optional[float] = None, choices: Optional[Sequence[str]] = None,
           optional: bool = False, kind: Optional[type] = None) -> Field:
    """
    Declare one option: its default, what it means, and what it accepts.

    bounds: inclusive (low, high) range (either may be None); above: exclusive lower bound;
    choices: accepted strings; optional: None is accepted too (and means what help says);
    kind: the value type when the default does not show it (a None default).
    """
    return field(default=default, metadata={
        'help': help, 'bounds': bounds, 'above': above, 'choices': tuple(choices or ()),
        'optional': optional, 'kind': kind or type(default)})


def describe_accepted(f: Field, none: Optional[str] = 'None') -> str:
    """
    Say in words what an option accepts ('a number in [0, 1]', 'one of: a, b').

    none: how the interface spells an unset optional value (None: do not mention it).
    """
    meta = f.metadata
    kind = meta['kind']
    if meta['choices']:
        text = 'one of: ' + ', '.join(meta['choices'])
    elif kind is bool:
        text = 'true or false'
    else:
        low, high = meta['bounds'] or (None, None)
        text = 'an integer' if kind is int else 'a number' if high is not None \
            else 'a finite number'  # inf is refused too (check_value)
        if meta['above'] is not None:
            text += f' > {meta["above"]:g}' + ('' if high is None else f' and <= {high:g}')
        elif low is not None and high is not None:
            text += f' in [{low:g}, {high:g}]'
        elif low is not None:
            text += f' >= {low:g}'
    if meta['optional'] and none is not None:
        text += f', or {none}'
    return text


def check_value(f: Field, value: Any) -> Any:
    """Return value (ints given for floats become floats) or raise ConfigurationError."""
    meta = f.metadata
    kind = meta['kind']
    if value is None and meta['optional']:
        return None
    ok = False
    if kind is bool:
        ok = isinstance(value, bool)
    elif kind in (int, float):
        wanted = numbers.Integral if kind is int else numbers.Real
        # NaN and +-inf are refused for every number option: no option gives them a meaning
        # (an infinite timeout, budget or free-space floor is a typo or an attack, not a wish)
        ok = isinstance(value, wanted) and not isinstance(value, bool) and math.isfinite(value)
        if ok:
            value = kind(value)
            low, high = meta['bounds'] or (None, None)
            ok = ((low is None or value >= low) and (high is None or value <= high)
                  and (meta['above'] is None or value > meta['above']))
    elif meta['choices']:
        ok = isinstance(value, str) and value in meta['choices']
    else:
        return value  # free-form (paths, names): the consumer checks what it means
    if not ok:
        raise ConfigurationError(f'{f.name}={value!r}: expected {describe_accepted(f)}')
    return value


def check_options(owner: Any, skip: Sequence[str] = ()) -> None:
    """Check every option field of a frozen dataclass instance, normalising ints to floats."""
    for f in fields(owner):
        if f.name in skip or 'help' not in f.metadata:
            continue
        value = check_value(f, getattr(owner, f.name))
        object.__setattr__(owner, f.name, value)


def option_fields(cls: type) -> dict:
    """Return {name: Field} of the options of an options dataclass, in declaration order."""
    return {f.name: f for f in fields(cls) if 'help' in f.metadata}


def updated(options: T, **changes: Any) -> T:
    """Return a copy of options with changes; unknown names or bad values raise, change nothing."""
    accepted = list(option_fields(type(options)))
    unknown = sorted(set(changes) - set(accepted))
    if unknown:
        what = getattr(options, 'what', '')
        raise ConfigurationError(f'unknown {what + " " if what else ""}option(s) {unknown}; '
                                 f'accepted: {accepted}')
    return replace(options, **changes)


def from_mapping(cls: type, values: Optional[Mapping[str, Any]] = None) -> Any:
    """Build cls from a mapping of its option names (unknown names raise, naming the accepted)."""
    if isinstance(values, cls):
        return values
    return updated(cls(), **dict(values or {}))


@dataclass(frozen=True)
class PostprocessOptions:
    """
    Thresholds and limits applied after the model, on every frame.

    Replace the whole object to change them (updated()); the stream reads it once per frame.

        >>> PostprocessOptions(confidence=0.5, classes=[0, 2]).classes
        (0, 2)
    """

    what: ClassVar[str] = ''  # names it in errors

    confidence: float = option(0.3, 'minimum detection score', bounds=(0.0, 1.0))
    iou_threshold: float = option(
        0.45, 'IoU above which NMS suppresses the lower-scored box', bounds=(0.0, 1.0))
    class_agnostic: bool = option(False, 'NMS across classes instead of per class')
    max_candidates: int = option(300, 'top-k boxes by score kept before NMS',
                                 bounds=(1, 100000))
    max_detections: int = option(100, 'most detections per frame, after NMS',
                                 bounds=(1, 10000))
    classes: Optional[tuple] = option(
        None, 'keep only these classes, by name or index (the stream resolves names to '
        'indices); unset: all classes', optional=True, kind=tuple)

    def __post_init__(self) -> None:
        check_options(self, skip=('classes',))
        if self.classes is not None:
            classes = (self.classes,) if isinstance(self.classes, numbers.Integral) \
                else tuple(self.classes)
            if not all(isinstance(c, numbers.Integral) and not isinstance(c, bool) and c >= 0
                       for c in classes):
                raise ConfigurationError(
                    f'classes={self.classes!r}: expected class indices (ints >= 0) or None; '
                    'turn names into indices with Detector.resolve_classes')
            object.__setattr__(self, 'classes', tuple(int(c) for c in classes))


@dataclass(frozen=True)
class TrackerOptions:
    """
    ByteTrack parameters (the names sv.ByteTrack uses).

        >>> TrackerOptions(lost_track_buffer=60).frame_rate
        30.0
    """

    what: ClassVar[str] = 'tracker'  # names it in errors

    track_activation_threshold: float = option(
        0.25, 'score a detection needs to start a track', bounds=(0.0, 1.0))
    lost_track_buffer: int = option(
        30, 'frames a lost track is kept for re-association', bounds=(1, 10000))
    minimum_matching_threshold: float = option(
        0.8, 'matching threshold (1 - IoU cost)', bounds=(0.0, 1.0))
    frame_rate: float = option(30.0, 'expected frame rate (scales lost_track_buffer)',
                               bounds=(None, 1000.0), above=0.0)
    minimum_consecutive_frames: int = option(
        1, 'frames a track must be seen before it gets an id', bounds=(1, 1000))

    def __post_init__(self) -> None:
        check_options(self)


@dataclass(frozen=True)
class ReconnectPolicy:
    """
    How live and network sources connect, and recover from failures and stalls.

    The delay before attempt k is initial_delay * 2**k, capped at max_delay; max_attempts None
    means forever. open_timeout and read_timeout bound network opens and reads: a read that
    gets no data for read_timeout is a stall and triggers a reconnect. A TCP stream's server is
    probed every probe_interval while waiting, so a server that comes back is reconnected to
    within about probe_interval plus its open time, whatever the backoff has grown to.
    rtsp_transport and rtsp_low_latency choose FFmpeg's options for rtsp:// streams (doc/rtsp.md).

        >>> [ReconnectPolicy(initial_delay=0.5, max_delay=1.5).delay(k) for k in range(3)]
        [0.5, 1.0, 1.5]
    """

    what: ClassVar[str] = 'reconnect'  # names it in errors

    initial_delay: float = option(0.5, 'first reconnect delay after a failure or stall, '
                                  'seconds (doubles up to max_delay)',
                                  bounds=(None, 60.0), above=0.0)
    max_delay: float = option(5.0, 'longest delay between reconnect attempts, seconds',
                              bounds=(None, 600.0), above=0.0)
    max_attempts: Optional[int] = option(None, 'reconnect attempts before giving up; unset: '
                                         'forever', bounds=(1, None), optional=True, kind=int)
    open_timeout: float = option(10.0, 'network sources: longest wait to open, seconds',
                                 above=0.0)
    read_timeout: float = option(5.0, 'network sources: seconds without data that count as '
                                 'a stall; also while opening, so a server that accepts the '
                                 'connection and sends nothing is reported and retried after '
                                 'this long', above=0.0)
    wait_for_source: bool = option(False, 'cameras and network streams: when the first open '
                                   'fails, keep retrying with the same backoff (state '
                                   'reconnecting) instead of failing; the first open then '
                                   'happens on the capture thread, so start() never blocks '
                                   'on it')
    probe_interval: float = option(0.25, 'TCP network streams (rtsp, http, rtmp...): while '
                                   'waiting to reconnect, check this often (a plain TCP '
                                   'connect) whether the server is back, and reconnect at '
                                   'once when it is', bounds=(None, 60.0), above=0.0)
    rtsp_transport: str = option('auto', 'rtsp:// streams: RTP over the RTSP TCP connection '
                                 '(tcp: passes firewalls and NAT, no losses), over UDP (udp: '
                                 'no head-of-line blocking; losses show as smeared frames), or '
                                 "auto (FFmpeg's default: UDP, then TCP when UDP fails)",
                                 choices=RTSP_TRANSPORTS)
    rtsp_low_latency: bool = option(True, 'rtsp:// streams: probe only what the server '
                                    'announces and hand out each frame as soon as it is '
                                    "decoded (false: FFmpeg's defaults, which buffer about a "
                                    'second of frames at every (re)connect)')

    def __post_init__(self) -> None:
        check_options(self)
        if self.max_delay < self.initial_delay:
            raise ConfigurationError(f'max_delay ({self.max_delay:g}) must be >= initial_delay '
                                     f'({self.initial_delay:g})')

    def delay(self, attempt: int) -> float:
        """Seconds to wait before reconnect attempt number attempt (0-based)."""
        return min(self.max_delay, self.initial_delay * (2.0 ** min(attempt, 60)))


@dataclass(frozen=True)
class SourceOptions:
    """
    How a video file is played (cameras and streams are always live).

        >>> SourceOptions(enforce_fps=True).loop
        False
    """

    what: ClassVar[str] = 'source'  # names it in errors

    enforce_fps: bool = option(False, 'play video files at their frame rate like a live camera '
                               '(frames the model cannot keep up with are dropped); false = '
                               'every frame, as fast as possible')
    loop: bool = option(False, 'start video files again at their end')

    def __post_init__(self) -> None:
        check_options(self)


@dataclass(frozen=True)
class DecodeOptions:
    """
    Limits on encoded images from outside (compressed image messages, image files).

        >>> DecodeOptions().max_image_pixels > 7680 * 4320   # well above 8K
        True
    """

    what: ClassVar[str] = 'decode'  # names it in errors

    max_image_pixels: int = option(
        50_000_000, 'largest image accepted, in pixels (width x height as its header declares '
        'them): larger ones are refused before decoding, so a small file declaring a huge size '
        'cannot exhaust memory', bounds=(1, 2_000_000_000))

    def __post_init__(self) -> None:
        check_options(self)


@dataclass(frozen=True)
class ModelOptions:
    """
    What the Detector loads and how it runs it (ONNX models).

        >>> ModelOptions(providers=('cuda', 'cpu')).threads is None
        True
    """

    what: ClassVar[str] = 'model'  # names it in errors

    layout: str = option('auto', 'model output layout', choices=LAYOUTS)
    providers: tuple = option(('CPUExecutionProvider',), 'ONNX Runtime execution providers in '
                              'order of preference (CUDA, TensorRT, OpenVINO, CoreML, CPU); '
                              'unavailable ones are skipped with a warning')
    threads: Optional[int] = option(None, "ONNX Runtime intra-op threads; unset: onnxruntime's "
                                    'default (all cores)', bounds=(1, 256), optional=True,
                                    kind=int)
    labels: Optional[str] = option(None, 'class names file (txt, one per line, or yaml); unset: '
                                   'from the model metadata', optional=True, kind=str)
    max_batch: Optional[int] = option(
        None, 'several sources: most frames per model run when the model takes a batch (a '
        "dynamic or fixed batch axis); unset: the model's fixed batch, or 8 when it is "
        'dynamic; 1 = one frame per run', bounds=(1, 256), optional=True, kind=int)
    spin_wait: bool = option(False, 'ONNX Runtime threads busy-wait for work between operators '
                             'and runs (its own default): a little faster on an idle machine, '
                             'but they keep cores from decoding, tracking and other processes')

    def __post_init__(self) -> None:
        check_options(self, skip=('labels',))


@dataclass(frozen=True)
class DepthOptions:
    """
    How 3D boxes are estimated from an aligned depth image (stream_infer.depth).

    The depth image is sampled on a grid over each box's central region (or its mask); the
    given percentile of the valid samples is the object's distance. pairing_tolerance is for
    the ROS node, which pairs colour and depth images by stamp.

        >>> DepthOptions().depth_scale
        0.001
    """

    what: ClassVar[str] = 'depth'  # names it in errors

    depth_scale: float = option(0.001, 'metres per unit of an integer depth image (16UC1 in '
                                'millimetres: 0.001); float depth (32FC1) is in metres',
                                above=0.0)
    depth_min: float = option(0.1, 'nearest valid depth, metres (zeros, NaN/inf and values '
                              'outside depth_min..depth_max are ignored)', above=0.0)
    depth_max: float = option(20.0, 'farthest valid depth, metres', above=0.0)
    depth_percentile: float = option(
        50.0, "percentile of the valid depths in a box taken as the object's distance (lower: "
        'nearer surfaces win over background seen through the box)', bounds=(0.0, 100.0))
    depth_central_fraction: float = option(
        0.5, "fraction of the box's width and height, around its centre, that is sampled "
        '(keeps background at the edges out; a mask, when the model gives one, is used '
        'instead)', bounds=(None, 1.0), above=0.0)
    depth_min_valid_pixels: int = option(
        20, 'fewest valid depth pixels a box needs (estimated from the sampled fraction); '
        'fewer: the detection stays 2D only, counted', bounds=(1, None))
    depth_pairing_tolerance: float = option(
        0.02, 'ROS: colour and depth images pair when their stamps differ by at most this '
        'many seconds (nearest wins; 0: exact stamps only)', bounds=(0.0, 10.0))

    def __post_init__(self) -> None:
        check_options(self)
        if self.depth_max <= self.depth_min:
            raise ConfigurationError(f'depth_max ({self.depth_max:g}) must be > depth_min '
                                     f'({self.depth_min:g})')


__all__ = ['CHANNEL_ORDERS', 'DecodeOptions', 'DepthOptions', 'LAYOUTS', 'ModelOptions',
           'PostprocessOptions', 'ReconnectPolicy', 'RTSP_TRANSPORTS', 'SourceOptions',
           'TrackerOptions', 'check_options', 'check_value', 'describe_accepted', 'from_mapping',
           'option', 'option_fields', 'updated']
