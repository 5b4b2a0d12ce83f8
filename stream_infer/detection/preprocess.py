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
Frame -> model input tensor (letterbox or stretch, RGB/BGR, scale, NCHW/NHWC) and back.

Only the image's own rectangle of the input is computed per frame: the resize writes into a
per-thread uint8 buffer of that size (no buffer at all when the frame already has it), the
padding of a letterbox is a constant fill of the tensor, and the cast + scale is one contiguous
numpy pass per colour plane (NCHW: OpenCV splits the interleaved pixels into per-thread planes
first, so the channel swap is just the order the planes are written in; a transposed view would
make numpy's pass three times slower). The tensor itself is allocated per call, because the
caller may run the model on it while this thread already prepares the next frame.
"""

from dataclasses import dataclass
import threading
from types import SimpleNamespace

import cv2
import numpy as np

RESIZE_MODES = ('letterbox', 'stretch')
TENSOR_LAYOUTS = ('NCHW', 'NHWC')
CHANNEL_ORDERS = ('RGB', 'BGR')
LETTERBOX_PAD_VALUE = 114  # the grey ultralytics pads with


@dataclass(frozen=True)
class InputSpec:
    """Everything needed to turn a BGR frame into the model's input tensor."""

    height: int
    width: int
    tensor_layout: str = 'NCHW'    # 'NCHW' or 'NHWC'
    channel_order: str = 'RGB'     # channel order the model expects
    scale: float = 1.0 / 255.0     # multiplier applied to 0..255 pixel values
    resize: str = 'letterbox'      # 'letterbox' (keep aspect, pad) or 'stretch'
    dtype: type = np.float32       # tensor element type (float32, float16 or uint8)

    def __post_init__(self) -> None:
        if self.tensor_layout not in TENSOR_LAYOUTS:
            raise ValueError(f'tensor_layout {self.tensor_layout!r}: expected one of '
                             f'{TENSOR_LAYOUTS}')
        if self.channel_order not in CHANNEL_ORDERS:
            raise ValueError(f'channel_order {self.channel_order!r}: expected one of '
                             f'{CHANNEL_ORDERS}')
        if self.resize not in RESIZE_MODES:
            raise ValueError(f'resize {self.resize!r}: expected one of {RESIZE_MODES}')
        if self.height < 1 or self.width < 1:
            raise ValueError(f'input size {self.height}x{self.width}: must be positive')
        if not self.scale > 0:
            raise ValueError(f'scale {self.scale!r}: must be a positive number')

    @property
    def tensor_shape(self) -> tuple:
        """Shape of the tensor fed to the model (batch of one)."""
        if self.tensor_layout == 'NCHW':
            return (1, 3, self.height, self.width)
        return (1, self.height, self.width, 3)


@dataclass(frozen=True)
class Geometry:
    """
    Maps model-input pixels back to original-frame pixels: frame = (input - pad) / gain.

    Letterbox has one aspect-preserving gain per axis (they differ only by the rounding of the
    resized size) and a centring pad; stretch has independent gains and no pad.
    """

    frame_height: int
    frame_width: int
    gain_x: float = 1.0
    gain_y: float = 1.0
    pad_x: float = 0.0
    pad_y: float = 0.0

    @classmethod
    def identity(cls, frame_height: int, frame_width: int) -> 'Geometry':
        """Geometry of boxes that are already in frame pixels (callable models)."""
        return cls(frame_height, frame_width)

    def to_frame(self, xyxy: np.ndarray) -> np.ndarray:
        """Return float32 boxes in frame pixels, clipped to the frame (a new array)."""
        out = np.empty((len(xyxy), 4), dtype=np.float32)
        np.subtract(xyxy, (self.pad_x, self.pad_y, self.pad_x, self.pad_y), out=out,
                    casting='unsafe')
        out /= np.array((self.gain_x, self.gain_y, self.gain_x, self.gain_y), np.float32)
        np.clip(out, 0.0, np.array((self.frame_width, self.frame_height) * 2, np.float32),
                out=out)
        return out


def serial_opencv() -> None:
    """
    Make OpenCV run each call on the thread that makes it (a process-wide setting).

    The engine's capture thread already preprocesses beside the model; OpenCV's own thread
    pool only adds wake-ups there (about 1.5 ms of CPU per frame with the bundled model on two
    cores). The CLI and the node process call this; in your own process it is your choice.
    """
    cv2.setNumThreads(1)


def letterbox_layout(frame_hw: tuple, input_hw: tuple) -> tuple:
    """
    Ultralytics LetterBox placement: ((new_h, new_w), (top, left)) for a centred resize.

    Same rounding as ultralytics (round the resized size, pads round(d -/+ 0.1)) so boxes from
    models trained with it land on the same pixels.
    """
    h, w = frame_hw
    in_h, in_w = input_hw
    ratio = min(in_h / h, in_w / w)
    new_w, new_h = int(round(w * ratio)), int(round(h * ratio))
    new_w, new_h = max(1, min(new_w, in_w)), max(1, min(new_h, in_h))
    top = int(round((in_h - new_h) / 2 - 0.1))
    left = int(round((in_w - new_w) / 2 - 0.1))
    return (new_h, new_w), (max(0, top), max(0, left))


def check_frame(frame: np.ndarray) -> None:
    """Raise a clear error unless frame is a BGR uint8 HxWx3 image."""
    if not isinstance(frame, np.ndarray):
        raise TypeError(f'frame must be a numpy array (BGR uint8 HxWx3), got {type(frame)!r}')
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        raise ValueError(f'frame must be BGR uint8 with shape (H, W, 3), got dtype '
                         f'{frame.dtype} shape {frame.shape}')
    if frame.shape[0] < 1 or frame.shape[1] < 1:
        raise ValueError(f'frame is empty: shape {frame.shape}')


class Preprocessor:
    """Callable turning a BGR frame into (tensor, Geometry); safe to call from any thread."""

    def __init__(self, spec: InputSpec) -> None:
        self.spec = spec
        self._local = threading.local()  # per-thread image and plane buffers
        self._scale = None if spec.scale == 1.0 else spec.dtype(spec.scale)
        pad = np.empty(1, spec.dtype)  # the pad grey converted exactly like a pixel
        self._convert(np.full(1, LETTERBOX_PAD_VALUE, np.uint8), pad)
        self._pad_value = pad[0]

    def __call__(self, frame: np.ndarray) -> tuple:
        """Return (tensor, geometry) for one frame; the tensor is a new array each call."""
        check_frame(frame)
        spec = self.spec
        h, w = frame.shape[:2]
        if spec.resize == 'stretch':
            placement = (spec.height, spec.width, 0, 0)
            geometry = Geometry(h, w, spec.width / w, spec.height / h)
        else:
            (new_h, new_w), (top, left) = letterbox_layout((h, w), (spec.height, spec.width))
            placement = (new_h, new_w, top, left)
            geometry = Geometry(h, w, new_w / w, new_h / h, float(left), float(top))
        return self._to_tensor(self._resized(frame, placement), placement), geometry

    def _buffers(self, placement: tuple) -> SimpleNamespace:
        """Return this thread's buffers for an image placed this way (new when it changes)."""
        buffers = getattr(self._local, 'buffers', None)
        if buffers is None or buffers.placement != placement:
            new_h, new_w = placement[:2]
            buffers = SimpleNamespace(
                placement=placement, image=np.empty((new_h, new_w, 3), np.uint8),
                planes=[np.empty((new_h, new_w), np.uint8) for _ in range(3)],
                rgb=None)
            self._local.buffers = buffers
        return buffers

    def _resized(self, frame: np.ndarray, placement: tuple) -> np.ndarray:
        """Return the frame at the image's size in the input: itself, or resized into a buffer."""
        new_h, new_w = placement[:2]
        if frame.shape[:2] == (new_h, new_w):
            return frame
        image = self._buffers(placement).image
        cv2.resize(frame, (new_w, new_h), dst=image, interpolation=cv2.INTER_LINEAR)
        return image

    def _convert(self, src: np.ndarray, dst: np.ndarray) -> None:
        """Cast (and scale) uint8 pixels into dst in one pass."""
        if self._scale is None:
            np.copyto(dst, src, casting='unsafe')
        else:
            np.multiply(src, self._scale, out=dst, casting='unsafe')

    def _to_tensor(self, image: np.ndarray, placement: tuple) -> np.ndarray:
        spec = self.spec
        new_h, new_w, top, left = placement
        tensor = np.empty(spec.tensor_shape, spec.dtype)
        buffers = self._buffers(placement)
        rows, cols = slice(top, top + new_h), slice(left, left + new_w)
        if spec.tensor_layout == 'NCHW':
            planes = cv2.split(image, buffers.planes)  # B, G, R into this thread's buffers
            order = (2, 1, 0) if spec.channel_order == 'RGB' else (0, 1, 2)
            for channel, plane in enumerate(order):
                self._convert(planes[plane], tensor[0, channel, rows, cols])
            self._fill_padding(tensor[0], placement, rows_axis=1)
        else:
            if spec.channel_order == 'RGB':
                if buffers.rgb is None:
                    buffers.rgb = np.empty((new_h, new_w, 3), np.uint8)
                image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB, dst=buffers.rgb)
            self._convert(image, tensor[0, rows, cols])
            self._fill_padding(tensor[0], placement, rows_axis=0)
        return tensor

    def _fill_padding(self, image: np.ndarray, placement: tuple, rows_axis: int) -> None:
        """Paint the letterbox bands around the image (nothing for stretch or an exact fit)."""
        new_h, new_w, top, left = placement
        height, width = self.spec.height, self.spec.width
        if (new_h, new_w) == (height, width):
            return
        lead = (slice(None),) * rows_axis  # the channel axis of NCHW comes first
        band = slice(top, top + new_h)
        for region in ((slice(0, top),), (slice(top + new_h, height),),
                       (band, slice(0, left)), (band, slice(left + new_w, width))):
            image[lead + region] = self._pad_value
