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

"""The depth estimator on synthetic scenes of known geometry (stream_infer.depth)."""

from helpers.rgbd_scenes import box_of, ellipse_mask, K, plane_depth
import numpy as np
import pytest
import supervision as sv

from stream_infer.depth import (
    as_intrinsics, attach_3d, CameraIntrinsics, CENTRE_KEY, DepthImage, estimate_boxes_3d,
    SIZE_KEY)
from stream_infer.options import DepthOptions
from stream_infer.predictions import predictions_list

SIZE = (640, 480)
OBJECTS = [((0.0, 0.0, 1.5), (0.4, 0.6)), ((-0.8, 0.3, 3.0), (0.5, 1.7)),
           ((1.2, -0.5, 4.2), (0.9, 0.9)), ((0.3, 0.2, 0.8), (0.12, 0.2))]


def scene(objects, background: float = 8.0) -> np.ndarray:
    """Depth (metres) of camera-facing rectangles in front of a wall at background."""
    depth = np.full((K.height, K.width), background)
    for centre, size in sorted(objects, key=lambda o: -o[0][2]):  # nearest drawn last
        x1, y1, x2, y2 = np.rint(box_of(centre, size)).astype(int)
        depth[max(y1, 0):y2, max(x1, 0):x2] = centre[2]
    return depth


def check(boxes, objects):
    for (centre, size), got, got_size in zip(objects, boxes.centre, boxes.size):
        distance = np.linalg.norm(centre)
        assert np.linalg.norm(got - centre) <= 0.01 * distance, (centre, got)
        assert got_size[:2] == pytest.approx(size, rel=0.05), (size, got_size)


@pytest.mark.parametrize('encoding', ['16UC1', '32FC1'])
def test_objects_at_known_distances_both_encodings(encoding):
    metres = scene(OBJECTS)
    raw = (np.rint(metres * 1000).astype(np.uint16) if encoding == '16UC1'
           else metres.astype(np.float32))
    boxes = estimate_boxes_3d(np.array([box_of(c, s) for c, s in OBJECTS]), SIZE,
                              DepthImage(raw, K), DepthOptions())
    assert boxes.valid.all()
    check(boxes, OBJECTS)
    assert np.allclose(boxes.size[:, 2], 0.0, atol=0.002)  # flat faces: no depth extent


def test_a_person_box_over_a_farther_background():
    """An ellipse-shaped body at 2.5 m fills the box partly; the wall behind is at 6 m."""
    box = box_of((0.2, 0.1, 2.5), (0.6, 1.7))
    depth = np.full((K.height, K.width), 6.0)
    depth[ellipse_mask(box, (K.height, K.width), fill=0.85)] = 2.5
    boxes = estimate_boxes_3d(box[None], SIZE, DepthImage(depth.astype(np.float32), K),
                              DepthOptions())
    check(boxes, [((0.2, 0.1, 2.5), (0.6, 1.7))])
    # Without the central region (the whole box sampled) the wall pulls the median away.
    whole = estimate_boxes_3d(box[None], SIZE, DepthImage(depth.astype(np.float32), K),
                              DepthOptions(depth_central_fraction=1.0, depth_percentile=90))
    assert whole.centre[0, 2] > 3.0


def test_holes_nans_infs_and_out_of_range_values_are_ignored():
    rng = np.random.default_rng(3)
    metres = scene(OBJECTS).astype(np.float32)
    bad = rng.random(metres.shape)
    metres[bad < 0.25] = np.nan
    metres[(bad >= 0.25) & (bad < 0.35)] = np.inf
    metres[(bad >= 0.35) & (bad < 0.45)] = 0.0
    metres[(bad >= 0.45) & (bad < 0.5)] = 0.02  # below depth_min: sensor noise
    metres[(bad >= 0.5) & (bad < 0.55)] = 50.0  # beyond depth_max
    boxes = estimate_boxes_3d(np.array([box_of(c, s) for c, s in OBJECTS]), SIZE,
                              DepthImage(metres, K), DepthOptions())
    check(boxes, OBJECTS)
    millimetres = np.where(np.isfinite(metres), np.rint(metres * 1000), 0).astype(np.uint16)
    check(estimate_boxes_3d(np.array([box_of(c, s) for c, s in OBJECTS]), SIZE,
                            DepthImage(millimetres, K), DepthOptions()), OBJECTS)


@pytest.mark.parametrize('angle', [25.0, -40.0])
def test_tilted_plane_distance_at_the_box_centre(angle):
    a = np.radians(angle)
    depth = plane_depth((np.sin(a), 0.0, np.cos(a)), 2.0)
    box = np.array([250.0, 180.0, 410.0, 300.0])
    u, v = (box[0] + box[2]) / 2 - 0.5, (box[1] + box[3]) / 2 - 0.5
    ray = np.array([(u - K.cx) / K.fx, (v - K.cy) / K.fy, 1.0])
    true = ray * 2.0 / (np.sin(a) * ray[0] + np.cos(a))
    boxes = estimate_boxes_3d(box[None], SIZE, DepthImage(depth, K), DepthOptions())
    assert np.linalg.norm(boxes.centre[0] - true) <= 0.01 * np.linalg.norm(true)
    width = boxes.size[0, 0]
    assert width == pytest.approx(160 * true[2] / K.fx, rel=0.05)
    # The depth extent: the plane's depth change over the 10..90 % band of the sampled
    # central region (80 px wide around u: u - 32 .. u + 32).
    ends = depth[240, [round(u - 32), round(u + 32)]]
    assert boxes.size[0, 2] == pytest.approx(abs(ends[1] - ends[0]), rel=0.1)


