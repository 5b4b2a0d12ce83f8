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
Instance masks of a segmentation model, for the boxes it kept.

A YOLO-seg model gives each candidate box C mask coefficients and each frame C prototype
images at a quarter of the input size; a box's mask is sigmoid(coefficients . prototypes) > 0.5,
i.e. the linear combination > 0, inside its box. Only the kept boxes (after NMS and top-k, at
most max_detections) get one: one matrix product makes all their logits at prototype resolution
over the part of the prototypes that shows the frame (the letterbox bands cut off); each is then
upsampled bilinearly to frame pixels only inside its own box (the mask is empty elsewhere) and
thresholded there. The sampling is the one of upsampling the whole plane to the frame's size
(torch's bilinear, align_corners=False, as Ultralytics' `retina_masks`), so masks agree with
Ultralytics' up to float rounding. Upsampling whole planes instead, every mask a channel of one
OpenCV resize, cost 1.9 s for 100 masks on a 768x576 frame: the per-box step (a few vectorised
gathers over the box's pixels) is what bounds the cost by the boxes' area.

    >>> import numpy as np
    >>> from stream_infer.detection.preprocess import Geometry
    >>> prototypes = np.ones((1, 4, 4), np.float32)          # 16x16 input, 8x8 frame
    >>> masks = instance_masks(np.array([[1.0]], np.float32), prototypes,
    ...                        np.array([[2., 2., 6., 4.]], np.float32),
    ...                        Geometry(8, 8, 2.0, 2.0), (16, 16))
    >>> masks.shape, int(masks.sum())
    ((1, 8, 8), 8)
"""

from typing import Optional, Sequence

import cv2
import numpy as np

from stream_infer.detection.preprocess import Geometry


def frame_region(prototype_hw: Sequence[int], input_hw: Sequence[int],
                 geometry: Geometry) -> tuple:
    """Return (top, bottom, left, right) of the prototype rows/columns that show the frame."""
    scale_y, scale_x = prototype_hw[0] / input_hw[0], prototype_hw[1] / input_hw[1]
    shown_h = geometry.frame_height * geometry.gain_y
    shown_w = geometry.frame_width * geometry.gain_x
    top, left = int(round(geometry.pad_y * scale_y)), int(round(geometry.pad_x * scale_x))
    bottom = top + max(int(round(shown_h * scale_y)), 1)
    right = left + max(int(round(shown_w * scale_x)), 1)
    return top, min(bottom, prototype_hw[0]), left, min(right, prototype_hw[1])


def bilinear_taps(out_size: int, in_size: int) -> tuple:
    """
    Return (first, second, weight of second) source index per output pixel of an upsampling.

    torch's bilinear with align_corners=False: source = (out + 0.5) * in / out - 0.5, clamped
    at 0; the second tap stops at the last source pixel.
    """
    source = np.maximum((np.arange(out_size) + 0.5) * (in_size / out_size) - 0.5, 0.0)
    first = np.minimum(source.astype(np.intp), in_size - 1)
    second = np.minimum(first + 1, in_size - 1)
    return first, second, (source - first).astype(np.float32)


def box_pixels(boxes: np.ndarray, height: int, width: int) -> np.ndarray:
    """Return (K, 4) int pixel ranges x0, y0, x1, y1: pixels with x1 <= x < x2 (as the crop)."""
    ranges = np.ceil(np.asarray(boxes, np.float64)).astype(np.intp)
    return np.clip(ranges, 0, (width, height, width, height))


def instance_masks(coefficients: np.ndarray, prototypes: np.ndarray, boxes: np.ndarray,
                   geometry: Geometry, input_hw: Sequence[int]) -> np.ndarray:
    """
    Return (K, H, W) bool masks in frame pixels for K kept boxes.

    coefficients (K, C), prototypes (C, h, w) of the frame, boxes (K, 4) xyxy in frame pixels
    (each mask is cut to its box), geometry and input_hw how the frame was fed to the model.
    """
    count = len(coefficients)
    height, width = geometry.frame_height, geometry.frame_width
    masks = np.zeros((count, height, width), bool)  # calloc: pages outside boxes stay untouched
    if count == 0:
        return masks
    channels = prototypes.shape[0]
    top, bottom, left, right = frame_region(prototypes.shape[1:], input_hw, geometry)
    shown = np.ascontiguousarray(prototypes[:, top:bottom, left:right], np.float32)
    rows, cols = shown.shape[1:]
    logits = (np.asarray(coefficients, np.float32) @ shown.reshape(channels, -1)).reshape(
        count, rows, cols)
    row_a, row_b, row_w = bilinear_taps(height, rows)
    col_a, col_b, col_w = bilinear_taps(width, cols)
    for index, (x0, y0, x1, y1) in enumerate(box_pixels(boxes, height, width).tolist()):
        if x1 <= x0 or y1 <= y0:
            continue
        plane = logits[index]
        upper, lower = plane[row_a[y0:y1]], plane[row_b[y0:y1]]   # (box rows, prototype cols)
        mixed = upper + (lower - upper) * row_w[y0:y1, None]
        left_tap, right_tap = mixed[:, col_a[x0:x1]], mixed[:, col_b[x0:x1]]
        values = left_tap + (right_tap - left_tap) * col_w[x0:x1]
        np.greater(values, 0.0, out=masks[index, y0:y1, x0:x1])
    return masks


def label_image(masks: np.ndarray, boxes: Optional[np.ndarray] = None) -> np.ndarray:
    """
    Return an (H, W) uint16 image: pixel = index + 1 of the first mask covering it, 0 = none.

    Where masks overlap, the detection that comes first (the higher-scoring one) wins. With
    boxes (the masks' xyxy: each mask is empty outside its box) only the boxes are visited.

        >>> import numpy as np
        >>> masks = np.zeros((2, 1, 3), bool); masks[0, 0, :2] = True; masks[1, 0, 1:] = True
        >>> label_image(masks).tolist()
        [[1, 1, 2]]
    """
    count, height, width = masks.shape
    labels = np.zeros((height, width), np.uint16)
    ranges = (box_pixels(boxes, height, width) if boxes is not None
              else np.tile((0, 0, width, height), (count, 1)))
    for index in range(count - 1, -1, -1):  # the first detection paints last: it wins
        x0, y0, x1, y1 = ranges[index].tolist()
        region = labels[y0:y1, x0:x1]
        region[masks[index, y0:y1, x0:x1]] = index + 1
    return labels


def outline(mask: np.ndarray, box: Sequence[float]) -> np.ndarray:
    """
    Return the outline of a mask's largest region as a (P, 2) int32 polygon, in frame pixels.

    Only the mask's box is searched (the mask is empty outside it); (0, 2) when empty.
    Polygons are what JSON predictions (Roboflow `points`) and YOLO-seg labels carry.

        >>> import numpy as np
        >>> mask = np.zeros((10, 10), bool); mask[2:6, 3:7] = True
        >>> outline(mask, (3, 2, 7, 6)).tolist()
        [[3, 2], [3, 5], [6, 5], [6, 2]]
    """
    height, width = mask.shape
    x1, y1 = max(int(np.floor(box[0])), 0), max(int(np.floor(box[1])), 0)
    x2, y2 = min(int(np.ceil(box[2])), width), min(int(np.ceil(box[3])), height)
    if x2 <= x1 or y2 <= y1:
        return np.zeros((0, 2), np.int32)
    region = np.ascontiguousarray(mask[y1:y2, x1:x2], dtype=np.uint8)
    contours, _ = cv2.findContours(region, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return np.zeros((0, 2), np.int32)
    largest = max(contours, key=cv2.contourArea).reshape(-1, 2)
    return (largest + (x1, y1)).astype(np.int32)
