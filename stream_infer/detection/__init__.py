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
Detection: a frame in, supervision Detections out (ONNX Runtime or a Python callable).

detector (the facade), backends (ONNX session / callable), onnx_session (providers, threads,
load errors), model_input + preprocess (frame -> tensor), output_decoding (layouts),
candidates + nms (ranking and suppression), class_names (metadata and labels files).
"""

from stream_infer.detection.detector import (
    DetectionResult, Detector, empty_detections, InferredFrame, PreparedFrame)

__all__ = ['DetectionResult', 'Detector', 'InferredFrame', 'PreparedFrame', 'empty_detections']
