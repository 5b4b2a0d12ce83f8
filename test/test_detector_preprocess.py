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

"""Preprocessing: letterbox placement, tensor contents, geometry round trips, thread safety."""

from concurrent.futures import ThreadPoolExecutor

import cv2
from hypothesis import assume, given, settings, strategies as st
import numpy as np
import pytest

from stream_infer.detection.model_input import metadata_preprocess_hints
from stream_infer.detection.preprocess import Geometry, InputSpec, letterbox_layout, Preprocessor


def ultralytics_letterbox(frame_hw, input_hw):
    """Compute the placement of ultralytics' LetterBox (auto=False, scaleup=True, center=True)."""
    shape = frame_hw
    r = min(input_hw[0] / shape[0], input_hw[1] / shape[1])
    new_unpad = int(round(shape[1] * r)), int(round(shape[0] * r))
    dw, dh = (input_hw[1] - new_unpad[0]) / 2, (input_hw[0] - new_unpad[1]) / 2
    top, left = int(round(dh - 0.1)), int(round(dw - 0.1))
    return (new_unpad[1], new_unpad[0]), (top, left)


INPUT_SIZES = [(640, 640), (512, 512), (320, 480), (736, 1280)]


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 4000), st.integers(1, 4000), st.sampled_from(INPUT_SIZES))
def test_letterbox_layout_matches_ultralytics(h, w, input_hw):
    expected = ultralytics_letterbox((h, w), input_hw)
    assume(min(expected[0]) >= 1)  # ultralytics would resize to 0 rows: see below
    assert letterbox_layout((h, w), input_hw) == expected


def test_letterbox_of_an_extreme_aspect_keeps_one_row():
    assert letterbox_layout((1, 960), (320, 480)) == ((1, 480), (159, 0))


