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
Each output layout decoded to exactly the expected boxes, through real onnxruntime sessions.

The models are tiny graphs (test/onnx_graphs.py) emitting known tensors; the expected frame
boxes are mapped into model-input pixels here with the ultralytics letterbox rule written out
independently, so every test is a round trip frame -> model output -> detector -> frame.
"""

from lazy_onnx import TensorProto
import numpy as np
from onnx_graphs import (broadcast_anchor_model, channel_mean_model, constant_output_model,
                         shape_echo_model, yolov5_output, yolov8_output)
import pytest

from stream_infer.detection import Detector
from stream_infer.detection.output_decoding import detect_layout, grid_cells
from stream_infer.errors import ModelError
from stream_infer.options import PostprocessOptions

COCO_LIKE_NAMES = "{0: 'person', 1: 'bicycle', 2: 'car'}"
ALL = PostprocessOptions(confidence=1e-3, max_detections=300)


def letterbox_forward(frame_hw: tuple, input_hw: tuple) -> tuple:
    """(gain_x, gain_y, pad_x, pad_y): ultralytics LetterBox placement, written independently."""
    h, w = frame_hw
    r = min(input_hw[0] / h, input_hw[1] / w)
    new_w, new_h = round(w * r), round(h * r)
    pad_x = round((input_hw[1] - new_w) / 2 - 0.1)
    pad_y = round((input_hw[0] - new_h) / 2 - 0.1)
    return new_w / w, new_h / h, pad_x, pad_y


def to_input_xyxy(frame_xyxy: np.ndarray, frame_hw: tuple, input_hw: tuple,
                  resize: str = 'letterbox') -> np.ndarray:
    if resize == 'stretch':
        gx, gy, px, py = input_hw[1] / frame_hw[1], input_hw[0] / frame_hw[0], 0, 0
    else:
        gx, gy, px, py = letterbox_forward(frame_hw, input_hw)
    boxes = np.asarray(frame_xyxy, np.float64).copy()
    boxes[:, [0, 2]] = boxes[:, [0, 2]] * gx + px
    boxes[:, [1, 3]] = boxes[:, [1, 3]] * gy + py
    return boxes


def xyxy_to_cxcywh(xyxy: np.ndarray) -> np.ndarray:
    return np.stack([(xyxy[:, 0] + xyxy[:, 2]) / 2, (xyxy[:, 1] + xyxy[:, 3]) / 2,
                     xyxy[:, 2] - xyxy[:, 0], xyxy[:, 3] - xyxy[:, 1]], axis=1)


def by_score(detections) -> tuple:
    order = np.argsort(-detections.confidence, kind='stable')
    return (detections.xyxy[order], detections.confidence[order], detections.class_id[order],
            detections.data['class_name'][order])


# Frame boxes that do not overlap (so NMS keeps all) and lie inside every frame size used.
FRAME_BOXES = np.array([[10, 20, 110, 220], [300, 40, 360, 200], [150, 250, 290, 330]],
                       np.float64)
FRAME_SIZES = [(576, 768), (480, 360), (333, 500), (400, 400)]


@pytest.mark.parametrize('frame_hw', FRAME_SIZES)
@pytest.mark.parametrize('transposed', [False, True])
def test_yolov8_letterbox_round_trip(tmp_path, frame_hw, transposed):
    scores = np.array([0.9, 0.75, 0.6], np.float32)
    classes = np.array([2, 0, 1])
    cxcywh = xyxy_to_cxcywh(to_input_xyxy(FRAME_BOXES, frame_hw, (640, 640)))
    out = yolov8_output(cxcywh, classes, scores, num_classes=3, transposed=transposed)
    model = constant_output_model(tmp_path / 'v8.onnx', out,
                                  metadata={'names': COCO_LIKE_NAMES, 'imgsz': '[640, 640]',
                                            'stride': '32', 'task': 'detect'})
    detector = Detector(model)
    assert detector.layout.name == 'yolov8' and detector.layout.num_classes == 3
    assert detector.layout.transposed == transposed
    assert detector.input_spec.resize == 'letterbox'
    frame = np.zeros(frame_hw + (3,), np.uint8)
    xyxy, conf, cls, names = by_score(detector(frame, ALL).detections)
    np.testing.assert_allclose(xyxy, FRAME_BOXES, atol=2e-3)
    np.testing.assert_allclose(conf, scores, rtol=1e-6)
    assert cls.tolist() == [2, 0, 1]
    assert names.tolist() == ['car', 'person', 'bicycle']
    assert xyxy.dtype == np.float32 and cls.dtype.kind == 'i'


def test_yolov8_best_class_and_threshold(tmp_path):
    # One anchor with several class scores: the best class wins; the threshold uses its score.
    out = yolov8_output(np.array([[320, 320, 100, 100]]), [0], [0.2], num_classes=3)
    out[0, 4 + 2, 3] = 0.7
    out[0, 4 + 1, 3] = 0.5
    detector = Detector(constant_output_model(tmp_path / 'm.onnx', out))
    result = detector(np.zeros((640, 640, 3), np.uint8), PostprocessOptions(confidence=0.6))
    assert result.detections.class_id.tolist() == [2]
    assert result.detections.confidence.tolist() == pytest.approx([0.7])
    assert len(detector(np.zeros((640, 640, 3), np.uint8),
                        PostprocessOptions(confidence=0.71)).detections) == 0


@pytest.mark.parametrize('frame_hw', [(576, 768), (333, 500)])
def test_yolov5_objectness_round_trip(tmp_path, frame_hw):
    objectness = np.array([0.9, 0.8, 0.5], np.float32)
    class_scores = np.array([0.5, 0.9, 0.9], np.float32)
    classes = np.array([1, 2, 0])
    cxcywh = xyxy_to_cxcywh(to_input_xyxy(FRAME_BOXES, frame_hw, (640, 640)))
    out = yolov5_output(cxcywh, classes, objectness, class_scores, num_classes=3)
    assert out.shape == (1, 25200, 8)
    detector = Detector(constant_output_model(tmp_path / 'v5.onnx', out))
    assert detector.layout.name == 'yolov5' and detector.layout.num_classes == 3
    xyxy, conf, cls, _ = by_score(detector(np.zeros(frame_hw + (3,), np.uint8), ALL).detections)
    expected = objectness * class_scores  # 0.45, 0.72, 0.45
    order = np.argsort(-expected, kind='stable')
    np.testing.assert_allclose(conf, expected[order], rtol=1e-6)
    np.testing.assert_allclose(xyxy, FRAME_BOXES[order], atol=2e-3)
    assert cls.tolist() == classes[order].tolist()
    # Objectness alone above the threshold is not enough: 0.9 * 0.5 = 0.45 < 0.5.
    strict = detector(np.zeros(frame_hw + (3,), np.uint8), PostprocessOptions(confidence=0.5))
    assert strict.detections.class_id.tolist() == [2]


def test_end2end_nhwc_raw_stretch_from_metadata(tmp_path):
    # Like the bundled CenterNet: NHWC 0..255 stretched input, boxes in input pixels.
    frame_hw, input_hw = (576, 768), (512, 512)
    boxes = to_input_xyxy(FRAME_BOXES, frame_hw, input_hw, resize='stretch')
    rows = np.zeros((100, 6), np.float32)
    rows[:3, :4] = boxes
    rows[:3, 4] = [0.8, 0.7, 0.35]
    rows[:3, 5] = [0, 2, 1]
    rows[3:, 4] = 0.01  # the rest of the top-100 peaks: low scores
    metadata = {'names': COCO_LIKE_NAMES, 'imgsz': '[512, 512]',
                'layout': 'NHWC RGB float32 0..255, stretched resize',
                'output': 'detections [1,100,6] = x1,y1,x2,y2 (input pixels), score, class'}
    model = constant_output_model(tmp_path / 'e2e.onnx', rows[None],
                                  input_shape=(1, 512, 512, 3), metadata=metadata,
                                  input_name='images', output_name='detections')
    detector = Detector(model)
    spec = detector.input_spec
    assert (spec.tensor_layout, spec.scale, spec.resize, spec.channel_order) == \
        ('NHWC', 1.0, 'stretch', 'RGB')
    assert detector.layout.name == 'end2end'
    result = detector(np.zeros(frame_hw + (3,), np.uint8), PostprocessOptions(confidence=0.3))
    xyxy, conf, cls, names = by_score(result.detections)
    np.testing.assert_allclose(xyxy, FRAME_BOXES, atol=2e-3)
    assert cls.tolist() == [0, 2, 1] and names.tolist() == ['person', 'car', 'bicycle']
    assert set(result.timings_ms) == {'preprocess', 'infer', 'postprocess'}


def test_end2end_padding_rows_and_clipping(tmp_path):
    # Rows with class -1 are padding; boxes past the frame are clipped; boxes wholly outside
    # it are dropped.
    rows = np.array([[-50, -20, 100, 100, 0.9, 0],     # clipped to the frame
                     [700, 100, 800, 200, 0.8, 1],     # fully outside a 640x480 frame
                     [10, 10, 50, 50, 0.95, -1],       # padding
                     [100, 100, 900, 300, 0.7, 2]], np.float32)
    detector = Detector(constant_output_model(tmp_path / 'e2e.onnx', rows[None]),
                        resize='stretch', layout='end2end')
    result = detector(np.zeros((480, 640, 3), np.uint8), ALL).detections
    xyxy, _, cls, _ = by_score(result)
    # stretch 640x480 -> 640x640: y / (640 / 480)
    np.testing.assert_allclose(xyxy, [[0, 0, 100, 75], [100, 75, 640, 225]], atol=1e-3)
    assert cls.tolist() == [0, 2]


@pytest.mark.parametrize('layout', ['NCHW', 'NHWC'])
@pytest.mark.parametrize('input_size,frame_hw', [((320, 480), (240, 320)),
                                                 ((256, 256), (480, 640)),
                                                 ((640, 384), (720, 1280))])
def test_dynamic_input_size_option(tmp_path, layout, input_size, frame_hw):
    shape = (1, 3, 'h', 'w') if layout == 'NCHW' else ('batch', 'h', 'w', 3)
    detector = Detector(shape_echo_model(tmp_path / 'echo.onnx', input_shape=shape,
                                         layout=layout),
                        input_size=input_size, resize='stretch')
    assert detector.input_spec.tensor_layout == layout
    prepared = detector.prepare(np.zeros(frame_hw + (3,), np.uint8))
    expected_shape = ((1, 3) + input_size) if layout == 'NCHW' else ((1,) + input_size + (3,))
    assert prepared.tensor.shape == expected_shape
    xyxy, _, cls, _ = by_score(detector.run(prepared, ALL).detections)
    h, w = frame_hw
    # The graph reports boxes from the size it got; stretched back they cover the same
    # fractions of the frame, which proves it was fed input_size.
    np.testing.assert_allclose(xyxy, [[0, 0, w, h], [w / 4, h / 4, w / 2, h / 2]], atol=1e-3)
    assert cls.tolist() == [0, 1]


def test_dynamic_input_size_letterbox_and_metadata_imgsz(tmp_path):
    model = shape_echo_model(tmp_path / 'echo.onnx', metadata={'imgsz': '[320, 480]'})
    detector = Detector(model)  # no input_size: ultralytics imgsz metadata decides
    assert (detector.input_spec.height, detector.input_spec.width) == (320, 480)
    frame_hw = (600, 600)  # square frame into 320x480: padded left and right
    gx, gy, px, py = letterbox_forward(frame_hw, (320, 480))
    assert (px, py) == (80, 0)
    xyxy, _, _, _ = by_score(detector(np.zeros(frame_hw + (3,), np.uint8), ALL).detections)
    # Box 1 = input (120, 80, 240, 160) -> frame ((120 - 80) / gx, 80 / gy, ...).
    expected = [[0, 0, 600, 600], [(120 - px) / gx, (80 - py) / gy, (240 - px) / gx,
                                   (160 - py) / gy]]
    np.testing.assert_allclose(xyxy, expected, atol=1e-3)


def test_dynamic_input_size_default_640(tmp_path):
    detector = Detector(shape_echo_model(tmp_path / 'echo.onnx'))
    assert (detector.input_spec.height, detector.input_spec.width) == (640, 640)


def test_dynamic_output_dims_are_probed(tmp_path):
    # The anchor count depends on the input size: only running the model tells the shape.
    model = broadcast_anchor_model(tmp_path / 'dyn.onnx', [320, 160, 64, 64, 0.1, 0.8])
    detector = Detector(model, input_size=(320, 480))
    assert detector.layout.name == 'yolov8' and detector.layout.num_classes == 2
    result = detector(np.zeros((320, 480, 3), np.uint8)).detections
    # 76800 identical anchors: top-k then NMS leave one box of class 1.
    np.testing.assert_allclose(result.xyxy, [[288, 128, 352, 192]], atol=1e-4)
    assert result.class_id.tolist() == [1]


@pytest.mark.parametrize('layout,shape', [('NCHW', (1, 3, 64, 64)), ('NHWC', (1, 64, 64, 3))])
def test_channel_order_scale_and_layout_reach_the_model(tmp_path, layout, shape):
    model = channel_mean_model(tmp_path / 'mean.onnx', input_shape=shape, layout=layout)
    frame = np.empty((128, 128, 3), np.uint8)  # same aspect: no padding to dilute the means
    frame[...] = (10, 100, 200)  # B, G, R

    def channel_means(detector):
        dets = detector(frame, ALL).detections
        return dets.confidence[np.argsort(dets.class_id)]

    rgb_unit = Detector(model)  # defaults: RGB, 1/255
    # rtol 1e-4: onnxruntime's float32 ReduceMean over 4096 values
    np.testing.assert_allclose(channel_means(rgb_unit), [200 / 255, 100 / 255, 10 / 255],
                               rtol=1e-4)
    bgr_raw = Detector(model, channel_order='BGR', scale='raw')
    np.testing.assert_allclose(channel_means(bgr_raw), [10, 100, 200], rtol=1e-4)


def test_uint8_input_model_gets_raw_pixels(tmp_path):
    model = channel_mean_model(tmp_path / 'u8.onnx', input_type=TensorProto.UINT8)
    detector = Detector(model)
    assert detector.input_spec.dtype == np.uint8 and detector.input_spec.scale == 1.0
    frame = np.full((64, 64, 3), (30, 60, 90), np.uint8)
    dets = detector(frame, ALL).detections
    np.testing.assert_allclose(dets.confidence[np.argsort(dets.class_id)], [90, 60, 30],
                               rtol=1e-4)


def test_letterbox_padding_value_reaches_the_model(tmp_path):
    # A 640x160 frame into 64x64: 16 rows of image, 48 rows of grey 114.
    model = channel_mean_model(tmp_path / 'mean.onnx', input_shape=(1, 3, 64, 64))
    detector = Detector(model, scale='raw')
    frame = np.zeros((160, 640, 3), np.uint8)
    means = detector(frame, ALL).detections.confidence
    np.testing.assert_allclose(means, [114 * 48 / 64] * 3, rtol=1e-4)


def test_explicit_layout_overrides_detection(tmp_path):
    # [1, 6, 300] reads as yolov8 with 2 classes; layout='yolov5' reads it transposed.
    out = np.zeros((1, 300, 6), np.float32)
    out[0, 5] = [100, 100, 20, 20, 0.9, 0.8]  # yolov5 row: score 0.72 for class 0
    model = constant_output_model(tmp_path / 'm.onnx', out.transpose(0, 2, 1).copy())
    assert Detector(model).layout.name == 'yolov8'
    detector = Detector(model, layout='yolov5')
    assert detector.layout.name == 'yolov5' and detector.layout.transposed
    dets = detector(np.zeros((640, 640, 3), np.uint8)).detections
    assert dets.confidence.tolist() == pytest.approx([0.72])
    np.testing.assert_allclose(dets.xyxy, [[90, 90, 110, 110]])


def test_names_from_metadata_and_labels_override(tmp_path):
    out = yolov8_output(np.array([[100, 100, 50, 50], [400, 400, 50, 50]]), [0, 2],
                        [0.9, 0.8], num_classes=3)
    model = constant_output_model(tmp_path / 'm.onnx', out,
                                  metadata={'names': COCO_LIKE_NAMES})
    detector = Detector(model)
    assert detector.class_names == ['person', 'bicycle', 'car']
    assert by_score(detector(np.zeros((640, 640, 3), np.uint8)).detections)[3].tolist() == \
        ['person', 'car']
    labels = tmp_path / 'labels.txt'
    labels.write_text('ant\nbee\ncow\n')
    relabelled = Detector(model, labels=labels)
    assert relabelled.class_names == ['ant', 'bee', 'cow']
    unnamed = Detector(constant_output_model(tmp_path / 'plain.onnx', out))
    assert unnamed.class_names == ['0', '1', '2']


@pytest.mark.parametrize('shape,expected', [
    ([1, 84, 8400], ('yolov8', 80, False)),
    ([1, 8400, 84], ('yolov8', 80, True)),
    ([1, 8400, 85], ('yolov8', 81, True)),
    ([1, 25200, 85], ('yolov5', 80, False)),
    ([1, 85, 25200], ('yolov5', 80, True)),
    ([1, 25200, 6], ('yolov5', 1, False)),
    ([1, 300, 6], ('end2end', None, False)),
    ([1, 100, 6], ('end2end', None, False)),
    ([84, 8400], ('yolov8', 80, False)),
    ([1, 1000, 85], ('yolov5', 80, False)),   # non-standard anchor count: usual orientation
    ([1, 85, 1000], ('yolov8', 81, False)),
])
def test_detect_layout_from_shape(shape, expected):
    layout = detect_layout(shape, (640, 640))
    assert (layout.name, layout.num_classes, layout.transposed) == expected


def test_detect_layout_uses_the_input_size_for_anchor_counts():
    assert grid_cells((640, 640)) == 8400 and grid_cells((512, 512)) == 5376
    assert detect_layout([1, 5376 * 3, 85], (512, 512)).name == 'yolov5'
    assert detect_layout([1, 5376, 84], (512, 512)).transposed


@pytest.mark.parametrize('shape', [[1, 7], [1, 8400, 4], [1, 3, 3], [1, 2, 100, 6],
                                   [1, 50, 50]])
def test_detect_layout_rejects_undecodable_shapes(shape):
    with pytest.raises(ModelError) as error:
        detect_layout(shape, (640, 640), describe=('images [1, 3, 640, 640]',
                                                   f'out {shape}'))
    message = str(error.value)
    assert str(shape) in message and 'images [1, 3, 640, 640]' in message
    assert "'yolov8' [1, 4+nc, N]" in message and "'end2end' [1, N, 6]" in message


def test_detect_layout_explicit_mismatch():
    with pytest.raises(ModelError, match=r"layout 'end2end': needs \[1, N, 6\]"):
        detect_layout([1, 84, 8400], (640, 640), requested='end2end')
    with pytest.raises(ModelError, match='expected one of'):
        detect_layout([1, 84, 8400], (640, 640), requested='yolox')


def test_metadata_end2end_flag():
    assert detect_layout([1, 300, 6], (640, 640), metadata={'end2end': 'True'}).name == \
        'end2end'
