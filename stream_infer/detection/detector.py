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
`prepare` (preprocessing), `infer` (the model alone) and `postprocess` are separate so a
pipeline can prepare the next frame and postprocess the previous one on other threads while the
model runs (`run` = infer + postprocess). The thresholds are not the Detector's: every run() or
postprocess() is given the PostprocessOptions in force (the stream owns them).
`infer_batch` / `run_batch` run several prepared frames (from several sources) through the
model at once when it takes a batch (max_batch), each postprocessed with its own options.

    >>> import numpy as np
    >>> from stream_infer.detection import Detector
    >>> detector = Detector()                       # the bundled COCO-80 model
    >>> result = detector(np.zeros((480, 640, 3), np.uint8))
    >>> len(result.detections), sorted(result.timings_ms)
    (0, ['infer', 'postprocess', 'preprocess'])
"""

from dataclasses import dataclass, field
import os
from pathlib import Path
import time
from typing import Any, Callable, Iterable, List, Optional, Sequence, Union

import numpy as np
import supervision as sv

from stream_infer.bundled import bundled_model_path
from stream_infer.detection.backends import CallableBackend, OnnxBackend
from stream_infer.detection.candidates import Candidates
from stream_infer.detection.class_names import load_labels
from stream_infer.detection.nms import select_indices
from stream_infer.detection.output_decoding import OutputLayout
from stream_infer.detection.preprocess import Geometry, InputSpec
from stream_infer.detection.task_outputs import task_outputs
from stream_infer.errors import ModelError
from stream_infer.options import PostprocessOptions
from stream_infer.quantize.metadata import precision_text

ModelLike = Union[str, os.PathLike, Callable, None]
DEFAULT_OPTIONS = PostprocessOptions()


@dataclass
class PreparedFrame:
    """Output of Detector.prepare: the frame, the model input and how to map boxes back."""

    image: np.ndarray                # the original frame (BGR uint8 HxWx3)
    tensor: Optional[np.ndarray]     # model input (None for callable models)
    geometry: Geometry               # model-input pixels -> frame pixels
    preprocess_ms: float = 0.0


@dataclass
class InferredFrame:
    """
    Output of Detector.infer: the model's raw output and what postprocess needs of the frame.

    It does not hold the input tensor, so that is freed as soon as the model is done with it.
    """

    output: Any                      # the backend's raw output (decoded by postprocess)
    geometry: Geometry               # model-input pixels -> frame pixels
    preprocess_ms: float = 0.0
    infer_ms: float = 0.0


@dataclass
class DetectionResult:
    """Detections in frame pixels and how long each stage took."""

    detections: sv.Detections
    timings_ms: dict = field(default_factory=dict)  # 'preprocess', 'infer', 'postprocess'


def _elapsed_ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0


def _check_options(options: Any) -> None:
    if not isinstance(options, PostprocessOptions):
        raise TypeError(f'options must be a PostprocessOptions, got {type(options).__name__}')


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
    layout: 'auto', 'yolov8' ([1, 4+nc, N]), 'yolov8-seg' ([1, 4+nc+32, N] and prototypes:
        masks in Detections.mask), 'yolov8-obb' ([1, 4+nc+1, N]: corners in
        data['xyxyxyxy']), 'yolov5' ([1, N, 5+nc]) or 'end2end' ([1, N, 6]).
    resize: 'auto', 'letterbox' or 'stretch'. input_size: (height, width) for models with a
        dynamic input size (default: metadata `imgsz`, else 640x640).
    channel_order: 'auto', 'RGB' or 'BGR'. scale: 'auto', 'raw' (0..255), 'unit' (0..1) or a
        multiplier. input_layout: 'auto', 'NCHW' or 'NHWC' (only needed when the input shape
        does not tell).
    providers: onnxruntime execution providers in order of preference ('cuda', 'tensorrt',
        full names or (name, options) tuples); unavailable ones are skipped with a warning.
    threads: onnxruntime intra-op threads (None: onnxruntime's default, all cores).
    spin_wait: let onnxruntime's threads busy-wait between operators and runs (its default;
        off here: they spin at most 20 us between operators, see onnx_session.thread_config).
    session: an onnxruntime InferenceSession made by the caller (or an object with its
        interface), used instead of loading model; providers and threads are then the session's.
    labels: class names (labels file or sequence) overriding the model metadata.
    warmup: run a black frame through the model at load so the first real frame is not slow
        (ONNX models only; callables are user code and are not called before the first frame).
    The input/output options (layout .. spin_wait, session, warmup) only concern ONNX models.
    """

    def __init__(self, model: ModelLike = None, *, layout: str = 'auto', resize: str = 'auto',
                 input_size: Optional[Sequence[int]] = None, channel_order: str = 'auto',
                 scale: Union[str, float] = 'auto',
                 providers: Sequence = ('CPUExecutionProvider',), threads: Optional[int] = None,
                 labels: Union[str, os.PathLike, Sequence[str], None] = None,
                 warmup: bool = True, input_layout: str = 'auto', session: Any = None,
                 spin_wait: bool = False) -> None:
        label_names = load_labels(labels) if labels is not None else None
        if session is None and model is None:
            model = bundled_model_path()
        if session is None and callable(model) and not isinstance(model, (str, os.PathLike)):
            self._backend: Union[OnnxBackend, CallableBackend] = CallableBackend(
                model, label_names)
            return
        if session is None and not isinstance(model, (str, os.PathLike)):
            raise ModelError(f'model {model!r}: expected a path to an ONNX file, a callable, or '
                             'None for the bundled model')
        self._backend = OnnxBackend(
            None if model is None else Path(model), label_names, layout=layout,
            providers=providers, threads=threads, session=session, spin_wait=spin_wait,
            resize=resize, input_size=input_size, channel_order=channel_order, scale=scale,
            input_layout=input_layout)
        if warmup:
            self._backend.warm_up(self)

    #: Make instance masks (segmentation models): turn off while nobody consumes them (the
    #: node does, per frame, from its subscribers); boxes and classes are the same either way.
    compute_masks: bool = True

    # -- what was loaded ----------------------------------------------------------------------

    @property
    def provider(self) -> str:
        """Return the execution provider that runs the model ('python' for a callable)."""
        return self._backend.provider

    @property
    def precision(self) -> str:
        """How the model computes: 'float', or 'int8 (QDQ, calibrated on N frames of SRC)'."""
        return precision_text(self._backend.metadata)

    @property
    def input_spec(self) -> Optional[InputSpec]:
        """Return how frames become the model input (None for a callable)."""
        return self._backend.input_spec

    @property
    def layout(self) -> Optional[OutputLayout]:
        """Return how the model output is decoded (None for a callable)."""
        return self._backend.layout

    @property
    def metadata(self) -> dict:
        """Return the ONNX model's custom metadata, empty for a callable."""
        return self._backend.metadata

    @property
    def model_path(self) -> Optional[Path]:
        return self._backend.model_path

    @property
    def max_batch(self) -> Optional[int]:
        """
        Return how many frames one model run takes: 1, the model's fixed batch, or None (any).

        1 for callables and batch-1 models; None for a dynamic batch axis (run_batch stacks as
        many frames as it is given). It falls to 1 if a dynamic model's output turns out not
        to have one row per frame.
        """
        return self._backend.max_batch

    @property
    def session(self) -> Any:
        """Return the onnxruntime session; None for a callable, or once closed."""
        return self._backend.session

    @property
    def class_names(self) -> list:
        """Class index -> name (empty for a callable model without labels)."""
        return list(self._backend.names.names)

    def resolve_classes(self, classes: Optional[Iterable[Union[int, str]]]) -> Optional[tuple]:
        """Class indices from names and/or indices; ValueError naming unknown names."""
        return self._backend.names.resolve(classes)

    # -- detecting ----------------------------------------------------------------------------

    def prepare(self, frame_bgr: np.ndarray) -> PreparedFrame:
        """Preprocess one BGR frame (no model call); safe to run on another thread."""
        start = time.perf_counter()
        tensor, geometry = self._backend.prepare(frame_bgr)
        return PreparedFrame(frame_bgr, tensor, geometry, _elapsed_ms(start))

    def infer(self, prepared: PreparedFrame) -> InferredFrame:
        """Run the model alone on a prepared frame (what a pipeline's model thread does)."""
        start = time.perf_counter()
        output = self._backend.infer(prepared.image, prepared.tensor)
        return InferredFrame(output, prepared.geometry, prepared.preprocess_ms,
                             _elapsed_ms(start))

    def postprocess(self, inferred: InferredFrame,
                    options: PostprocessOptions = DEFAULT_OPTIONS) -> DetectionResult:
        """Decode, filter and NMS the model output with these options; boxes in frame pixels."""
        _check_options(options)
        start = time.perf_counter()
        candidates, names = self._backend.candidates(inferred.output, options)
        detections = self._to_detections(candidates, names, inferred.geometry, options)
        timings = {'preprocess': inferred.preprocess_ms, 'infer': inferred.infer_ms,
                   'postprocess': _elapsed_ms(start)}
        return DetectionResult(detections, timings)

    def run(self, prepared: PreparedFrame,
            options: PostprocessOptions = DEFAULT_OPTIONS) -> DetectionResult:
        """Model + postprocess on a prepared frame with these options; boxes in frame pixels."""
        _check_options(options)
        return self.postprocess(self.infer(prepared), options)

    def infer_batch(self, prepared: Sequence[PreparedFrame]) -> List[InferredFrame]:
        """
        Run the model on several prepared frames, in as few runs as max_batch allows.

        One InferredFrame per frame, in order; each one's infer_ms is the whole run it was
        part of. Models that take one frame at a time (callables, batch 1) run frame by frame.
        """
        inferred: List[InferredFrame] = []
        done = 0
        while done < len(prepared):
            capacity = self._backend.max_batch or len(prepared)
            chunk = prepared[done:done + capacity]
            if len(chunk) == 1:
                inferred.append(self.infer(chunk[0]))
            else:
                start = time.perf_counter()
                rows = self._backend.infer_batch([p.tensor for p in chunk])
                infer_ms = _elapsed_ms(start)
                inferred.extend(InferredFrame(row, frame.geometry, frame.preprocess_ms, infer_ms)
                                for row, frame in zip(rows, chunk))
            done += len(chunk)
        return inferred

    def run_batch(self, prepared: Sequence[PreparedFrame],
                  options: Union[PostprocessOptions, Sequence[PostprocessOptions]]
                  = DEFAULT_OPTIONS) -> List[DetectionResult]:
        """
        Run several prepared frames (infer_batch), each postprocessed with its own options.

        options: one PostprocessOptions for all, or one per frame.

            >>> import numpy as np
            >>> detector = Detector()  # batch 1: frame by frame
            >>> frames = [detector.prepare(np.zeros((48, 64, 3), np.uint8)) for _ in range(2)]
            >>> [len(r.detections) for r in detector.run_batch(frames)]
            [0, 0]
        """
        per_frame = [options] * len(prepared) if isinstance(options, PostprocessOptions) \
            else list(options)
        if len(per_frame) != len(prepared):
            raise ValueError(f'run_batch: {len(prepared)} frames but {len(per_frame)} options')
        for opts in per_frame:
            _check_options(opts)
        return [self.postprocess(inferred, opts)
                for inferred, opts in zip(self.infer_batch(prepared), per_frame)]

    def __call__(self, frame_bgr: np.ndarray,
                 options: PostprocessOptions = DEFAULT_OPTIONS) -> DetectionResult:
        """Detect objects in one frame (prepare + run)."""
        return self.run(self.prepare(frame_bgr), options)

    def close(self) -> None:
        """Release the model (runs already started finish normally; later ones raise)."""
        self._backend.close()

    def __enter__(self) -> 'Detector':
        return self

    def __exit__(self, *exc_info: Any) -> None:
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
        class_names = self._backend.names.lookup(class_ids) if names is None else names[index]
        spec = self._backend.input_spec
        masks, data = task_outputs(candidates, index, xyxy, geometry,
                                   None if spec is None else (spec.height, spec.width),
                                   self.compute_masks)
        return sv.Detections(xyxy=xyxy, mask=masks, confidence=candidates.scores[index],
                             class_id=class_ids, data={'class_name': class_names, **data})


__all__ = ['DetectionResult', 'Detector', 'InferredFrame', 'PreparedFrame',
           'empty_detections']
