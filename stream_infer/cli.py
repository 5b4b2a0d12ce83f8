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
`stream-infer SOURCE`: detections and tracks from a camera, file, URL or image, without ROS.

Writes JSON Lines (one Roboflow-style object per processed frame) and/or an annotated video,
shows progress on stderr and prints a short summary at the end. Exit status: 0 done, 1 the
stream ended on an error, 2 bad arguments, source or model, 130 interrupted (Ctrl-C).
"""

import argparse
from collections import Counter
import json
import logging
import os
from pathlib import Path
import sys
import time
from typing import Any, List, Optional, TextIO

import cv2

from stream_infer.annotate import FrameAnnotator
from stream_infer.errors import StreamInferError
from stream_infer.sources import redact
from stream_infer.stream import InferenceStream, StreamResult

PROG = 'stream-infer'
VIDEO_CODECS = {'.mp4': 'mp4v', '.m4v': 'mp4v', '.mov': 'mp4v', '.avi': 'MJPG', '.mkv': 'MJPG'}
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description='Detect and track objects in a camera, video file, stream URL '
        'or image (ONNX Runtime + ByteTrack).',
        epilog='examples: stream-infer clip.mp4 --output out.mp4 | stream-infer 0 --json - | '
        'stream-infer rtsp://user:pass@cam/stream --classes person car')
    parser.add_argument('source', help="camera index (0) or 'webcam', video file, image "
                        'file, or rtsp/http(s) URL')
    model = parser.add_argument_group('model')
    model.add_argument('--model', default=None,
                       help='ONNX model file (default: the bundled COCO-80 CenterNet model)')
    model.add_argument('--labels', default=None, help='class names file (default: from the '
                       'model metadata)')
    model.add_argument('--providers', nargs='+', default=['CPUExecutionProvider'],
                       metavar='PROVIDER', help='ONNX Runtime execution providers in order of '
                       'preference (e.g. cuda cpu)')
    model.add_argument('--threads', type=int, default=None,
                       help='ONNX Runtime intra-op threads (default: its own choice)')
    post = parser.add_argument_group('detections')
    post.add_argument('--confidence', type=float, default=0.3, help='minimum score (0.3)')
    post.add_argument('--iou', type=float, default=0.45, help='NMS IoU threshold (0.45)')
    post.add_argument('--agnostic', action='store_true', help='class-agnostic NMS')
    post.add_argument('--max-candidates', type=int, default=300,
                      help='top-k boxes before NMS (300)')
    post.add_argument('--max-detections', type=int, default=100,
                      help='most detections per frame (100)')
    post.add_argument('--classes', nargs='+', default=None, metavar='CLASS',
                      help='keep only these classes: names or indices (e.g. person 2)')
    post.add_argument('--no-track', action='store_true', help='no ByteTrack tracking')
    src = parser.add_argument_group('source')
    src.add_argument('--enforce-fps', action='store_true', help='play video files in real '
                     'time, dropping frames the model cannot keep up with')
    src.add_argument('--loop', action='store_true', help='restart video files at the end')
    src.add_argument('--max-frames', type=int, default=None, help='stop after N frames')
    out = parser.add_argument_group('output')
    out.add_argument('--json', metavar='PATH|-', default=None,
                     help="JSON Lines, one object per processed frame ('-' = stdout)")
    out.add_argument('--output', metavar='VIDEO', default=None,
                     help='annotated video (boxes, labels with class/score/track id, traces)')
    out.add_argument('--quiet', action='store_true', help='no progress and no summary')
    out.add_argument('--verbose', '-v', action='store_true', help='log what the engine does')
    return parser


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


class VideoOutput:
    """Annotated frames to a video file, opened on the first frame (its size)."""

    def __init__(self, path: str, fps: Optional[float], annotator: FrameAnnotator) -> None:
        self.path = Path(path)
        suffix = self.path.suffix.lower()
        if suffix not in VIDEO_CODECS:
            raise ValueError(f'--output {path}: unsupported video type {suffix or "(none)"!r}; '
                             f'accepted: {", ".join(sorted(VIDEO_CODECS))}')
        if not self.path.parent.is_dir():
            raise ValueError(f'--output {path}: directory {self.path.parent} does not exist')
        self.fourcc = cv2.VideoWriter_fourcc(*VIDEO_CODECS[suffix])
        self.fps = fps or 10.0
        self.annotator = annotator
        self.writer: Optional[cv2.VideoWriter] = None
        self.error = ''
        self.frames = 0

    def write(self, result: StreamResult) -> bool:
        image = self.annotator.annotate(result.frame.image, result.detections)
        if self.writer is None:
            height, width = image.shape[:2]
            self.writer = cv2.VideoWriter(str(self.path), self.fourcc, self.fps, (width, height))
            if not self.writer.isOpened():
                self.error = f'cannot write video {self.path} ({width}x{height})'
                return False
        self.writer.write(image)
        self.frames += 1
        return True

    def close(self) -> None:
        if self.writer is not None:
            self.writer.release()


class Progress:
    """One status line on stderr about once a second (rewritten in place on a terminal)."""

    def __init__(self, stream: InferenceStream, total: Optional[int], out: TextIO) -> None:
        self.stream = stream
        self.total = total
        self.out = out
        self.tty = out.isatty()
        self.last = time.monotonic()
        self.shown = False

    def update(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last < 1.0:
            return
        self.last = now
        stats = self.stream.stats()
        done = f'{stats.frames_processed}'
        if self.total:
            done += f'/{self.total} ({100.0 * stats.frames_processed / self.total:.0f}%)'
        fps = stats.processed_fps or stats.mean_processed_fps
        line = (f'frames {done}  {fps:.1f} fps  dropped {stats.frames_dropped}  '
                f'age {stats.age_ms.p50:.0f} ms')
        if self.tty:
            self.out.write('\r' + line.ljust(70))
        else:
            self.out.write(line + '\n')
        self.out.flush()
        self.shown = True

    def finish(self) -> None:
        if self.shown and self.tty:
            self.out.write('\n')
            self.out.flush()


class Summary:
    """Counts what was seen: detections per class and tracks (with their first class)."""

    def __init__(self) -> None:
        self.per_class: Counter = Counter()
        self.tracks: dict = {}

    def add(self, result: StreamResult) -> None:
        detections = result.detections
        if not len(detections):
            return
        names = detections.data.get('class_name')
        names = [str(n) for n in names] if names is not None \
            else [str(c) for c in detections.class_id]
        self.per_class.update(names)
        if detections.tracker_id is not None:
            for track, name in zip(detections.tracker_id.tolist(), names):
                if track >= 0:
                    self.tracks.setdefault(track, name)

    def lines(self, stream: InferenceStream) -> List[str]:
        stats = stream.stats()
        out = [f'{stats.frames_processed} frames from {stats.source} in {stats.elapsed_s:.1f} s: '
               f'{stats.mean_processed_fps:.1f} fps, {stats.frames_dropped} dropped '
               f'({stats.stop_reason or "running"})']
        if self.per_class:
            out.append('detections: ' + ', '.join(
                f'{name} {count}' for name, count in self.per_class.most_common()))
        else:
            out.append('detections: none')
        if self.tracks:
            by_class = Counter(self.tracks.values())
            out.append(f'tracks: {len(self.tracks)} (' + ', '.join(
                f'{name} {count}' for name, count in by_class.most_common()) + ')')
        elif stream.tracking:
            out.append('tracks: none')
        infer = stats.latency_ms.get('infer')
        if infer is not None and infer.count:
            out.append(f'model: {stream.detector.provider}, inference p50 {infer.p50:.1f} ms, '
                       f'frame age p50 {stats.age_ms.p50:.0f} ms / p99 {stats.age_ms.p99:.0f} '
                       'ms')
        if stats.errors or stats.callback_errors:
            out.append(f'errors: {stats.errors} frames, {stats.callback_errors} in outputs')
        return out


def _error(message: Any) -> int:
    print(f'{PROG}: error: {redact(str(message)).splitlines()[0]}', file=sys.stderr)
    return EXIT_USAGE


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point of the `stream-infer` console script."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format=f'{PROG}: %(levelname)s: %(message)s', stream=sys.stderr)
    if args.max_frames is not None and args.max_frames < 1:
        return _error(f'--max-frames must be >= 1, got {args.max_frames}')
    try:
        stream = InferenceStream(
            args.source, args.model, confidence=args.confidence, iou_threshold=args.iou,
            class_agnostic=args.agnostic, max_candidates=args.max_candidates,
            max_detections=args.max_detections, classes=_classes(args.classes),
            track=not args.no_track, enforce_fps=args.enforce_fps, loop=args.loop,
            max_frames=args.max_frames, providers=args.providers, threads=args.threads,
            labels=args.labels)
    except (StreamInferError, ValueError, OSError) as exc:
        return _error(exc)
    try:
        return _run(stream, args)
    finally:
        stream.close()


def _run(stream: InferenceStream, args: argparse.Namespace) -> int:
    json_out: Optional[TextIO] = None
    video: Optional[VideoOutput] = None
    try:
        if args.output:
            video = VideoOutput(args.output, stream.source.fps,
                                FrameAnnotator(class_names=stream.class_names))
        if args.json == '-':
            json_out = sys.stdout
        elif args.json:
            json_out = open(args.json, 'w', encoding='utf-8')
    except (ValueError, OSError) as exc:
        return _error(exc)
    report = sys.stderr if json_out is sys.stdout else sys.stdout
    summary = Summary()
    show_progress = not args.quiet and stream.source.kind != 'image'
    progress = Progress(stream, None if args.loop else stream.source.frame_count, sys.stderr)

    def on_result(result: StreamResult) -> None:
        summary.add(result)
        if json_out is not None:
            json_out.write(json.dumps(result.predictions) + '\n')
        if video is not None and not video.write(result):
            stream.stop()
        if show_progress:
            progress.update()

    stream.on_result(on_result)
    code = EXIT_OK
    try:
        stream.run()
    except StreamInferError as exc:  # the source could not be opened
        return _error(exc)
    except KeyboardInterrupt:
        code = EXIT_INTERRUPTED
    finally:
        if json_out is not None:
            json_out.flush()
            if json_out is not sys.stdout:
                json_out.close()
        if video is not None:
            video.close()
        if show_progress:
            progress.update(force=progress.shown)
            progress.finish()
    if video is not None and video.error:
        return _error(video.error)
    if stream.error is not None and code == EXIT_OK:
        print(f'{PROG}: error: the stream ended on an error: {redact(str(stream.error))}',
              file=sys.stderr)
        code = EXIT_FAILED
    if not args.quiet:
        for line in summary.lines(stream):
            print(line, file=report)
        if video is not None:
            print(f'annotated video: {video.path} ({video.frames} frames)', file=report)
        if args.json and json_out is not sys.stdout:
            print(f'json lines: {os.fspath(args.json)}', file=report)
    return code


if __name__ == '__main__':
    sys.exit(main())
