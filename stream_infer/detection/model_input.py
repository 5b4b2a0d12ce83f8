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
How a model wants its input: worked out from the input tensor, the model metadata and options.

Order of precedence for each setting: explicit option, then the model itself (static shape,
element type), then its metadata (ultralytics `imgsz`; a free-text `layout` entry such as the
bundled model's "NHWC RGB float32 0..255, stretched resize"), then the ultralytics defaults
(NCHW, RGB, 1/255, letterbox, 640x640).
"""

import ast
import re
from typing import Mapping, Optional, Sequence, Union

import numpy as np

from stream_infer.detection.preprocess import (
    CHANNEL_ORDERS, InputSpec, RESIZE_MODES, TENSOR_LAYOUTS)
from stream_infer.errors import ModelError

DEFAULT_INPUT_SIZE = (640, 640)  # (height, width), as ultralytics exports
INPUT_DTYPES = {'tensor(float)': np.float32, 'tensor(float16)': np.float16,
                'tensor(uint8)': np.uint8}
SCALE_NAMES = {'raw': 1.0, '0..255': 1.0, 'unit': 1.0 / 255.0, '1/255': 1.0 / 255.0,
               '0..1': 1.0 / 255.0}


def metadata_preprocess_hints(metadata: Mapping[str, str]) -> dict:
    """Return the settings named in the free-text `layout`/`preprocess` metadata entries."""
    text = ' '.join(str(metadata.get(k, '')) for k in ('layout', 'preprocess', 'input'))
    upper = text.upper()
    hints = {}
    for layout in TENSOR_LAYOUTS:
        if re.search(rf'\b{layout}\b', upper):
            hints['tensor_layout'] = layout
    for order in CHANNEL_ORDERS:
        if re.search(rf'\b{order}\b', upper):
            hints['channel_order'] = order
    if re.search(r'\b0\s*(\.\.|-|to)\s*255\b', text):
        hints['scale'] = 1.0
    elif re.search(r'\b0\s*(\.\.|-|to)\s*1(\.0)?\b', text):
        hints['scale'] = 1.0 / 255.0
    if re.search(r'stretch', text, re.IGNORECASE):
        hints['resize'] = 'stretch'
    elif re.search(r'letterbox', text, re.IGNORECASE):
        hints['resize'] = 'letterbox'
    return hints


def metadata_imgsz(metadata: Mapping[str, str]) -> Optional[tuple]:
    """(height, width) from ultralytics-style `imgsz` metadata ('[640, 640]' or '640')."""
    text = metadata.get('imgsz')
    if not text:
        return None
    try:
        value = ast.literal_eval(str(text))
        return parse_input_size(value)
    except (ValueError, SyntaxError, TypeError):
        return None


def parse_input_size(value: Union[int, Sequence[int]]) -> tuple:
    """(height, width) from an int or a (height, width) pair; ValueError otherwise."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = (value, value)
    try:
        height, width = (int(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f'input_size {value!r}: expected (height, width) or one int') from None
    if height < 1 or width < 1:
        raise ValueError(f'input_size {value!r}: sizes must be positive')
    return height, width


def _choice(value: str, allowed: Sequence[str], what: str) -> Optional[str]:
    """None for 'auto', else the canonical spelling of an allowed value."""
    if not isinstance(value, str):
        raise ModelError(f'{what}={value!r}: expected one of {["auto", *allowed]}')
    if value.lower() == 'auto':
        return None
    for option in allowed:
        if value.lower() == option.lower():
            return option
    raise ModelError(f'{what}={value!r}: expected one of {["auto", *allowed]}')


def _scale(value: Union[str, float]) -> Optional[float]:
    if isinstance(value, str):
        if value.lower() == 'auto':
            return None
        if value.lower() in SCALE_NAMES:
            return SCALE_NAMES[value.lower()]
    elif isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return float(value)
    raise ModelError(f"scale={value!r}: expected 'auto', 'raw' (0..255), 'unit' or '1/255' "
                     '(0..1), or a positive multiplier')


def _tensor_layout(dims: Sequence, option: Optional[str], hint: Optional[str],
                   describe: str) -> str:
    channels_first, channels_last = dims[1] == 3, dims[3] == 3
    if option is not None:
        axis = 1 if option == 'NCHW' else 3
        if isinstance(dims[axis], int) and dims[axis] != 3:
            raise ModelError(f'input_layout={option!r} does not fit model input {describe}: '
                             'expected 3 colour channels on that axis')
        return option
    if channels_first != channels_last:
        return 'NCHW' if channels_first else 'NHWC'
    if hint is not None:
        return hint
    if channels_first:  # [1, 3, 3, 3]: nothing to go by, take the common case
        return 'NCHW'
    raise ModelError(f'cannot tell the colour-channel axis of model input {describe}: expected '
                     "[1, 3, H, W] (NCHW) or [1, H, W, 3] (NHWC); pass input_layout='NCHW' or "
                     "'NHWC'")


def input_batch_size(shape: Sequence) -> Optional[int]:
    """
    Return the fixed batch size of a model input, or None when the batch is dynamic.

        >>> input_batch_size([1, 3, 640, 640]), input_batch_size(['batch', 3, 640, 640])
        (1, None)
    """
    first = list(shape)[0] if len(shape) else None
    return first if isinstance(first, int) and first > 0 else None


def resolve_input_spec(shape: Sequence, type_name: str, metadata: Mapping[str, str], *,
                       describe: str = '?', resize: str = 'auto',
                       input_size: Optional[Union[int, Sequence[int]]] = None,
                       channel_order: str = 'auto', scale: Union[str, float] = 'auto',
                       input_layout: str = 'auto') -> InputSpec:
    """
    Work out the InputSpec of an onnxruntime input (dims: ints, str or None).

    The InputSpec describes one frame (batch of one); the batch dimension (input_batch_size) is
    the backend's business: it stacks prepared frames, or pads to a fixed batch.
    """
    dims = list(shape)
    if len(dims) != 4:
        raise ModelError(f'model input {describe}: expected a 4-D image tensor [N, 3, H, W] or '
                         '[N, H, W, 3]')
    if isinstance(dims[0], int) and dims[0] < 1:
        raise ModelError(f'model input {describe}: batch size {dims[0]} is not supported '
                         '(expected a fixed batch >= 1 or a dynamic one)')
    dtype = INPUT_DTYPES.get(type_name)
    if dtype is None:
        raise ModelError(f'model input {describe}: element type {type_name} is not supported '
                         f'(expected one of {sorted(INPUT_DTYPES)})')
    hints = metadata_preprocess_hints(metadata)
    layout = _tensor_layout(dims, _choice(input_layout, TENSOR_LAYOUTS, 'input_layout'),
                            hints.get('tensor_layout'), describe)
    static_hw = dims[2:4] if layout == 'NCHW' else dims[1:3]
    try:
        wanted = None if input_size is None else parse_input_size(input_size)
    except ValueError as exc:
        raise ModelError(str(exc)) from None
    if all(isinstance(d, int) and d > 0 for d in static_hw):
        if wanted is not None and tuple(wanted) != tuple(static_hw):
            raise ModelError(f'input_size={wanted} (height, width) does not match the fixed '
                             f'size {tuple(static_hw)} of model input {describe}')
        height, width = static_hw
    else:
        height, width = wanted or metadata_imgsz(metadata) or DEFAULT_INPUT_SIZE
        for got, fixed in zip((height, width), static_hw):
            if isinstance(fixed, int) and fixed > 0 and got != fixed:
                raise ModelError(f'input size {(height, width)} (height, width) does not fit '
                                 f'model input {describe}')
    scale_value = _scale(scale)
    if scale_value is None:
        scale_value = 1.0 if dtype == np.uint8 else hints.get('scale', 1.0 / 255.0)
    if dtype == np.uint8 and scale_value != 1.0:
        raise ModelError(f'model input {describe} takes uint8 pixels: scale must be raw (1.0), '
                         f'got {scale_value}')
    return InputSpec(
        height=int(height), width=int(width), tensor_layout=layout,
        channel_order=(_choice(channel_order, CHANNEL_ORDERS, 'channel_order')
                       or hints.get('channel_order', 'RGB')),
        scale=scale_value,
        resize=_choice(resize, RESIZE_MODES, 'resize') or hints.get('resize', 'letterbox'),
        dtype=dtype)
