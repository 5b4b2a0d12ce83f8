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
Hard-example capture: the frames worth labelling, saved as a YOLO dataset while a stream runs.

Read top-down: config (CaptureOptions, rule syntax) -> rules, track_rules (what makes a frame
worth keeping) -> rule_set (the rules in force) -> limits (caps, interval, disk) -> job,
encoding, atomic, dataset, coco (what is written and how) -> worker (the writing thread) ->
sink (CaptureSink: what a stream's on_result, the CLI and the node hold) -> state (counters).
"""

# Imported on first use, like stream_infer's own names: the options stay import-light.
_EXPORTS = {
    'CaptureSink': 'stream_infer.capture.sink',
    'CaptureError': 'stream_infer.capture.worker',
    'CaptureOptions': 'stream_infer.capture.config',
    'DEFAULT_RULES': 'stream_infer.capture.config',
    'CaptureRecord': 'stream_infer.capture.job',
    'CaptureState': 'stream_infer.capture.state',
    'CaptureStats': 'stream_infer.capture.state',
    'RULE_KINDS': 'stream_infer.capture.rule_set',
    'make_rule': 'stream_infer.capture.rule_set',
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    """Resolve the public names lazily (PEP 562)."""
    if name not in _EXPORTS:
        raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
    import importlib
    return getattr(importlib.import_module(_EXPORTS[name]), name)
