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
The bundled model on real photos finds what a person sees, where it is.

Regions were marked by hand on the images (test/data/PROVENANCE.md); the model is small and
inaccurate, so boxes must overlap those regions well, not match them exactly.
"""

from pathlib import Path

import cv2
import numpy as np
import pytest

from stream_infer.bundled import bundled_clip_path
from stream_infer.detection import Detector
from stream_infer.options import PostprocessOptions

DATA = Path(__file__).resolve().parent / 'data'

# media/vtest_clip.mp4, frame 100: walking pedestrians (x1, y1, x2, y2).
CLIP_FRAME = 100
PEDESTRIANS = np.array([[588, 150, 620, 235], [346, 198, 382, 275], [375, 176, 410, 258],
                        [492, 148, 521, 220], [513, 150, 543, 220], [221, 60, 238, 95],
                        [430, 176, 452, 258]], np.float64)


def iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union


def contains(box, point) -> bool:
    return box[0] <= point[0] <= box[2] and box[1] <= point[1] <= box[3]


@pytest.fixture(scope='module')
def detector():
    return Detector(threads=2)


def read(name: str) -> np.ndarray:
    image = cv2.imread(str(DATA / name))
    assert image is not None, f'missing test photo {name}'
    return image


def best(detections, class_name: str):
    mask = detections.data['class_name'] == class_name
    assert mask.any(), f'no {class_name} among {detections.data["class_name"].tolist()}'
    index = np.flatnonzero(mask)[np.argmax(detections.confidence[mask])]
    return detections.xyxy[index], float(detections.confidence[index])


def test_person_in_the_astronaut_photo(detector):
    dets = detector(read('astronaut.jpg')).detections
    box, score = best(dets, 'person')
    assert score >= 0.4
    assert iou(box, (20, 14, 362, 512)) >= 0.75
    assert contains(box, (225, 110))  # her face
    # She is the strongest detection of the photo.
    assert dets.data['class_name'][np.argmax(dets.confidence)] == 'person'


def test_cup_in_the_coffee_photo(detector):
    dets = detector(read('coffee.jpg'), PostprocessOptions(confidence=0.3)).detections
    box, score = best(dets, 'cup')
    assert score >= 0.35
    assert iou(box, (172, 20, 410, 305)) >= 0.6
    assert 'person' not in dets.data['class_name'].tolist()


def test_cup_alone_with_a_class_filter_by_name(detector):
    cups = detector.resolve_classes(['cup'])
    dets = detector(read('coffee.jpg'), PostprocessOptions(confidence=0.3, classes=cups))
    assert dets.detections.data['class_name'].tolist() == ['cup']


def test_pedestrians_in_a_clip_frame(detector):
    capture = cv2.VideoCapture(str(bundled_clip_path()))
    try:
        for _ in range(CLIP_FRAME + 1):  # read through: seeking in mp4 can land on a keyframe
            ok, frame = capture.read()
    finally:
        capture.release()
    assert ok and frame.shape == (576, 768, 3)
    dets = detector(frame, PostprocessOptions(confidence=0.45)).detections
    persons = dets.xyxy[dets.data['class_name'] == 'person']
    assert len(persons) >= 5
    overlaps = np.array([[iou(p, h) for h in PEDESTRIANS] for p in persons])
    # Every confident person box is on a pedestrian, and they cover at least five of them.
    assert (overlaps.max(axis=1) >= 0.5).all(), overlaps.max(axis=1)
    assert len(set(overlaps.argmax(axis=1))) >= 5


def test_black_frame_finds_nothing_confident(detector):
    dets = detector(np.zeros((480, 640, 3), np.uint8), PostprocessOptions(confidence=0.3))
    assert len(dets.detections) == 0
