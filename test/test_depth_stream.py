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

"""3D detections through the engine: RGBDFrame items, put_frame(depth=...), the JSON dicts."""

from pathlib import Path
import threading

import cv2
from helpers.rgbd_scenes import box_of, ellipse_mask, K
import numpy as np
import pytest

from stream_infer.depth import CENTRE_KEY, DepthImage, RGBDFrame, SIZE_KEY
from stream_infer.stream import InferenceStream

PHOTO = Path(__file__).parent / 'data' / 'astronaut.jpg'


def boxes_model(boxes):
    """Return a callable model giving these pixel boxes (class 0, score 0.9) on every frame."""
    rows = np.array([[*box, 0.9, 0] for box in boxes])
    return lambda frame: rows


def test_a_real_photo_person_box_at_a_known_depth_over_a_farther_background():
    """The bundled model finds the astronaut; her silhouette is at 1.8 m, the wall at 5 m."""
    image = cv2.imread(str(PHOTO))
    h, w = image.shape[:2]
    k = K._replace(cx=w / 2 - 0.5, cy=h / 2 - 0.5, width=w, height=h)
    box = np.array([20.0, 14.0, 362.0, 512.0])  # test_detector_real_images: her box
    depth = np.full((h, w), 5000, np.uint16)
    depth[ellipse_mask(box, (h, w), fill=0.8)] = 1800
    results = []
    stream = InferenceStream([RGBDFrame(image, depth, k)], classes=['person'], track=False)
    stream.on_result(results.append)
    stream.run()
    detections = results[0].detections
    best = int(np.argmax(detections.confidence))
    centre, size = detections.data[CENTRE_KEY][best], detections.data[SIZE_KEY][best]
    assert centre[2] == pytest.approx(1.8, rel=0.01)
    found = detections.xyxy[best]
    u, v = (found[0] + found[2]) / 2 - 0.5, (found[1] + found[3]) / 2 - 0.5
    assert centre[:2] == pytest.approx([(u - k.cx) * 1.8 / k.fx, (v - k.cy) * 1.8 / k.fy],
                                       abs=0.01)
    assert size[:2] == pytest.approx([(found[2] - found[0]) * 1.8 / k.fx,
                                      (found[3] - found[1]) * 1.8 / k.fy], rel=0.05)
    prediction = results[0].predictions['predictions'][best]
    assert prediction['position_m']['z'] == pytest.approx(1.8, rel=0.01)
    assert stream.stats().detections_2d_only == 0


def test_put_frame_with_depth_pairs_travel_together_and_the_newest_wins():
    """Each frame's depth is its own (distance = 1 + id / 10 m); frames without depth stay 2D."""
    objects = [((0.0, 0.0, 2.0), (0.5, 0.5)), ((0.6, 0.2, 2.0), (0.3, 0.8))]
    stream = InferenceStream(None, boxes_model([box_of(c, s) for c, s in objects]),
                             track=False, depth_options={'depth_min_valid_pixels': 5})
    results, first, done = [], threading.Event(), threading.Event()

    def collect(result):
        results.append(result)
        (done if result.frame.meta == 'last' else first).set()
    stream.on_result(collect)
    stream.start()
    try:
        for index in range(40):
            metres = 1.0 + index / 10.0
            depth = np.full((K.height, K.width), metres, np.float32)
            image = np.full((K.height, K.width, 3), index, np.uint8)
            stream.put_frame(image, meta=index, depth=depth, intrinsics=list(K[:4]))
            if index == 0:  # at least one pair is delivered, whatever the machine's speed
                assert first.wait(10.0)
        stream.put_frame(np.zeros((K.height, K.width, 3), np.uint8), meta='last')
        assert done.wait(10.0)
    finally:
        stream.stop()
    with_depth = [r for r in results if r.frame.meta != 'last']
    assert with_depth, 'no frame with depth was delivered'
    for result in with_depth:
        expected = 1.0 + result.frame.meta / 10.0
        assert result.frame.image[0, 0, 0] == result.frame.meta
        assert result.detections.data[CENTRE_KEY][:, 2] == pytest.approx(expected, rel=0.01)
        assert 'position_m' in result.predictions['predictions'][0]
    last = results[-1]
    assert CENTRE_KEY not in last.detections.data
    assert 'position_m' not in last.predictions['predictions'][0]


def test_detections_left_2d_are_counted_and_bad_depth_is_refused():
    depth = np.zeros((K.height, K.width), np.uint16)  # no data anywhere
    stream = InferenceStream([RGBDFrame(np.zeros((480, 640, 3), np.uint8), depth, K)] * 3,
                             boxes_model([[10, 10, 100, 100], [200, 200, 300, 260]]))
    stream.run()
    assert stream.stats().detections_2d_only == 6
    push = InferenceStream(None, boxes_model([]))
    with pytest.raises(ValueError, match='needs intrinsics'):
        push.put_frame(np.zeros((4, 4, 3), np.uint8), depth=np.zeros((4, 4), np.uint16))
    with pytest.raises(ValueError, match='either in the DepthImage or beside it'):
        push.put_frame(np.zeros((4, 4, 3), np.uint8),
                       depth=DepthImage(np.zeros((4, 4), np.uint16), K), intrinsics=K)
    bad = InferenceStream([(np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4), np.int8), K)],
                          boxes_model([]))
    assert bad.run().stop_reason == 'failed'
