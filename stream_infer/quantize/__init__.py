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
INT8 models calibrated on the robot's own frames (`stream-infer quantize`, doc/int8.md).

frames: calibration and held-out frames from a capture dataset, an image folder or a video.
float_nodes: which nodes stay in float (the decode tail found from the graph, sensitivity).
calibrate: static QDQ quantization with onnxruntime.quantization, metadata of what was done.
agreement: INT8 detections against fp32's on held-out frames; timings.
command: the subcommand. metadata: reading what was done back (no onnx import: the engine,
the node's diagnostics and the start-up log use it).
"""
