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
Where results go besides callbacks: JSON Lines files and annotated videos.

Each sink is a callable taking a StreamResult, so it plugs into InferenceStream.on_result, and
has close(). Used by the CLI; usable from Python as they are.

    >>> from stream_infer import InferenceStream
    >>> from stream_infer.bundled import bundled_clip_path
    >>> import io
    >>> out = io.StringIO()
    >>> stream = InferenceStream(bundled_clip_path(), max_frames=2)
    >>> unsubscribe = stream.on_result(JsonLinesSink(out))
    >>> stream.run().frames_processed, len(out.getvalue().splitlines())
    (2, 2)
"""

import json
import os
from pathlib import Path
from typing import Optional, TextIO, Union

import cv2

from stream_infer.annotate import FrameAnnotator
from stream_infer.errors import ConfigurationError
from stream_infer.results import StreamResult

VIDEO_CODECS = {'.mp4': 'mp4v', '.m4v': 'mp4v', '.mov': 'mp4v', '.avi': 'MJPG', '.mkv': 'MJPG'}


class JsonLinesSink:
    """One Roboflow-style JSON object per result, one per line, to a file or text stream."""

    def __init__(self, target: Union[str, os.PathLike, TextIO]) -> None:
        if isinstance(target, (str, os.PathLike)):
            self.out: TextIO = open(target, 'w', encoding='utf-8')
            self._owned = True
        else:
            self.out, self._owned = target, False
        self.lines = 0

    def __call__(self, result: StreamResult) -> None:
        self.out.write(json.dumps(result.predictions) + '\n')
        self.lines += 1

    def close(self) -> None:
        self.out.flush()
        if self._owned:
            self.out.close()


class VideoSink:
    """
    Annotated frames to a video file, opened on the first frame (its size).

    The container decides the codec (VIDEO_CODECS). A writer that cannot be opened sets error
    and returns False from write(), so the caller can stop the stream and say why.
    """

    def __init__(self, path: Union[str, os.PathLike], fps: Optional[float],
                 annotator: FrameAnnotator) -> None:
        self.path = Path(path)
        suffix = self.path.suffix.lower()
        if suffix not in VIDEO_CODECS:
            raise ConfigurationError(
                f'--output {path}: unsupported video type {suffix or "(none)"!r}; accepted: '
                f'{", ".join(sorted(VIDEO_CODECS))}')
        if not self.path.parent.is_dir():
            raise ConfigurationError(
                f'--output {path}: directory {self.path.parent} does not exist')
        self.fourcc = cv2.VideoWriter_fourcc(*VIDEO_CODECS[suffix])
        self.fps = fps or 10.0
        self.annotator = annotator
        self.writer: Optional[cv2.VideoWriter] = None
        self.error = ''
        self.frames = 0

    def write(self, result: StreamResult) -> bool:
        """Draw and write one result; False when the video cannot be written (see error)."""
        image = self.annotator.annotate(result.frame.image, result.detections,
                                        result.track_epoch)
        if self.writer is None:
            height, width = image.shape[:2]
            self.writer = cv2.VideoWriter(str(self.path), self.fourcc, self.fps, (width, height))
            if not self.writer.isOpened():
                self.error = f'cannot write video {self.path} ({width}x{height})'
                return False
        self.writer.write(image)
        self.frames += 1
        return True

    __call__ = write

    def close(self) -> None:
        if self.writer is not None:
            self.writer.release()


__all__ = ['JsonLinesSink', 'VIDEO_CODECS', 'VideoSink']
