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
Frame sources: camera, video file, network URL, iterator, single image, and push.

base (frames, states, the FrameSource class, redaction), opencv (files, cameras and streams
read with OpenCV), memory (iterables, single images, push), spec (open_source: what a user
typed -> a source), rgbd_files (recorded colour + depth files, paired by name order).
"""

from stream_infer.options import ReconnectPolicy
from stream_infer.sources.base import (
    ACCEPTED, as_bgr, Frame, FrameSource, RawFrame, redact, SourceState)
from stream_infer.sources.memory import ImageSource, IteratorSource, PushSource
from stream_infer.sources.opencv import CaptureSource, VideoFileSource
from stream_infer.sources.spec import open_source

__all__ = ['ACCEPTED', 'CaptureSource', 'Frame', 'FrameSource', 'ImageSource', 'IteratorSource',
           'PushSource', 'RawFrame', 'ReconnectPolicy', 'SourceState', 'VideoFileSource',
           'as_bgr', 'open_source', 'redact']
