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
Masks and oriented boxes at the engine's edges: JSON points, annotated image, capture labels.

The detections come from the small -seg / -obb graphs of test_detector_tasks (known masks and
corners) through a real onnxruntime session; the captured YOLO-seg / YOLO-OBB datasets are
loaded back with supervision's own reader, as a user would.
"""

from pathlib import Path

import cv2
from helpers.capture_scene import NO_LIMITS
import numpy as np
import pytest
import supervision as sv
from test_detector_tasks import ALL, expected_seg_masks, FRAME_HW, obb_model, seg_model

from stream_infer.annotate import FrameAnnotator
from stream_infer.capture import CaptureSink
from stream_infer.detection import Detector
from stream_infer.predictions import predictions_list
from stream_infer.results import StreamResult
from stream_infer.sources import Frame

NAMES = ['a', 'b']
OBB_BOXES = [[20, 30, 20, 8, 0.5], [44, 34, 16, 6, 2.0]]  # input pixels; frame = y - 16


def seg_detections(tmp_path):
    frame = np.full((*FRAME_HW, 3), 80, np.uint8)
    return frame, Detector(seg_model(tmp_path)[0])(frame, ALL).detections


def obb_detections(tmp_path):
    frame = np.full((*FRAME_HW, 3), 80, np.uint8)
    path = obb_model(tmp_path, OBB_BOXES, [0, 1], [0.9, 0.8], metadata={'task': 'obb'})
    return frame, Detector(path)(frame, ALL).detections


def filled(points, shape) -> np.ndarray:
    """Rasterise a polygon of pixel coordinates (what YOLO-seg readers do)."""
    canvas = np.zeros(shape, np.uint8)
    cv2.fillPoly(canvas, [np.round(np.asarray(points)).astype(np.int32)], 1)
    return canvas.astype(bool)


def test_json_points_outline_each_mask_and_give_obb_corners(tmp_path):
    _, detections = seg_detections(tmp_path)
    predictions = predictions_list(detections, NAMES)
    for prediction, mask in zip(predictions, expected_seg_masks()):
        points = [(p['x'], p['y']) for p in prediction['points']]
        assert len(points) >= 4 and np.array_equal(filled(points, FRAME_HW), mask)
    _, oriented = obb_detections(tmp_path)
    predictions = predictions_list(oriented, NAMES)
    for prediction, corners in zip(predictions, oriented.data['xyxyxyxy']):
        got = [(p['x'], p['y']) for p in prediction['points']]
        np.testing.assert_allclose(got, corners, atol=1e-5)
    assert predictions[0]['angle'] == pytest.approx(0.5, abs=1e-5)
    assert predictions[1]['angle'] == pytest.approx(2.0, abs=1e-5)  # w >= h: as given


def test_annotated_image_draws_masks_and_oriented_outlines(tmp_path):
    frame, detections = seg_detections(tmp_path)
    drawn = FrameAnnotator(labels=False, traces=False).annotate(frame, detections)
    changed = np.abs(drawn.astype(int) - frame).sum(axis=2) > 0
    union = expected_seg_masks().any(axis=0)
    assert changed[union].mean() > 0.95, 'masks not filled'
    boxless = sv.Detections(xyxy=detections.xyxy, mask=detections.mask,
                            class_id=detections.class_id)
    assert not changed[~union & ~box_edges(boxless.xyxy)].any(), 'drawn outside masks and boxes'
    frame, oriented = obb_detections(tmp_path)
    drawn = FrameAnnotator(labels=False, traces=False).annotate(frame, oriented)
    changed = np.abs(drawn.astype(int) - frame).sum(axis=2) > 0
    for corners in oriented.data['xyxyxyxy']:  # the rotated outline passes by each corner
        for x, y in np.clip(np.round(corners), 0, (63, 31)).astype(int):
            assert changed[max(y - 1, 0):y + 2, max(x - 1, 0):x + 2].any()
    centre = np.round(oriented.data['xyxyxyxy'][0].mean(axis=0)).astype(int)
    assert not changed[centre[1], centre[0]], 'an outline, not a filled box'


def box_edges(xyxy: np.ndarray, width: int = 2) -> np.ndarray:
    """Return where box outlines (thickness 2) may be drawn on the frame."""
    edges = np.zeros(FRAME_HW, bool)
    for x1, y1, x2, y2 in np.round(xyxy).astype(int):
        outer = np.zeros(FRAME_HW, bool)
        outer[max(y1 - width, 0):y2 + width + 1, max(x1 - width, 0):x2 + width + 1] = True
        inner = np.zeros(FRAME_HW, bool)
        inner[y1 + width + 1:y2 - width, x1 + width + 1:x2 - width] = True
        edges |= outer & ~inner
    return edges


def capture(directory: Path, frame: np.ndarray, detections: sv.Detections) -> Path:
    """Capture one result; return the day's batch folder."""
    result = StreamResult(Frame(frame, frame_id=1, timestamp=0.0, monotonic=0.0), detections,
                          timings_ms={}, age_ms=0.0)
    with CaptureSink(directory, NAMES, rules=['random'], **NO_LIMITS) as sink:
        sink(result)
    assert sink.stats().saved == 1
    (batch,) = [p for p in directory.iterdir() if p.is_dir()]
    return batch


def load(batch: Path, **kwargs) -> sv.Detections:
    dataset = sv.DetectionDataset.from_yolo(str(batch / 'images'), str(batch / 'labels'),
                                            str(batch / 'data.yaml'), **kwargs)
    assert dataset.classes == NAMES and len(dataset) == 1
    (_, _, loaded), = list(dataset)
    return loaded


def test_capture_writes_yolo_seg_polygons_supervision_loads_as_the_masks(tmp_path):
    frame, detections = seg_detections(tmp_path)
    batch = capture(tmp_path / 'seg', frame, detections)
    (label,) = (batch / 'labels').iterdir()
    lines = label.read_text().splitlines()
    assert len(lines) == 3 and all(len(line.split()) >= 9 for line in lines)  # class + polygon
    loaded = load(batch, force_masks=True)
    assert loaded.class_id.tolist() == detections.class_id.tolist()
    assert np.array_equal(loaded.mask, expected_seg_masks())


def test_capture_writes_yolo_obb_corners_supervision_loads_as_delivered(tmp_path):
    frame, oriented = obb_detections(tmp_path)
    batch = capture(tmp_path / 'obb', frame, oriented)
    (label,) = (batch / 'labels').iterdir()
    assert [len(line.split()) for line in label.read_text().splitlines()] == [9, 9]
    loaded = load(batch, is_obb=True)
    assert loaded.class_id.tolist() == [0, 1]
    corners = np.clip(oriented.data['xyxyxyxy'], 0, (64, 32))  # labels stay in the image
    np.testing.assert_allclose(loaded.data['xyxyxyxy'], corners, atol=1e-3)
