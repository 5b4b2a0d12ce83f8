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
A video file or network stream through stream_infer (the bundled clip by default).

ros2 launch stream_infer video.launch.py [source:=clip.mp4|rtsp://...] [loop:=true]
    [enforce_fps:=true] [model:=x.onnx] [confidence:=0.3] [namespace:=ns] [params_file:=my.yaml]
"""

from stream_infer.bundled import bundled_clip_path
from stream_infer.ros.launch_support import launch_description, node_action

ARGUMENTS = {
    'source': ('', 'video file or rtsp/http(s) URL; empty = the bundled pedestrian clip'),
    'loop': ('true', 'start the file again at its end'),
    'enforce_fps': ('true', 'play files at their frame rate like a live camera'),
}


def _nodes(a):
    return [node_action(a['namespace'], a['params_file'],
                        source=a['source'] or str(bundled_clip_path()), loop=a['loop'],
                        enforce_fps=a['enforce_fps'], model=a['model'],
                        confidence=a['confidence'])]


def generate_launch_description():
    return launch_description(ARGUMENTS, _nodes)
