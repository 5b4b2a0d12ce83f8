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
Instance-segmentation and oriented-box models decoded to exactly the expected masks and corners.

Real onnxruntime sessions run tiny graphs (test/onnx_task_graphs.py) that emit YOLOv8-seg /
-obb shaped outputs with known prototypes, coefficients and angles; the expected masks and
corners are worked out here by hand (pixel slices, the rotation written out), so a decoder that
forgot the letterbox bands, the box crop, the threshold or the angle fails.
"""

import math

import numpy as np
from onnx_task_graphs import anchor_free_rows, constant_outputs_model
import pytest

from stream_infer.detection import Detector
from stream_infer.detection.masks import label_image
from stream_infer.errors import ModelError
from stream_infer.options import PostprocessOptions

INPUT = 64            # model input 64x64, prototypes 16x16 (a quarter, as YOLO-seg)
FRAME_HW = (32, 64)   # letterboxed into rows 16..47 of the input: prototype rows 4..11
ANCHORS = 84          # grid_cells((64, 64)): 64 + 16 + 4
ALL = PostprocessOptions(confidence=0.25, max_detections=100)


def seg_prototypes() -> np.ndarray:
    """Three prototypes: all ones; +1 left of prototype column 8, else -1; +1 above row 6."""
    protos = np.zeros((1, 3, 16, 16), np.float32)
    protos[0, 0] = 1.0
    protos[0, 1, :, :8], protos[0, 1, :, 8:] = 1.0, -1.0
    protos[0, 2, :6], protos[0, 2, 6:] = 1.0, -1.0
    protos[0, :, :4] = 50.0  # the letterbox bands: garbage a decoder must cut away
    protos[0, :, 12:] = -50.0
    return protos


def seg_model(tmp_path, metadata=None):
    # Frame boxes (x1, y1, x2, y2) -> input: y + 16 (letterbox pad), x unchanged (gain 1).
    frame_boxes = np.array([[12, 8, 28, 16], [8, 8, 56, 24], [24, 0, 48, 32]], np.float32)
    cxcywh = np.stack(((frame_boxes[:, 0] + frame_boxes[:, 2]) / 2,
                       (frame_boxes[:, 1] + frame_boxes[:, 3]) / 2 + 16,
                       frame_boxes[:, 2] - frame_boxes[:, 0],
                       frame_boxes[:, 3] - frame_boxes[:, 1]), axis=1)
    coefficients = np.eye(3, dtype=np.float32)  # box i takes prototype i alone
    output0 = anchor_free_rows(cxcywh, [0, 1, 0], [0.9, 0.8, 0.7], 2, coefficients, ANCHORS)
    path = constant_outputs_model(tmp_path / 'seg.onnx',
                                  {'output0': output0, 'output1': seg_prototypes()},
                                  input_shape=(1, 3, INPUT, INPUT), metadata=metadata)
    return path, frame_boxes


def expected_seg_masks() -> np.ndarray:
    """Masks by hand: prototype 1 changes sign at frame x = 32, prototype 2 at frame y = 8."""
    masks = np.zeros((3, *FRAME_HW), bool)
    masks[0, 8:16, 12:28] = True          # all ones inside its box
    masks[1, 8:24, 8:32] = True           # the left half of its box
    masks[2, 0:8, 24:48] = True           # the top rows of its box (rows 4..5 of prototypes)
    return masks


def test_seg_masks_are_exact_and_in_frame_pixels(tmp_path):
    path, frame_boxes = seg_model(tmp_path)
    detector = Detector(path)
    assert detector.layout.name == 'yolov8-seg' and detector.layout.num_classes == 2
    assert detector.layout.mask_channels == 3
    detections = detector(np.zeros((*FRAME_HW, 3), np.uint8), ALL).detections
    np.testing.assert_allclose(detections.xyxy, frame_boxes)
    assert detections.mask is not None and detections.mask.dtype == bool
    assert detections.mask.shape == (3, *FRAME_HW)
    for index, (got, want) in enumerate(zip(detections.mask, expected_seg_masks())):
        assert np.array_equal(got, want), f'mask {index}: {np.argwhere(got != want)[:5]}'


def test_seg_masks_only_for_kept_detections_and_only_when_wanted(tmp_path):
    path, _ = seg_model(tmp_path, metadata={'task': 'segment', 'names': "{0: 'a', 1: 'b'}"})
    detector = Detector(path)
    frame = np.zeros((*FRAME_HW, 3), np.uint8)
    top_one = detector(frame, PostprocessOptions(confidence=0.25, max_detections=1)).detections
    assert len(top_one) == 1 and top_one.mask.shape == (1, *FRAME_HW)
    assert np.array_equal(top_one.mask[0], expected_seg_masks()[0])
    class_b = detector(frame, PostprocessOptions(confidence=0.25, classes=[1])).detections
    assert np.array_equal(class_b.mask, expected_seg_masks()[1:2])
    detector.compute_masks = False
    unmasked = detector(frame, ALL).detections
    assert len(unmasked) == 3 and unmasked.mask is None


def test_seg_without_prototypes_is_refused_naming_the_layout(tmp_path):
    output0 = anchor_free_rows(np.array([[32, 32, 8, 8]]), [0], [0.9], 2, np.ones((1, 3)),
                               ANCHORS)
    path = constant_outputs_model(tmp_path / 'noproto.onnx', {'output0': output0},
                                  input_shape=(1, 3, INPUT, INPUT), metadata={'task': 'segment'})
    with pytest.raises(ModelError, match='yolov8-seg.*prototypes'):
        Detector(path)


def test_label_image_numbers_detections_first_wins():
    masks = expected_seg_masks()
    labels = label_image(masks)
    assert labels.dtype == np.uint16
    assert labels[10, 14] == 1 and labels[20, 10] == 2 and labels[2, 40] == 3
    assert labels[10, 26] == 1          # masks 1, 2 and 3 overlap there: the first wins
    assert labels[30, 60] == 0 and int((labels > 0).sum()) == int(masks.any(axis=0).sum())


def rotated_corners(cx, cy, w, h, angle) -> np.ndarray:
    """Corners written out: centre +- half w along (cos, sin) +- half h along (-sin, cos)."""
    c, s = math.cos(angle), math.sin(angle)
    return np.array([(cx + a * w / 2 * c - b * h / 2 * s, cy + a * w / 2 * s + b * h / 2 * c)
                     for a in (1, -1) for b in (1, -1)])


def assert_same_points(got: np.ndarray, want: np.ndarray) -> None:
    """Assert the same four points, in any order (each of got within 1e-3 of one of want)."""
    distance = np.linalg.norm(np.asarray(got)[:, None] - want[None], axis=2)
    assert (distance.min(axis=0) < 1e-3).all() and (distance.min(axis=1) < 1e-3).all(), (
        f'{np.asarray(got).tolist()} != {want.tolist()}')


def obb_model(tmp_path, rboxes, class_ids, scores, metadata=None):
    rboxes = np.asarray(rboxes, np.float32)
    output0 = anchor_free_rows(rboxes[:, :4], class_ids, scores, 2, rboxes[:, 4:], ANCHORS)
    return constant_outputs_model(tmp_path / 'obb.onnx', {'output0': output0},
                                  input_shape=(1, 3, INPUT, INPUT), metadata=metadata)


def test_obb_corners_exact_in_frame_pixels_and_xyxy_around_them(tmp_path):
    # Input boxes; the frame is the input shifted up by the 16-row letterbox pad.
    rboxes = [[20, 30, 20, 8, math.pi / 6], [44, 34, 6, 16, 0.0]]  # the second has h > w
    path = obb_model(tmp_path, rboxes, [0, 1], [0.9, 0.8], metadata={'task': 'obb'})
    detector = Detector(path)
    assert detector.layout.name == 'yolov8-obb' and detector.layout.num_classes == 2
    detections = detector(np.zeros((*FRAME_HW, 3), np.uint8), ALL).detections
    assert len(detections) == 2
    corners = detections.data['xyxyxyxy']
    assert corners.shape == (2, 4, 2)
    for got, (cx, cy, w, h, angle) in zip(corners, rboxes):
        assert_same_points(got, rotated_corners(cx, cy - 16, w, h, angle))
    np.testing.assert_allclose(detections.xyxy[:, :2], np.clip(corners.min(axis=1), 0, None),
                               atol=1e-4)
    np.testing.assert_allclose(detections.xyxy[:, 2:], np.minimum(corners.max(axis=1), (64, 32)),
                               atol=1e-4)
    # The h > w box is given in the canonical form: the first side the longer one.
    side = np.linalg.norm(corners[1, 0] - corners[1, 3])
    assert side == pytest.approx(16.0, abs=1e-4)


def test_obb_nms_uses_the_rotated_overlap(tmp_path):
    # Two thin boxes crossing in an X: their axis-aligned boxes are identical (IoU 1), the boxes
    # themselves barely overlap, so both stay; a near-copy of the first is suppressed.
    rboxes = [[32, 32, 40, 4, math.pi / 4], [32, 32, 40, 4, -math.pi / 4],
              [32, 32, 40, 4, math.pi / 4 + 0.02]]
    path = obb_model(tmp_path, rboxes, [0, 0, 0], [0.9, 0.8, 0.7], metadata={'task': 'obb'})
    detections = Detector(path)(np.zeros((64, 64, 3), np.uint8), ALL).detections
    assert detections.confidence.tolist() == pytest.approx([0.9, 0.8])
    assert np.allclose(detections.xyxy[0], detections.xyxy[1], atol=1e-4)


def test_obb_explicit_layout_without_metadata(tmp_path):
    path = obb_model(tmp_path, [[32, 32, 20, 10, 0.5]], [1], [0.9])
    assert Detector(path).layout.name == 'yolov8'  # without the task, a 3-class yolov8
    detector = Detector(path, layout='yolov8-obb')
    detections = detector(np.zeros((64, 64, 3), np.uint8), ALL).detections
    assert detections.class_id.tolist() == [1]
    assert_same_points(detections.data['xyxyxyxy'][0], rotated_corners(32, 32, 20, 10, 0.5))


def test_pose_model_is_refused_in_one_line(tmp_path):
    output0 = np.zeros((1, 4 + 1 + 51, ANCHORS), np.float32)
    path = constant_outputs_model(tmp_path / 'pose.onnx', {'output0': output0},
                                  input_shape=(1, 3, INPUT, INPUT),
                                  metadata={'task': 'pose', 'kpt_shape': '[17, 3]'})
    with pytest.raises(ModelError) as error:
        Detector(path)
    assert 'pose' in str(error.value) and '4+nc+K*3' in str(error.value)
    assert '\n' not in str(error.value)


def test_rotated_nms_in_row_blocks_equals_one_block_and_label_image_by_boxes():
    from stream_infer.detection.nms import fast_rotated_keep
    rng = np.random.default_rng(3)
    boxes = np.column_stack((rng.uniform(0, 100, (300, 2)), rng.uniform(5, 40, (300, 2)),
                             rng.uniform(0, math.pi, 300))).astype(np.float32)
    classes = rng.integers(0, 3, 300)
    whole = fast_rotated_keep(boxes, 0.3, classes, rows=300)
    assert 0 < whole.sum() < 300
    assert np.array_equal(fast_rotated_keep(boxes, 0.3, classes, rows=7), whole)
    masks = expected_seg_masks()
    boxes_xyxy = np.array([[12, 8, 28, 16], [8, 8, 56, 24], [24, 0, 48, 32]], np.float32)
    assert np.array_equal(label_image(masks, boxes_xyxy), label_image(masks))
