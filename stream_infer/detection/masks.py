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
most max_detections) get one, and the work is done once for all of them: one matrix product at
prototype resolution over the part of the prototypes that shows the frame (the letterbox bands
cut off), one bilinear upsampling to the frame's size (OpenCV, every mask a channel of one
image), one threshold and one crop to each box by broadcasting. That is the order Ultralytics'
`retina_masks` path uses, so masks agree with it pixel for pixel up to float rounding.

    >>> import numpy as np
    >>> from stream_infer.detection.preprocess import Geometry
    >>> prototypes = np.ones((1, 4, 4), np.float32)          # 16x16 input, 8x8 frame
    >>> masks = instance_masks(np.array([[1.0]], np.float32), prototypes,
    ...                        np.array([[2., 2., 6., 4.]], np.float32),
    ...                        Geometry(8, 8, 2.0, 2.0), (16, 16))
    >>> masks.shape, int(masks.sum())
    ((1, 8, 8), 8)
"""

from typing import Sequence

import cv2
import numpy as np

from stream_infer.detection.preprocess import Geometry

CV_MAX_CHANNELS = 512  # OpenCV images have at most this many channels


def frame_region(prototype_hw: Sequence[int], input_hw: Sequence[int],
                 geometry: Geometry) -> tuple:
    """Return (top, bottom, left, right) of the prototype rows/columns that show the frame."""
    scale_y, scale_x = prototype_hw[0] / input_hw[0], prototype_hw[1] / input_hw[1]
    shown_h, shown_w = geometry.frame_height * geometry.gain_y, geometry.frame_width * geometry.gain_x
    top, left = int(geometry.pad_y * scale_y), int(geometry.pad_x * scale_x)
    bottom = prototype_hw[0] - int((input_hw[0] - geometry.pad_y - shown_h) * scale_y)
    right = prototype_hw[1] - int((input_hw[1] - geometry.pad_x - shown_w) * scale_x)
    return top, max(bottom, top + 1), left, max(right, left + 1)


def instance_masks(coefficients: np.ndarray, prototypes: np.ndarray, boxes: np.ndarray,
                   geometry: Geometry, input_hw: Sequence[int]) -> np.ndarray:
    """
    Return (K, H, W) bool masks in frame pixels for K kept boxes.

    coefficients (K, C), prototypes (C, h, w) of the frame, boxes (K, 4) xyxy in frame pixels
    (each mask is cut to its box), geometry and input_hw how the frame was fed to the model.
    """
    count = len(coefficients)
    height, width = geometry.frame_height, geometry.frame_width
    if count == 0:
        return np.zeros((0, height, width), bool)
    channels = prototypes.shape[0]
    top, bottom, left, right = frame_region(prototypes.shape[1:], input_hw, geometry)
    shown = prototypes[:, top:bottom, left:right]
    rows, cols = shown.shape[1:]
    # (h*w, C) @ (C, K): the result is already the (h, w, K) image OpenCV resizes per channel.
    logits = (shown.reshape(channels, -1).T @ np.asarray(coefficients, np.float32).T).reshape(
        rows, cols, count)
    masks = np.empty((count, height, width), bool)
    for start in range(0, count, CV_MAX_CHANNELS):  # one pass unless K > 512
        chunk = np.ascontiguousarray(logits[:, :, start:start + CV_MAX_CHANNELS])
        upsampled = cv2.resize(chunk, (width, height), interpolation=cv2.INTER_LINEAR)
        upsampled = upsampled.reshape(height, width, -1)  # OpenCV drops a single channel
        np.greater(upsampled.transpose(2, 0, 1), 0.0, out=masks[start:start + chunk.shape[2]])
    x1, y1, x2, y2 = (np.asarray(boxes, np.float32).T[i][:, None] for i in range(4))
    xs, ys = np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32)
    masks &= ((ys >= y1) & (ys < y2))[:, :, None]
    masks &= ((xs >= x1) & (xs < x2))[:, None, :]
    return masks


def label_image(masks: np.ndarray) -> np.ndarray:
    """
    Return an (H, W) uint16 image: pixel = index + 1 of the first mask covering it, 0 = none.

    Where masks overlap, the detection that comes first (the higher-scoring one) wins.

        >>> import numpy as np
        >>> masks = np.zeros((2, 1, 3), bool); masks[0, 0, :2] = True; masks[1, 0, 1:] = True
        >>> label_image(masks).tolist()
        [[1, 1, 2]]
    """
    if len(masks) == 0:
        return np.zeros(masks.shape[1:], np.uint16)
    first = np.argmax(masks, axis=0).astype(np.uint16)  # the first True along the detections
    first += 1
    first[~masks.any(axis=0)] = 0
    return first


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