def random_frame(h, w, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_same_size_nchw_rgb_unit_tensor_is_exact():
    frame = random_frame(48, 64)
    tensor, geometry = Preprocessor(InputSpec(48, 64))(frame)
    expected = frame[:, :, ::-1].transpose(2, 0, 1)[None].astype(np.float32) * np.float32(1 / 255)
    assert tensor.shape == (1, 3, 48, 64) and tensor.dtype == np.float32
    np.testing.assert_allclose(tensor, expected, rtol=1e-6)
    assert geometry == Geometry(48, 64, 1.0, 1.0, 0.0, 0.0)


def test_nhwc_bgr_raw_float16():
    frame = random_frame(32, 32)
    spec = InputSpec(32, 32, tensor_layout='NHWC', channel_order='BGR', scale=1.0,
                     dtype=np.float16)
    tensor, _ = Preprocessor(spec)(frame)
    assert tensor.shape == (1, 32, 32, 3) and tensor.dtype == np.float16
    np.testing.assert_array_equal(tensor[0], frame.astype(np.float16))


@pytest.mark.parametrize('frame_hw', [(576, 768), (480, 360), (333, 500), (100, 1000)])
def test_letterbox_content_and_padding(frame_hw):
    frame = random_frame(*frame_hw)
    spec = InputSpec(640, 640, scale=1.0, channel_order='BGR', tensor_layout='NHWC')
    tensor, geometry = Preprocessor(spec)(frame)
    (new_h, new_w), (top, left) = ultralytics_letterbox(frame_hw, (640, 640))
    image = tensor[0]
    resized = cv2.resize(frame, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    np.testing.assert_array_equal(image[top:top + new_h, left:left + new_w], resized)
    pad = np.ones((640, 640), bool)
    pad[top:top + new_h, left:left + new_w] = False
    assert (image[pad] == 114).all()
    assert (geometry.pad_x, geometry.pad_y) == (left, top)
    assert geometry.gain_x == pytest.approx(new_w / frame_hw[1])


def test_stretch_geometry_and_content():
    frame = random_frame(300, 400)
    spec = InputSpec(512, 512, tensor_layout='NHWC', channel_order='BGR', scale=1.0,
                     resize='stretch')
    tensor, geometry = Preprocessor(spec)(frame)
    np.testing.assert_array_equal(tensor[0], cv2.resize(frame, (512, 512)))
    assert geometry == Geometry(300, 400, 512 / 400, 512 / 300, 0.0, 0.0)


@settings(max_examples=50, deadline=None)
@given(st.integers(10, 2000), st.integers(10, 2000),
       st.lists(st.floats(0, 1, width=32), min_size=4, max_size=4))
def test_geometry_maps_input_boxes_back_inside_the_frame(h, w, fractions):
    (new_h, new_w), (top, left) = letterbox_layout((h, w), (640, 640))
    geometry = Geometry(h, w, new_w / w, new_h / h, left, top)
    # A box at these fractions of the frame, placed into the letterbox, comes back unchanged.
    fx1, fy1, fx2, fy2 = fractions
    frame_box = np.array([[fx1 * w, fy1 * h, fx2 * w, fy2 * h]])
    input_box = frame_box * ([new_w / w, new_h / h] * 2) + [left, top] * 2
    np.testing.assert_allclose(geometry.to_frame(input_box), frame_box,
                               atol=1e-3 * max(h, w) / 640 + 1e-3)
    # Anything in the input maps into the frame.
    out = geometry.to_frame(np.array([[-100, -100, 1000, 1000]]))
    assert out.tolist() == [[0, 0, w, h]]


def test_tensor_is_new_each_call_and_threads_do_not_interfere():
    pre = Preprocessor(InputSpec(320, 320))
    sizes = [(240, 320), (480, 360), (333, 500), (320, 320), (100, 700), (700, 100)]
    frames = [random_frame(h, w, seed=i) for i, (h, w) in enumerate(sizes)]
    expected = [pre(f) for f in frames]
    first = expected[0][0].copy()
    pre(frames[1])
    np.testing.assert_array_equal(expected[0][0], first)  # not overwritten by the next call

    def job(i):
        return pre(frames[i % len(frames)])

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(job, range(120)))
    for i, (tensor, geometry) in enumerate(results):
        want_tensor, want_geometry = expected[i % len(frames)]
        np.testing.assert_array_equal(tensor, want_tensor)
        assert geometry == want_geometry


def test_input_spec_validation():
    with pytest.raises(ValueError, match='tensor_layout'):
        InputSpec(64, 64, tensor_layout='CHW')
    with pytest.raises(ValueError, match='resize'):
        InputSpec(64, 64, resize='crop')
    with pytest.raises(ValueError, match='positive'):
        InputSpec(0, 64)


def test_metadata_hints_of_the_bundled_model_text():
    hints = metadata_preprocess_hints({'layout': 'NHWC RGB float32 0..255, stretched resize'})
    assert hints == {'tensor_layout': 'NHWC', 'channel_order': 'RGB', 'scale': 1.0,
                     'resize': 'stretch'}
    assert metadata_preprocess_hints({'layout': 'NCHW BGR 0..1 letterbox'}) == {
        'tensor_layout': 'NCHW', 'channel_order': 'BGR', 'scale': 1 / 255,
        'resize': 'letterbox'}
    assert metadata_preprocess_hints({'names': "{0: 'a'}"}) == {}


def fused_reference(frame, spec):
    """Compute the tensor with one numpy pass over the whole letterboxed canvas."""
    h, w = frame.shape[:2]
    canvas = np.full((spec.height, spec.width, 3), 114, np.uint8)
    if spec.resize == 'stretch':
        canvas[...] = cv2.resize(frame, (spec.width, spec.height))
    else:
        (new_h, new_w), (top, left) = letterbox_layout((h, w), (spec.height, spec.width))
        canvas[top:top + new_h, left:left + new_w] = (
            frame if (new_h, new_w) == (h, w) else cv2.resize(frame, (new_w, new_h)))
    src = canvas[:, :, ::-1] if spec.channel_order == 'RGB' else canvas
    if spec.tensor_layout == 'NCHW':
        src = src.transpose(2, 0, 1)
    tensor = np.empty(spec.tensor_shape, spec.dtype)
    if spec.scale == 1.0:
        np.copyto(tensor[0], src, casting='unsafe')
    else:
        np.multiply(src, spec.dtype(spec.scale), out=tensor[0], casting='unsafe')
    return tensor


@pytest.mark.parametrize('layout', ['NCHW', 'NHWC'])
@pytest.mark.parametrize('order', ['RGB', 'BGR'])
@pytest.mark.parametrize('dtype,scale', [(np.float32, 1 / 255), (np.float32, 1.0),
                                         (np.float16, 1 / 255), (np.uint8, 1.0)])
@pytest.mark.parametrize('resize', ['letterbox', 'stretch'])
def test_tensor_is_bit_identical_to_one_pass_over_the_canvas(layout, order, dtype, scale,
                                                             resize):
    spec = InputSpec(96, 128, tensor_layout=layout, channel_order=order, scale=scale,
                     resize=resize, dtype=dtype)
    pre = Preprocessor(spec)
    frames = [random_frame(72, 96, 1), random_frame(96, 128, 2), random_frame(200, 50, 3),
              random_frame(30, 300, 4), random_frame(96, 128, 5)[::-1, 1::2][:48]]
    for frame in frames + frames[:1]:  # buffers made again when the placement changes
        tensor, _ = pre(frame)
        expected = fused_reference(frame, spec)
        assert tensor.dtype == expected.dtype
        assert tensor.tobytes() == expected.tobytes(), frame.shape
