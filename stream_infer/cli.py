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
`stream-infer SOURCE [SOURCE ...]`: detections and tracks from cameras, files, URLs or images.

Writes JSON Lines (one Roboflow-style object per processed frame) and/or an annotated video,
shows progress on stderr and prints a short summary at the end. Several sources share one model
(NAME=SOURCE names one; unnamed ones are named by their position): each JSON line then carries
'source_id' (the index) and 'source' (the name), and --output out.mp4 writes one video per
source, out_<name>.mp4. Exit status: 0 done, 1 the stream ended on an error, 2 bad arguments,
source or model, 130 interrupted (Ctrl-C). `stream-infer quantize MODEL -o OUT.onnx --calibration
SRC` writes an INT8 model calibrated on SRC's frames (stream_infer/quantize/, doc/int8.md).
"""

import argparse
import logging
import os
from pathlib import Path
import re
import sys
from typing import Any, Dict, List, Optional, Sequence, Tuple

from stream_infer.annotate import FrameAnnotator
from stream_infer.capture.config import CaptureOptions, RULE_SYNTAX
from stream_infer.cli_report import Progress, Summary
from stream_infer.detection.preprocess import serial_opencv
from stream_infer.errors import ConfigurationError, StreamInferError
from stream_infer.lanes import NAME_PATTERN
from stream_infer.options import (
    DepthOptions, describe_accepted, ModelOptions, option_fields, PostprocessOptions,
    ReconnectPolicy, SourceOptions, TrackerOptions)
from stream_infer.results import StreamResult
from stream_infer.sinks import JsonLinesSink, VideoSink
from stream_infer.sources import redact
from stream_infer.sources.image_decoding import quiet_opencv_logs
from stream_infer.sources.rgbd_files import command_line_source
from stream_infer.stream import InferenceStream

PROG = 'stream-infer'
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


# Flags whose spelling differs from the option's name (the rest are --option-name).
FLAG_NAMES = {'iou_threshold': '--iou', 'class_agnostic': '--agnostic',
              'frame_rate': '--track-frame-rate', 'initial_delay': '--reconnect-delay',
              'max_delay': '--reconnect-max-delay', 'max_attempts': '--reconnect-attempts'}
# The option classes the CLI exposes, each as a flag group.
OPTION_GROUPS = (('model', ModelOptions), ('detections', PostprocessOptions),
                 ('tracking', TrackerOptions), ('source', SourceOptions),
                 ('connection (cameras and network streams)', ReconnectPolicy))
DEPTH_ROS_ONLY = ('depth_pairing_tolerance',)  # stamps: the CLI pairs depth files by order


def add_option_flags(group: argparse._ArgumentGroup, cls: type, prefix: str = '',
                     skip: Sequence[str] = ()) -> None:
    """
    One flag per option of cls, with its help, default and type taken from the option.

    prefix names the flags and their dests (prefix 'capture_': --capture-per-minute, dest
    capture_per_minute); skip: options the caller gives flags of its own.
    """
    for name, f in option_fields(cls).items():
        if name in skip:
            continue
        meta = f.metadata
        dest = prefix + name
        flag = FLAG_NAMES.get(name, '--' + name.replace('_', '-')) if not prefix \
            else '--' + dest.replace('_', '-')
        text = meta['help']
        if meta['kind'] is bool:  # a true default can be turned off: --no-<flag>
            action = argparse.BooleanOptionalAction if f.default else 'store_true'
            group.add_argument(flag, dest=dest, action=action, default=f.default, help=text)
        elif meta['kind'] is tuple:
            singular = name[:-2] if name.endswith('ses') else name.rstrip('s')
            group.add_argument(flag, dest=dest, nargs='+', default=f.default,
                               metavar=singular.upper(), help=text)
        else:
            kind = meta['kind']
            shown = '' if f.default is None else f' ({f.default})'
            group.add_argument(flag, dest=dest, type=kind, default=f.default,
                               metavar=name.split('_')[-1].upper(),
                               help=f'{text}{shown}; {describe_accepted(f, none=None)}'
                               if meta['bounds'] or meta['choices'] else f'{text}{shown}')


def option_values(args: argparse.Namespace, cls: type, prefix: str = '',
                  skip: Sequence[str] = ()) -> dict:
    """Return the values the parsed flags give the options of cls (see add_option_flags)."""
    return {name: getattr(args, prefix + name) for name in option_fields(cls)
            if name not in skip}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description='Detect and track objects in a camera, video file, stream URL '
        'or image (ONNX Runtime + ByteTrack).',
        epilog='examples: stream-infer clip.mp4 --output out.mp4 | stream-infer 0 --json - | '
        'stream-infer rtsp://user:pass@cam/stream --classes person car')
    parser.add_argument('source', nargs='+', metavar='SOURCE',
                        help="camera index (0) or 'webcam', video file, image file, or "
                        'rtsp/http(s) URL; several share one model, NAME=SOURCE names one; '
                        'with --depth: a folder of colour images or a video')
    parser.add_argument('--model', default=None,
                        help='ONNX model file (default: the bundled COCO-80 CenterNet model)')
    for title, cls in OPTION_GROUPS:
        add_option_flags(parser.add_argument_group(title), cls)
    parser.add_argument('--no-track', action='store_true', help='no ByteTrack tracking')
    parser.add_argument('--max-frames', type=int, default=None,
                        help='stop after N frames (of each source)')
    out = parser.add_argument_group('output')
    out.add_argument('--json', metavar='PATH|-', default=None,
                     help="JSON Lines, one object per processed frame ('-' = stdout)")
    out.add_argument('--output', metavar='VIDEO', default=None,
                     help='annotated video (boxes, labels with class/score/track id, traces); '
                     'several sources: one per source, VIDEO with _NAME before the suffix')
    out.add_argument('--quiet', action='store_true', help='no progress and no summary')
    out.add_argument('--verbose', '-v', action='store_true', help='log what the engine does')
    add_capture_flags(parser)
    depth = parser.add_argument_group('depth (recorded RGB-D: positions in metres)')
    depth.add_argument('--depth', metavar='DIR', default=None,
                       help='aligned depth files, 16-bit PNG (16UC1, units of --depth-scale) '
                       'or .npy (float32 metres), paired in sorted name order with SOURCE (a '
                       'folder of colour images or a video)')
    depth.add_argument('--intrinsics', metavar='FX,FY,CX,CY', default=None,
                       help="pinhole K of the depth images, in their pixels (or K's 9 values)")
    add_option_flags(depth, DepthOptions, skip=DEPTH_ROS_ONLY)
    return parser


NAMED_SOURCE = re.compile(rf'({NAME_PATTERN.pattern})=(.+)', re.DOTALL)


def source_arguments(values: List[str]) -> Tuple[Optional[str], Optional[Dict[str, str]]]:
    """
    Return (source, None) for one plain SOURCE, else (None, {name: source}).

    NAME=SOURCE names a source; the others are named by their position ('0', '1', ...).

        >>> source_arguments(['clip.mp4'])
        ('clip.mp4', None)
        >>> source_arguments(['front=rtsp://cam/a?x=1', 'clip.mp4'])
        (None, {'front': 'rtsp://cam/a?x=1', '1': 'clip.mp4'})
    """
    named = [NAMED_SOURCE.fullmatch(value) for value in values]
    if len(values) == 1 and named[0] is None:
        return values[0], None
    sources: Dict[str, str] = {}
    for index, (value, match) in enumerate(zip(values, named)):
        name, spec = (match.group(1), match.group(2)) if match else (str(index), value)
        if name in sources:
            raise ConfigurationError(f'source name {name!r} is given twice; each source needs '
                                     'its own NAME=')
        sources[name] = spec
    return None, sources


def video_paths(output: str, names: Tuple[str, ...]) -> List[Path]:
    """
    Return the annotated video path of each source: output itself for one, else out_NAME.mp4.

        >>> [str(p) for p in video_paths('out/run.mp4', ('front', 'rear'))]
        ['out/run_front.mp4', 'out/run_rear.mp4']
    """
    path = Path(output)
    if len(names) == 1 and not names[0]:
        return [path]
    return [path.with_name(f'{path.stem}_{name}{path.suffix}') for name in names]


# ---------------------------------------------------------------------- hard-example capture
CAPTURE_PREFIX = 'capture_'
CAPTURE_OWN_FLAGS = ('directory', 'rules', 'rules_file')  # --capture, --capture-rule(s)


def _rule_kinds_help() -> str:
    from stream_infer.capture.rule_set import RULE_KINDS
    from stream_infer.capture.rules import Rule
    common = list(option_fields(Rule))
    kinds = []
    for kind, cls in RULE_KINDS.items():
        own = [name for name in option_fields(cls) if name not in common]
        kinds.append(f'{kind} ({", ".join(own)})' if own else kind)
    return f'kinds: {"; ".join(kinds)}; every rule also takes {", ".join(common)}'


def add_capture_flags(parser: argparse.ArgumentParser) -> None:
    """Add the capture flags: --capture DIR, the rules, one flag per CaptureOptions field."""
    group = parser.add_argument_group(
        'capture (frames worth labelling saved as a YOLO dataset, the predictions as labels)')
    group.add_argument('--capture', metavar='DIR', default=None,
                       help='save the frames the rules pick to DIR (a batch folder per UTC '
                       'day: images/, labels/, data.yaml, manifest.jsonl); without rule flags '
                       'the default rules: ' + ', '.join(CaptureOptions().rules))
    group.add_argument('--capture-rule', metavar='SPEC', action='append', default=None,
                       help=f'a sampling rule, {RULE_SYNTAX}, e.g. new_track or '
                       f'count:at_least=5,classes=person; repeat for more (replaces the '
                       f'default rules); {_rule_kinds_help()}')
    group.add_argument('--capture-rules', metavar='YAML', default=None,
                       help='a YAML file with a list of rules (specs or mappings with a kind '
                       'key; replaces the default rules)')
    add_option_flags(group, CaptureOptions, CAPTURE_PREFIX, CAPTURE_OWN_FLAGS)


def open_capture(args: argparse.Namespace, stream: InferenceStream) -> Optional[Any]:
    """Return the CaptureSink the capture flags ask for (None without --capture)."""
    if not args.capture:
        if args.capture_rule or args.capture_rules:
            raise ConfigurationError('--capture-rule and --capture-rules need --capture DIR')
        return None
    if args.capture_rule and args.capture_rules:
        raise ConfigurationError('give either --capture-rule or --capture-rules, not both')
    values = option_values(args, CaptureOptions, CAPTURE_PREFIX, CAPTURE_OWN_FLAGS)
    values.update(directory=args.capture, rules_file=args.capture_rules)
    if args.capture_rule:
        values['rules'] = tuple(args.capture_rule)
    from stream_infer.capture import CaptureSink
    return CaptureSink.from_options(CaptureOptions(**values), stream.class_names,
                                    source=redact(stream.source_description))


def _classes(values: Optional[List[str]]) -> Optional[list]:
    if not values:
        return None
    out: list = []
    for value in values:
        for part in value.split(','):
            part = part.strip()
            if part:
                out.append(int(part) if part.isdigit() else part)
    return out or None


def _error(message: Any) -> int:
    print(f'{PROG}: error: {redact(str(message)).splitlines()[0]}', file=sys.stderr)
    return EXIT_USAGE


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point of the `stream-infer` console script (`stream-infer quantize ...` too)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ['quantize']:  # a subcommand (a source file named so: ./quantize)
        from stream_infer.quantize.command import main as quantize_main
        return quantize_main(argv[1:])
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format=f'{PROG}: %(levelname)s: %(message)s', stream=sys.stderr)
    if args.max_frames is not None and args.max_frames < 1:
        return _error(f'--max-frames must be >= 1, got {args.max_frames}')
    serial_opencv()  # the engine's threads already run beside the model
    quiet_opencv_logs()  # every reconnect is logged here, with its reason
    post = option_values(args, PostprocessOptions)
    post['classes'] = _classes(post['classes'])
    model = option_values(args, ModelOptions)
    try:
        ModelOptions(**model)  # one line naming a bad --layout or --threads
        source, sources = source_arguments(args.source) if args.depth is None else (
            command_line_source(args.source, args.depth, args.intrinsics, args.loop,
                                args.enforce_fps), None)  # recorded RGB-D files
        stream = InferenceStream(
            source, args.model, sources=sources, **post, track=not args.no_track,
            tracker_options=option_values(args, TrackerOptions),
            **option_values(args, SourceOptions), max_frames=args.max_frames,
            reconnect=ReconnectPolicy(**option_values(args, ReconnectPolicy)),
            providers=model['providers'], threads=model['threads'], labels=model['labels'],
            max_batch=model['max_batch'],
            depth_options=option_values(args, DepthOptions, skip=DEPTH_ROS_ONLY),
            detector_kwargs={'layout': model['layout'], 'spin_wait': model['spin_wait']})
    except (StreamInferError, ValueError, OSError) as exc:
        return _error(exc)
    try:
        return _run(stream, args)
    finally:
        stream.close()


def _videos(stream: InferenceStream, output: str) -> List[VideoSink]:
    """One annotated video per source (each with its own annotator: traces are per source)."""
    return [VideoSink(path, source.fps, FrameAnnotator(class_names=stream.class_names))
            for path, source in zip(video_paths(output, stream.source_names), stream.sources)]


def _run(stream: InferenceStream, args: argparse.Namespace) -> int:
    json_out: Optional[JsonLinesSink] = None
    videos: List[VideoSink] = []
    capture = None
    try:
        capture = open_capture(args, stream)
        if args.output:
            videos = _videos(stream, args.output)
        if args.json:
            json_out = JsonLinesSink(sys.stdout if args.json == '-' else args.json)
    except (ValueError, OSError) as exc:
        if capture is not None:
            capture.close()
        return _error(exc)
    report = sys.stderr if args.json == '-' else sys.stdout
    summary = Summary()
    show_progress = not args.quiet and any(s.kind != 'image' for s in stream.sources)
    counts = [source.frame_count for source in stream.sources]
    total = None if args.loop or None in counts else sum(counts)
    progress = Progress(stream, total, sys.stderr)

    def on_result(result: StreamResult) -> None:
        summary.add(result)
        if json_out is not None:
            json_out(result)
        if videos and not videos[result.source_index].write(result):
            stream.stop()
        if show_progress:
            progress.update()

    stream.on_result(on_result)
    if capture is not None:
        stream.on_result(capture)
    code = EXIT_OK
    try:
        stream.run()
    except StreamInferError as exc:  # the source could not be opened
        return _error(exc)
    except KeyboardInterrupt:
        code = EXIT_INTERRUPTED
    finally:
        if json_out is not None:
            json_out.close()
        for video in videos:
            video.close()
        if capture is not None:
            capture.close()
        if show_progress:
            progress.update(force=progress.shown)
            progress.finish()
    for video in videos:
        if video.error:
            return _error(video.error)
    # a source that failed (reconnect attempts spent, a bad file mid-run) ended on an error
    error = stream.error or next((s.last_error or 'failed' for s in stream.sources
                                  if s.state == 'failed'), None)
    if error and code == EXIT_OK:
        print(f'{PROG}: error: the stream ended on an error: {redact(str(error))}',
              file=sys.stderr)
        code = EXIT_FAILED
    if not args.quiet:
        for line in summary.lines(stream):
            print(line, file=report)
        for video in videos:
            print(f'annotated video: {video.path} ({video.frames} frames)', file=report)
        if args.json and args.json != '-':
            print(f'json lines: {os.fspath(args.json)}', file=report)
        if capture is not None:
            print(f'capture: {capture.stats().summary()}', file=report)
    return code


if __name__ == '__main__':
    sys.exit(main())