def test_too_few_valid_pixels_leaves_the_detection_2d_and_is_counted():
    metres = scene(OBJECTS[:2]).astype(np.float32)
    first = np.rint(box_of(*OBJECTS[0])).astype(int)
    metres[first[1]:first[3], first[0]:first[2]] = np.nan  # no data at all on the first
    detections = sv.Detections(xyxy=np.array([box_of(c, s) for c, s in OBJECTS[:2]]),
                               class_id=np.array([0, 0]))
    assert attach_3d(detections, SIZE, DepthImage(metres, K), DepthOptions()) == 1
    assert np.isnan(detections.data[CENTRE_KEY][0]).all()
    check_second = detections.data[CENTRE_KEY][1]
    assert np.linalg.norm(check_second - OBJECTS[1][0]) < 0.03
    rows = predictions_list(detections)
    assert rows[0]['position_m'] is None and rows[0]['size_m'] is None
    assert rows[1]['position_m']['z'] == pytest.approx(3.0, rel=0.01)
    # A tiny box (4 x 4 px at 3 m): 2x2 central pixels, below depth_min_valid_pixels.
    tiny = sv.Detections(xyxy=np.array([[100.0, 100.0, 104.0, 104.0]]))
    assert attach_3d(tiny, SIZE, DepthImage(metres, K), DepthOptions()) == 1
    assert attach_3d(tiny, SIZE, DepthImage(metres, K),
                     DepthOptions(depth_min_valid_pixels=1)) == 0


def test_the_mask_is_used_instead_of_the_central_region():
    """A thin object (a pole) covers a small part of its box: only its mask finds it."""
    box = box_of((0.0, 0.0, 2.0), (0.8, 1.2))
    depth = np.full((K.height, K.width), 7.0, np.float32)
    mask = np.zeros((K.height, K.width), bool)
    x1, y1, x2, y2 = np.rint(box).astype(int)
    mask[y1:y2, x1:x1 + 25] = True  # a pole along the box's left edge
    mask[y1:y1 + 20, x1:x2] = True  # and a bar along its top
    depth[mask] = 2.0
    no_mask = sv.Detections(xyxy=box[None])
    attach_3d(no_mask, SIZE, DepthImage(depth, K), DepthOptions())
    assert no_mask.data[CENTRE_KEY][0, 2] == pytest.approx(7.0)  # the wall: the centre sees it
    masked = sv.Detections(xyxy=box[None], mask=mask[None])
    assert attach_3d(masked, SIZE, DepthImage(depth, K), DepthOptions()) == 0
    assert masked.data[CENTRE_KEY][0, 2] == pytest.approx(2.0, rel=0.01)
    assert masked.data[SIZE_KEY][0, :2] == pytest.approx([0.8, 1.2], rel=0.05)


def test_depth_at_another_resolution_than_the_colour_image():
    """Depth at half the colour size, camera_info calibrated at full size: K is scaled."""
    metres = scene(OBJECTS)[::2, ::2].astype(np.float32)
    boxes = estimate_boxes_3d(np.array([box_of(c, s) for c, s in OBJECTS]), SIZE,
                              DepthImage(metres, K), DepthOptions())
    for (centre, size), got in zip(OBJECTS, boxes.centre):
        assert np.linalg.norm(got - centre) <= 0.01 * np.linalg.norm(centre) + 0.01


def test_no_detections_and_boxes_outside_the_image():
    depth = DepthImage(np.full((480, 640), 1000, np.uint16), K)
    assert estimate_boxes_3d(np.zeros((0, 4)), SIZE, depth, DepthOptions()).centre.shape == (0, 3)
    outside = estimate_boxes_3d(np.array([[700.0, 10.0, 800.0, 50.0]]), SIZE, depth,
                                DepthOptions())
    assert not outside.valid[0]


def test_bad_inputs_are_refused_with_what_is_accepted():
    with pytest.raises(ValueError, match='dtype int8 not accepted; accepted: uint16'):
        DepthImage(np.zeros((4, 4), np.int8), K)
    with pytest.raises(ValueError, match='H x W'):
        DepthImage(np.zeros((4, 4, 3), np.uint16), K)
    with pytest.raises(ValueError, match='needs intrinsics'):
        DepthImage(np.zeros((4, 4), np.uint16), None)
    with pytest.raises(ValueError, match='fx > 0'):
        as_intrinsics([0.0] * 9)
    with pytest.raises(ValueError, match=r'3x3 K'):
        as_intrinsics('camera')
    assert as_intrinsics(np.eye(3) * 2) == CameraIntrinsics(2.0, 2.0, 0.0, 0.0)
    with pytest.raises(ValueError, match='depth_max'):
        DepthOptions(depth_min=5.0, depth_max=1.0)
