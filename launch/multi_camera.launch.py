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
Several cameras or streams, one namespaced stream_infer node each.

ros2 launch stream_infer multi_camera.launch.py sources:=0,2,rtsp://cam3/stream
    [namespaces:=front,left,back] [model:=x.onnx] [confidence:=0.3] [params_file:=my.yaml]
Node i runs in namespace [namespace/]namespaces[i] (default cam0, cam1, ...):
/cam0/detections, ...
Each node loads its own model session; give each its providers/threads in the params file.
"""

from stream_infer.ros.launch_support import launch_description, node_action

ARGUMENTS = {
    'sources': ('0,1', 'comma-separated camera indices, files or URLs'),
    'namespaces': ('', 'comma-separated namespaces, one per source; empty = cam0, cam1, ...'),
}


def _nodes(a):
    sources = [s.strip() for s in a['sources'].split(',') if s.strip()]
    names = [n.strip() for n in a['namespaces'].split(',') if n.strip()]
    if names and len(names) != len(sources):
        raise RuntimeError(f'namespaces:= names {len(names)} namespaces for {len(sources)} '
                           'sources: give one per source, or none')
    names = names or [f'cam{i}' for i in range(len(sources))]
    parent = a['namespace'].rstrip('/')
    return [node_action(f'{parent}/{ns}' if parent else ns, a['params_file'], source=src,
                        model=a['model'],
                        confidence=a['confidence'])
            for ns, src in zip(names, sources)]


def generate_launch_description():
    return launch_description(ARGUMENTS, _nodes)
