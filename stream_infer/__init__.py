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
stream_infer: camera streams to tracked object detections, with or without ROS 2.

Read top-down: options (every tunable, defined once) -> sources (frames in) -> detection
(frame -> Detections) -> tracking (ByteTrack ids) -> pipeline (one run's threads) -> stream
(the InferenceStream users hold) -> results, predictions, annotate, sinks (what goes out);
cli.py and ros/ are the two front ends.
"""

__version__ = '0.1.0'

# The public API, imported on first use so that `import stream_infer.options` (or the ROS
# layer's parameter tables) does not pay for onnxruntime, OpenCV and supervision.
_EXPORTS = {
    'InferenceStream': 'stream_infer.stream',
    'StreamResult': 'stream_infer.results',
    'StopReason': 'stream_infer.pipeline',
    'Detector': 'stream_infer.detection',
    'PostprocessOptions': 'stream_infer.options',
    'TrackerOptions': 'stream_infer.options',
    'ReconnectPolicy': 'stream_infer.options',
    'SourceState': 'stream_infer.sources',
    'StreamInferError': 'stream_infer.errors',
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    """Resolve the public names lazily (PEP 562)."""
    if name not in _EXPORTS:
        raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
    import importlib
    return getattr(importlib.import_module(_EXPORTS[name]), name)
