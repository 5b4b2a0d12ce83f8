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
The object detector: an ONNX model (or a Python callable) -> supervision.Detections.

Frames are BGR uint8; boxes always come back in original-frame pixels, clipped to the frame.
`prepare` (pure preprocessing) and `run` (model + postprocess) are separate so a pipeline can
prepare the next frame on another thread while the model runs.
"""

from dataclasses import dataclass, field
import logging
import os
from pathlib import Path
import time
from typing import Callable, Iterable, Optional, Sequence, Union

import numpy as np
import supervision as sv

from stream_infer.class_names import ClassNames, load_labels, names_from_metadata
from stream_infer.defaults import bundled_model_path
from stream_infer.errors import ModelError
from stream_infer.layouts import Candidates, decode, detect_layout, OutputLayout
from stream_infer.model_input import resolve_input_spec
from stream_infer.postprocess import select_indices
from stream_infer.preprocess import check_frame, Geometry, InputSpec, Preprocessor
from stream_infer.providers import create_session
from stream_infer.validation import check_counts, check_fractions

logger = logging.getLogger('stream_infer.detector')

ModelLike = Union[str, os.PathLike, Callable, None]


@dataclass(frozen=True)
class PostprocessOptions:
    """Thresholds and limits applied after the model; replace the whole object to change them."""

    confidence: float = 0.3
    iou_threshold: float = 0.45
    class_agnostic: bool = False
    max_candidates: int = 300       # top-k by score before NMS
    max_detections: int = 100       # after NMS
    classes: Optional[tuple] = None  # keep only these class indices (None = all)

    def __post_init__(self) -> None:
        check_fractions(self, ('confidence', 'iou_threshold'))
        check_counts(self, ('max_candidates', 'max_detections'))
        if self.classes is not None:
            classes = (self.classes,) if isinstance(self.classes, (int, np.integer)) \
                else tuple(self.classes)
            if not all(isinstance(c, (int, np.integer)) and not isinstance(c, bool) and c >= 0
                       for c in classes):
                raise ValueError(f'classes={self.classes!r}: expected class indices (ints >= '
                                 '0) or None; turn names into indices with '
                                 'Detector.resolve_classes')
            object.__setattr__(self, 'classes', tuple(int(c) for c in classes))


@dataclass
class PreparedFrame:
    """Output of Detector.prepare: the frame, the model input and how to map boxes back."""

    image: np.ndarray                # the original frame (BGR uint8 HxWx3)
    tensor: Optional[np.ndarray]     # model input (None for callable models)
    geometry: Geometry               # model-input pixels -> frame pixels
    preprocess_ms: float = 0.0


@dataclass
class DetectionResult:
    """Detections in frame pixels and how long each stage took."""

    detections: sv.Detections
    timings_ms: dict = field(default_factory=dict)  # 'preprocess', 'infer', 'postprocess'


def _elapsed_ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0


def empty_detections() -> sv.Detections:
    """Return Detections with no boxes but every field the pipeline relies on."""
    return sv.Detections(xyxy=np.zeros((0, 4), np.float32),
                         confidence=np.zeros(0, np.float32),
                         class_id=np.zeros(0, np.int64),
                         data={'class_name': np.zeros(0, dtype=str)})


class Detector:
    """
    Object detector over an ONNX model file or a callable.

    model: path of an ONNX file (None: the bundled COCO-80 CenterNet), or a callable
        frame_bgr -> sv.Detections | (N, 6) array of x1, y1, x2, y2, score, class_id in frame
        pixels (thresholds, NMS, class filter and max_detections still apply).
    layout: 'auto', 'yolov8' ([1, 4+nc, N]), 'yolov5' ([1, N, 5+nc]) or 'end2end' ([1, N, 6]).
    resize: 'auto', 'letterbox' or 'stretch'. input_size: (height, width) for models with a
        dynamic input size (default: metadata `imgsz`, else 640x640).
    channel_order: 'auto', 'RGB' or 'BGR'. scale: 'auto', 'raw' (0..255), 'unit' (0..1) or a
        multiplier. input_layout: 'auto', 'NCHW' or 'NHWC' (only needed when the input shape
        does not tell).
    providers: onnxruntime execution providers in order of preference ('cuda', 'tensorrt',
        full names or (name, options) tuples); unavailable ones are skipped with a warning.
    threads: onnxruntime intra-op threads (None: onnxruntime's default, all cores).
    labels: class names (labels file or sequence) overriding the model metadata.
    warmup: run a black frame through the model at load so the first real frame is not slow
        (ONNX models only; callables are user code and are not called before the first frame).
    The input/output options (layout .. threads, warmup) only concern ONNX models.
    """

    def __init__(self, model: ModelLike = None, *, options: Optional[PostprocessOptions] = None,
                 layout: str = 'auto', resize: str = 'auto',
                 input_size: Optional[Sequence[int]] = None, channel_order: str = 'auto',
                 scale: Union[str, float] = 'auto',
                 providers: Sequence = ('CPUExecutionProvider',), threads: Optional[int] = None,
                 labels: Union[str, os.PathLike, Sequence[str], None] = None,
                 warmup: bool = True, input_layout: str = 'auto') -> None:
        self.options = options if options is not None else PostprocessOptions()
        label_names = load_labels(labels) if labels is not None else None
        self._session = None
        self._model_fn: Optional[Callable] = None
        self._preprocessor: Optional[Preprocessor] = None
        self.input_spec: Optional[InputSpec] = None
        self.layout: Optional[OutputLayout] = None
        self.metadata: dict = {}
        self.model_path: Optional[Path] = None
        if model is None:
            model = bundled_model_path()
        if callable(model) and not isinstance(model, (str, os.PathLike)):
            self._model_fn = model
            self.provider = 'python'
            self._names = ClassNames(label_names or [])
            return
        if not isinstance(model, (str, os.PathLike)):
            raise ModelError(f'model {model!r}: expected a path to an ONNX file, a callable, or '
                             'None for the bundled model')
        self._open_onnx(Path(model), label_names, layout=layout, resize=resize,
                        input_size=input_size, channel_order=channel_order, scale=scale,
                        providers=providers, threads=threads, input_layout=input_layout)
        if warmup:
            self._warm_up()

    # -- loading ------------------------------------------------------------------------------

    def _open_onnx(self, path: Path, label_names: Optional[list], *, layout: str,
                   providers: Sequence, threads: Optional[int], **input_options) -> None:
        session = create_session(path, providers, threads)
        self.model_path = path
        self.provider = session.get_providers()[0]
        self.metadata = dict(session.get_modelmeta().custom_metadata_map)
        inputs, outputs = session.get_inputs(), session.get_outputs()
        input_desc = ', '.join(f'{i.name} {list(i.shape)} {i.type}' for i in inputs)
        output_desc = ', '.join(f'{o.name} {list(o.shape)} {o.type}' for o in outputs)
        if len(inputs) != 1:
            raise ModelError(f'model {path.name} has {len(inputs)} inputs ({input_desc}); '
                             'expected exactly one image input')
        model_input = inputs[0]
        self.input_spec = resolve_input_spec(
            model_input.shape, model_input.type, self.metadata, describe=input_desc,
            **input_options)
        self._input_name = model_input.name
        self._preprocessor = Preprocessor(self.input_spec)
        output = next((o for o in outputs if len(o.shape) in (2, 3)), outputs[0])
        self._output_names = [output.name]
        shape = list(output.shape)
        if not all(isinstance(d, int) and d > 0 for d in shape):
            shape = self._probe_output_shape(session, input_desc)
        self.layout = detect_layout(
            shape, (self.input_spec.height, self.input_spec.width), requested=layout,
            metadata=self.metadata, describe=(input_desc, output_desc))
        self._session = session
        names = label_names if label_names is not None else (
            names_from_metadata(self.metadata) or [])
        num_classes = self.layout.num_classes
        if num_classes is not None and names and len(names) != num_classes:
            logger.warning('%d class names for a model with %d classes; extra ids are named by '
                           'index', len(names), num_classes)
        if num_classes is not None and len(names) < num_classes:
            names = names + [str(i) for i in range(len(names), num_classes)]
        self._names = ClassNames(names)
        spec = self.input_spec
        logger.info('model %s: input %s %dx%d %s %s scale %.6g %s, output %s (%s layout, %s '
                    'classes), provider %s', path.name, self._input_name, spec.height,
                    spec.width, spec.tensor_layout, spec.channel_order, spec.scale, spec.resize,
                    shape, self.layout.name, num_classes or len(names), self.provider)

    def _warm_up(self) -> None:
        """Run a black frame through everything once, so the first real frame is not slow."""
        start = time.perf_counter()
        spec = self.input_spec
        try:
            self(np.zeros((spec.height, spec.width, 3), np.uint8))
        except Exception as exc:  # onnxruntime's errors derive from Exception only
            raise ModelError(f'model {self.model_path.name} failed on a black warm-up frame of '
                             f'{spec.height}x{spec.width}: {exc}') from exc
        logger.debug('warm-up run took %.1f ms', _elapsed_ms(start))

    def _probe_output_shape(self, session, input_desc: str) -> list:
        """Real output shape of a model with dynamic output dims: run it once on zeros."""
        zeros = np.zeros(self.input_spec.tensor_shape, self.input_spec.dtype)
        try:
            raw = session.run(self._output_names, {self._input_name: zeros})[0]
        except Exception as exc:  # onnxruntime's errors derive from Exception only
            raise ModelError(f'model does not run on a {list(zeros.shape)} input ({input_desc}):'
                             f' {exc}') from exc
        return list(raw.shape)

    # -- public API ---------------------------------------------------------------------------

    @property
    def options(self) -> PostprocessOptions:
        """Return the postprocess options in force (read once per frame; assign a new object)."""
        return self._options

    @options.setter
    def options(self, value: PostprocessOptions) -> None:
        if not isinstance(value, PostprocessOptions):
            raise TypeError(f'options must be a PostprocessOptions, got {type(value).__name__}')
        self._options = value  # a single reference swap: atomic for concurrent readers

    @property
    def class_names(self) -> list:
        """Class index -> name (empty for a callable model without labels)."""
        return list(self._names.names)

    def resolve_classes(self, classes: Optional[Iterable[Union[int, str]]]) -> Optional[tuple]:
        """Class indices from names and/or indices; ValueError naming unknown names."""
        return self._names.resolve(classes)

    def prepare(self, frame_bgr: np.ndarray) -> PreparedFrame:
        """Preprocess one BGR frame (no model call); safe to run on another thread."""
        start = time.perf_counter()
        if self._preprocessor is None:  # callable model: it takes the frame as it is
            check_frame(frame_bgr)
            geometry = Geometry.identity(*frame_bgr.shape[:2])
            return PreparedFrame(frame_bgr, None, geometry, _elapsed_ms(start))
        tensor, geometry = self._preprocessor(frame_bgr)
        return PreparedFrame(frame_bgr, tensor, geometry, _elapsed_ms(start))

    def run(self, prepared: PreparedFrame,
            options: Optional[PostprocessOptions] = None) -> DetectionResult:
        """Model + postprocess on a prepared frame; boxes in frame pixels."""
        opts = options if options is not None else self._options
        start = time.perf_counter()
        if self._model_fn is not None:
            candidates, names = self._call_model(prepared.image)
        else:
            session = self._session
            if session is None:
                raise ModelError('detector is closed')
            raw = session.run(self._output_names, {self._input_name: prepared.tensor})[0]
            candidates, names = None, None
        infer_ms = _elapsed_ms(start)
        start = time.perf_counter()
        if candidates is None:  # top-k can move into decoding unless a class filter comes first
            candidates = decode(raw, self.layout, opts.confidence,
                                opts.max_candidates if opts.classes is None else None)
        else:
            keep = np.flatnonzero(candidates.scores >= opts.confidence)
            candidates = candidates.take(keep)
            names = None if names is None else names[keep]
        detections = self._to_detections(candidates, names, prepared.geometry, opts)
        timings = {'preprocess': prepared.preprocess_ms, 'infer': infer_ms,
                   'postprocess': _elapsed_ms(start)}
        return DetectionResult(detections, timings)

    def __call__(self, frame_bgr: np.ndarray,
                 options: Optional[PostprocessOptions] = None) -> DetectionResult:
        """Detect objects in one frame (prepare + run)."""
        return self.run(self.prepare(frame_bgr), options)

    def close(self) -> None:
        """Release the onnxruntime session (runs already started finish normally)."""
        self._session = None
        self._model_fn = None if self._model_fn is None else _closed_model

    def __enter__(self) -> 'Detector':
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # -- internals ----------------------------------------------------------------------------

    def _to_detections(self, candidates: Candidates, names: Optional[np.ndarray],
                       geometry: Geometry, opts: PostprocessOptions) -> sv.Detections:
        index = select_indices(
            candidates, iou_threshold=opts.iou_threshold, class_agnostic=opts.class_agnostic,
            max_candidates=opts.max_candidates, max_detections=opts.max_detections,
            classes=opts.classes)
        if not len(index):
            return empty_detections()
        xyxy = geometry.to_frame(candidates.xyxy[index])
        visible = (xyxy[:, 2] > xyxy[:, 0]) & (xyxy[:, 3] > xyxy[:, 1])  # outside: no area
        if not visible.all():
            index, xyxy = index[visible], xyxy[visible]
        class_ids = candidates.class_ids[index]
        class_names = self._names.lookup(class_ids) if names is None else names[index]
        return sv.Detections(xyxy=xyxy, confidence=candidates.scores[index],
                             class_id=class_ids, data={'class_name': class_names})

    def _call_model(self, frame: np.ndarray) -> tuple:
        """Candidates (and names, if the callable gave them) from a callable model."""
        out = self._model_fn(frame)
        names = None
        if isinstance(out, sv.Detections):
            count = len(out)
            xyxy = np.asarray(out.xyxy, np.float32).reshape(count, 4)
            scores = (np.ones(count, np.float32) if out.confidence is None
                      else np.asarray(out.confidence, np.float32))
            class_ids = (np.zeros(count, np.int64) if out.class_id is None
                         else np.asarray(out.class_id).astype(np.int64))
            if 'class_name' in out.data:
                names = np.asarray(out.data['class_name']).astype(str)
            return Candidates(xyxy, scores, class_ids), names
        array = np.asarray(out) if isinstance(out, (np.ndarray, list, tuple)) else None
        if array is None or array.ndim != 2 or array.shape[1] != 6 \
                or not np.issubdtype(array.dtype, np.number):
            got = f'array of shape {array.shape}' if array is not None else type(out).__name__
            raise ModelError(f'callable model returned {got}; expected sv.Detections or an '
                             '(N, 6) array of x1, y1, x2, y2, score, class_id in frame pixels')
        return Candidates(array[:, :4].astype(np.float32), array[:, 4].astype(np.float32),
                          np.rint(array[:, 5]).astype(np.int64)), None


def _closed_model(frame: np.ndarray) -> None:
    raise ModelError('detector is closed')


__all__ = ['DetectionResult', 'Detector', 'PostprocessOptions', 'PreparedFrame',
           'empty_detections']
