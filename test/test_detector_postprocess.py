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
NMS, top-k, max detections and class filters against independent references.

The references are a brute-force greedy NMS written here in plain Python and OpenCV's
cv2.dnn.NMSBoxes; boxes, scores and classes are randomised with hypothesis.
"""

import dataclasses

import cv2
from hypothesis import given, HealthCheck, settings, strategies as st
import numpy as np
from onnx_graphs import constant_output_model, yolov8_output
import pytest
import supervision as sv

from stream_infer.detection import Detector
from stream_infer.detection.candidates import Candidates, top_k
from stream_infer.detection.nms import (
    iou_between, MATRIX_NMS_LIMIT, nms, pairwise_iou, select, select_indices)
from stream_infer.detection.output_decoding import decode, OutputLayout
from stream_infer.options import PostprocessOptions

SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def reference_iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    area_a = max(0.0, a[2] - a[0]) * max(0.0, a[3] - a[1])
    area_b = max(0.0, b[2] - b[0]) * max(0.0, b[3] - b[1])
    union = area_a + area_b - inter
    return inter / union if union > 0 else 0.0


def reference_nms(boxes, scores, classes, iou_threshold, agnostic) -> list:
    """Textbook greedy NMS: best first, drop what overlaps a kept box of the same class."""
    boxes = [[float(v) for v in b] for b in boxes]
    order = sorted(range(len(scores)), key=lambda i: (-float(scores[i]), i))
    kept = []
    for i in order:
        if all(not (agnostic or classes[i] == classes[k])
               or reference_iou(boxes[i], boxes[k]) <= iou_threshold for k in kept):
            kept.append(i)
    return kept


def reference_select(boxes, scores, classes, opts: PostprocessOptions) -> list:
    candidates = [i for i in range(len(scores)) if scores[i] >= opts.confidence
                  and (opts.classes is None or classes[i] in opts.classes)]
    candidates.sort(key=lambda i: (-float(scores[i]), i))
    candidates = candidates[:opts.max_candidates]
    kept = reference_nms([boxes[i] for i in candidates], [scores[i] for i in candidates],
                         [classes[i] for i in candidates], opts.iou_threshold,
                         opts.class_agnostic)
    return [candidates[k] for k in kept][:opts.max_detections]


@st.composite
def box_sets(draw, max_boxes: int = 40, num_classes: int = 3):
    """Clustered boxes (so that many overlap), some degenerate, with tied scores possible."""
    n = draw(st.integers(0, max_boxes))
    coord = st.floats(0, 100, allow_nan=False, width=32)
    size = st.one_of(st.floats(0, 60, allow_nan=False, width=32), st.just(0.0))
    x1 = np.array(draw(st.lists(coord, min_size=n, max_size=n)), np.float32)
    y1 = np.array(draw(st.lists(coord, min_size=n, max_size=n)), np.float32)
    w = np.array(draw(st.lists(size, min_size=n, max_size=n)), np.float32)
    h = np.array(draw(st.lists(size, min_size=n, max_size=n)), np.float32)
    score = st.one_of(st.floats(0, 1, width=32), st.sampled_from([0.25, 0.5, 0.75]))
    scores = np.array(draw(st.lists(score, min_size=n, max_size=n)), np.float32)
    classes = np.array(draw(st.lists(st.integers(0, num_classes - 1), min_size=n,
                                     max_size=n)), np.int64)
    xyxy = np.stack([x1, y1, x1 + w, y1 + h], axis=1) if n else np.zeros((0, 4), np.float32)
    return xyxy.astype(np.float32), scores, classes


options_strategy = st.builds(
    PostprocessOptions,
    confidence=st.sampled_from([0.0, 0.2, 0.5]),
    iou_threshold=st.sampled_from([0.0, 0.3, 0.45, 0.7, 1.0]),
    class_agnostic=st.booleans(),
    max_candidates=st.integers(1, 50),
    max_detections=st.integers(1, 50),
    classes=st.one_of(st.none(), st.sets(st.integers(0, 2), min_size=1).map(tuple)))


@SETTINGS
@given(box_sets(), st.sampled_from([0.0, 0.2, 0.45, 0.5, 0.9]), st.booleans())
def test_nms_matches_brute_force(data, iou_threshold, agnostic):
    xyxy, scores, classes = data
    kept = nms(xyxy, scores, iou_threshold, None if agnostic else classes)
    assert kept.tolist() == reference_nms(xyxy, scores, classes, iou_threshold, agnostic)


@SETTINGS
@given(box_sets(num_classes=1), st.sampled_from([0.2, 0.45, 0.7]))
def test_agnostic_nms_matches_opencv(data, iou_threshold):
    xyxy, scores, _ = data
    # OpenCV keeps only scores above its (non-negative) threshold, and calls two empty boxes
    # identical (IoU 1) where we (and torchvision) never let an empty box suppress anything.
    # It also computes in float32, where sides below the smallest normal float (subnormals,
    # e.g. a height of 1e-45) lose their precision: such boxes are compared with brute force
    # in float64 by test_nms_matches_brute_force instead.
    tiny = np.finfo(np.float32).tiny
    positive = ((scores > 0) & (xyxy[:, 2] - xyxy[:, 0] >= tiny)
                & (xyxy[:, 3] - xyxy[:, 1] >= tiny))
    xyxy, scores = xyxy[positive].astype(np.float64), scores[positive]
    ours = nms(xyxy, scores, iou_threshold)
    if not len(scores):
        assert len(ours) == 0
        return
    rects = [(float(x1), float(y1), float(x2 - x1), float(y2 - y1)) for x1, y1, x2, y2 in xyxy]
    theirs = cv2.dnn.NMSBoxes(rects, scores.astype(float).tolist(), 0.0, iou_threshold)
    theirs = np.asarray(theirs, dtype=np.int64).reshape(-1)
    # OpenCV orders equal scores its own way; the kept set and score order must agree.
    assert sorted(ours.tolist()) == sorted(theirs.tolist())
    assert np.all(np.diff(scores[ours]) <= 0)


@SETTINGS
@given(box_sets(max_boxes=60), options_strategy)
def test_select_matches_reference(data, opts):
    xyxy, scores, classes = data
    candidates = Candidates(xyxy, scores, classes)
    decoded = np.flatnonzero(scores >= opts.confidence)  # what decode() hands over
    kept = select_indices(candidates.take(decoded), iou_threshold=opts.iou_threshold,
                          class_agnostic=opts.class_agnostic,
                          max_candidates=opts.max_candidates,
                          max_detections=opts.max_detections, classes=opts.classes)
    assert decoded[kept].tolist() == reference_select(xyxy, scores, classes, opts)


@SETTINGS
@given(box_sets(max_boxes=60), options_strategy)
def test_callable_model_detector_matches_reference(data, opts):
    # The whole Detector.run path: threshold, filter, top-k, NMS, max detections, clipping.
    xyxy, scores, classes = data
    rows = np.column_stack([xyxy, scores, classes]).astype(np.float32)
    detector = Detector(lambda frame: rows, labels=['a', 'b', 'c'])
    dets = detector(np.zeros((80, 90, 3), np.uint8), opts).detections
    expected = reference_select(xyxy, scores, classes, opts)
    clipped = np.clip(xyxy[expected], 0, [90, 80, 90, 80]).reshape(-1, 4)
    visible = (clipped[:, 2] > clipped[:, 0]) & (clipped[:, 3] > clipped[:, 1])
    expected = np.asarray(expected, np.int64)[visible]
    np.testing.assert_array_equal(dets.confidence, scores[expected])
    np.testing.assert_array_equal(dets.class_id, classes[expected])
    np.testing.assert_allclose(dets.xyxy, clipped[visible])
    assert dets.data['class_name'].tolist() == [['a', 'b', 'c'][c] for c in classes[expected]]


@SETTINGS
@given(st.integers(0, 2**32 - 1), options_strategy, st.booleans())
def test_yolov8_decode_and_select_match_reference(seed, opts, transposed):
    # A raw [1, 4+nc, N] output with tied scores; decode (with top-k moved before the argmax
    # when there is no class filter, as Detector.run does) + select vs a per-anchor reference.
    rng = np.random.default_rng(seed)
    n, nc = 120, 3
    raw = np.zeros((1, 4 + nc, n), np.float32)
    raw[0, :2] = rng.uniform(0, 100, (2, n))
    raw[0, 2:4] = rng.uniform(0, 40, (2, n))
    raw[0, 4:] = rng.choice([0.1, 0.3, 0.5, 0.7, 0.9], (nc, n)) * rng.uniform(0.9, 1, (nc, 1))
    layout = OutputLayout('yolov8', nc, transposed)
    feed = raw.transpose(0, 2, 1).copy() if transposed else raw
    found = decode(feed, layout, opts.confidence,
                   opts.max_candidates if opts.classes is None else None)
    kept = select(found, iou_threshold=opts.iou_threshold, class_agnostic=opts.class_agnostic,
                  max_candidates=opts.max_candidates, max_detections=opts.max_detections,
                  classes=opts.classes)
    boxes, scores, classes = [], [], []
    for a in range(n):  # the reference: one anchor at a time
        cx, cy, w, h = raw[0, :4, a]  # float32 arithmetic, as the model output is float32
        column = [float(v) for v in raw[0, 4:, a]]
        best = max(range(nc), key=lambda c: (column[c], -c))  # first maximum, like argmax
        half_w, half_h = w * np.float32(0.5), h * np.float32(0.5)
        boxes.append([cx - half_w, cy - half_h, cx + half_w, cy + half_h])
        scores.append(np.float32(column[best]))
        classes.append(best)
    expected = reference_select(boxes, scores, classes, opts)
    assert kept.class_ids.tolist() == [classes[i] for i in expected]
    np.testing.assert_array_equal(kept.scores, [scores[i] for i in expected])
    np.testing.assert_array_equal(kept.xyxy,
                                  np.array([boxes[i] for i in expected]).reshape(-1, 4))


def test_nms_long_suppression_chain():
    # Each box overlaps only its neighbours: greedy keeps every other box. A single pass of
    # "suppressed by any higher box" (Fast NMS) would keep only the first.
    xyxy = np.array([[i * 6.0, 0, i * 6.0 + 10, 10] for i in range(30)])
    scores = np.linspace(1, 0.1, 30)
    kept = nms(xyxy, scores, 0.2)
    assert kept.tolist() == list(range(0, 30, 2))
    assert kept.tolist() == reference_nms(xyxy, scores, [0] * 30, 0.2, True)


def test_nms_beyond_matrix_limit_matches_reference():
    rng = np.random.default_rng(7)
    n = MATRIX_NMS_LIMIT + 100
    xy = rng.uniform(0, 1000, (n, 2))
    xyxy = np.hstack([xy, xy + rng.uniform(5, 80, (n, 2))])
    scores = rng.uniform(0, 1, n)
    classes = rng.integers(0, 4, n)
    kept = nms(xyxy, scores, 0.45, classes)
    assert kept.tolist() == reference_nms(xyxy, scores, classes, 0.45, False)


def test_per_class_vs_agnostic():
    xyxy = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [0, 0, 10, 10]], np.float32)
    scores = np.array([0.9, 0.8, 0.7], np.float32)
    classes = np.array([0, 1, 0])
    assert nms(xyxy, scores, 0.5, classes).tolist() == [0, 1]
    assert nms(xyxy, scores, 0.5).tolist() == [0]


def test_top_k_ties_and_order():
    scores = np.array([0.5, 0.9, 0.5, 0.7, 0.5], np.float32)
    assert top_k(scores, 3).tolist() == [1, 3, 0]
    assert top_k(scores, 4).tolist() == [1, 3, 0, 2]
    assert top_k(scores, 10).tolist() == [1, 3, 0, 2, 4]


def test_max_candidates_and_max_detections_on_an_onnx_model(tmp_path):
    # 50 separate boxes of decreasing score: top-k and max_detections cut the list.
    n = 50
    cx = 40 + (np.arange(n) % 10) * 60
    cy = 40 + (np.arange(n) // 10) * 60
    cxcywh = np.stack([cx, cy, np.full(n, 30), np.full(n, 30)], axis=1)
    scores = np.linspace(0.95, 0.5, n).astype(np.float32)
    out = yolov8_output(cxcywh, np.arange(n) % 3, scores, num_classes=3)
    detector = Detector(constant_output_model(tmp_path / 'm.onnx', out),
                        labels=['person', 'cup', 'dog'])
    frame = np.zeros((640, 640, 3), np.uint8)
    assert len(detector(frame).detections) == n
    base = PostprocessOptions(confidence=0.1)
    assert len(detector(frame, dataclasses.replace(base, max_candidates=7)).detections) == 7
    top = detector(frame, dataclasses.replace(base, max_detections=5)).detections
    np.testing.assert_allclose(top.confidence, scores[:5])
    cups = detector.resolve_classes(['cup'])
    only = detector(frame, dataclasses.replace(base, classes=cups)).detections
    assert set(only.data['class_name']) == {'cup'} and len(only) == len(range(1, n, 3))
    # The class filter acts before top-k: the 3 best cups, not the cups among the 3 best.
    three = detector(frame, dataclasses.replace(base, classes=cups, max_candidates=3))
    np.testing.assert_allclose(three.detections.confidence, scores[[1, 4, 7]])
    # The detector owns no thresholds: without options, run() uses the defaults, every time.
    assert len(detector(frame, dataclasses.replace(base, max_detections=2)).detections) == 2
    assert len(detector(frame).detections) == n


def test_callable_returning_supervision_detections_keeps_its_names():
    def model(frame):
        return sv.Detections(xyxy=np.array([[5, 5, 20, 20], [6, 6, 21, 21], [40, 40, 60, 60]],
                                           np.float32),
                             confidence=np.array([0.9, 0.8, 0.4], np.float32),
                             class_id=np.array([3, 3, 7]),
                             data={'class_name': np.array(['kite', 'kite', 'boat'])})
    detector = Detector(model)
    assert detector.provider == 'python'
    dets = detector(np.zeros((50, 50, 3), np.uint8), PostprocessOptions(confidence=0.3)).detections
    assert dets.data['class_name'].tolist() == ['kite', 'boat']
    np.testing.assert_allclose(dets.xyxy, [[5, 5, 20, 20], [40, 40, 50, 50]])  # clipped
    assert detector.class_names == []


def test_callable_without_names_uses_indices_and_empty_result_has_all_fields():
    detector = Detector(lambda frame: np.array([[1, 1, 9, 9, 0.9, 12]]))
    dets = detector(np.zeros((10, 10, 3), np.uint8)).detections
    assert dets.data['class_name'].tolist() == ['12']
    empty = detector(np.zeros((10, 10, 3), np.uint8), PostprocessOptions(confidence=0.95))
    assert len(empty.detections) == 0
    assert empty.detections.xyxy.shape == (0, 4)
    assert empty.detections.class_id.shape == (0,) and 'class_name' in empty.detections.data


def test_callable_bad_return_value_is_a_clear_error():
    from stream_infer.errors import ModelError
    detector = Detector(lambda frame: np.zeros((3, 5)))
    with pytest.raises(ModelError, match=r'shape \(3, 5\).*\(N, 6\)'):
        detector(np.zeros((10, 10, 3), np.uint8))
    with pytest.raises(ModelError, match='returned dict'):
        Detector(lambda frame: {})(np.zeros((10, 10, 3), np.uint8))


@pytest.mark.parametrize('kwargs,match', [
    ({'confidence': 1.5}, 'confidence'), ({'iou_threshold': -0.1}, 'iou_threshold'),
    ({'max_candidates': 0}, 'max_candidates'), ({'max_detections': 2.5}, 'max_detections'),
    ({'classes': ('person',)}, 'resolve_classes'), ({'classes': (-1,)}, 'classes'),
])
def test_postprocess_options_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        PostprocessOptions(**kwargs)


def test_postprocess_options_are_immutable_and_normalised():
    opts = PostprocessOptions(classes=[2, 0])
    assert opts.classes == (2, 0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        opts.confidence = 0.9
    detector = Detector(lambda frame: np.zeros((0, 6)))
    with pytest.raises(TypeError, match='PostprocessOptions'):
        detector(np.zeros((8, 8, 3), np.uint8), {'confidence': 0.5})


@SETTINGS
@given(box_sets(max_boxes=20))
def test_iou_between_two_sets_is_the_pairwise_iou_block(data):
    xyxy = data[0].astype(np.float64)
    a, b = xyxy[:len(xyxy) // 2], xyxy[len(xyxy) // 2:]
    np.testing.assert_allclose(iou_between(a, b), pairwise_iou(xyxy)[:len(a), len(a):],
                               atol=1e-9)
