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
What `stream-infer quantize` wrote into a model's metadata_props, read back as one line.

No onnx import: the engine reads the metadata from its onnxruntime session, and the start-up
log and the node's diagnostics show `int8 (QDQ, calibrated on N frames of SRC)`.
"""

from typing import Mapping, Optional

PRECISION_KEY = 'quantization'            # 'int8 QDQ'
METHOD_KEY = 'quantization_method'        # MinMax / Entropy / Percentile
FRAMES_KEY = 'quantization_frames'        # calibration frames used
SOURCE_KEY = 'quantization_source'        # what they came from
FLOAT_NODES_KEY = 'quantization_float_nodes'  # comma-separated names kept in float
HELD_OUT_KEY = 'quantization_agreement'   # F1 etc. against fp32 on held-out frames
PER_CHANNEL_KEY = 'quantization_per_channel'
EQUALIZED_KEY = 'quantization_equalized_pairs'  # Conv -> Relu -> Conv pairs equalized first


def precision_text(metadata: Mapping[str, str]) -> str:
    """
    One line saying how the model computes: 'float', or the INT8 calibration it went through.

        >>> precision_text({})
        'float'
        >>> precision_text({'quantization': 'int8 QDQ', 'quantization_frames': '40',
        ...                 'quantization_source': 'clip.mp4'})
        'int8 (QDQ, calibrated on 40 frames of clip.mp4)'
    """
    described = quantization_text(metadata)
    return described if described is not None else 'float'


def quantization_text(metadata: Mapping[str, str]) -> Optional[str]:
    """Return the INT8 description, or None for a model this command did not write."""
    kind = metadata.get(PRECISION_KEY)
    if not kind:
        return None
    precision, _, fmt = str(kind).partition(' ')
    frames = metadata.get(FRAMES_KEY, '?')
    source = metadata.get(SOURCE_KEY, '?')
    return f'{precision} ({fmt or "QDQ"}, calibrated on {frames} frames of {source})'
