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
The two kinds of model a Detector runs, behind one interface.

OnnxBackend: an ONNX Runtime session; it works out the input tensor the model wants and how to
decode what it outputs. CallableBackend: user Python code taking the BGR frame and returning
boxes in frame pixels. Both split a frame's work the same way, so the Detector and the timings
do not care which one runs: prepare (preprocess, any thread) -> infer (the model) -> candidates
(decode + confidence threshold, in model-input pixels for ONNX, frame pixels for callables).

Batches: an ONNX model whose batch dimension is dynamic (or fixed above 1) takes several
prepared frames in one session.run (infer_batch); its output is split back per batch row, and a
fixed batch is padded with zeros when fewer frames come. max_batch says how many fit in a run
(1: one frame at a time; None: any number).
"""

from dataclasses import replace
import logging
from pathlib import Path
import time
from typing import Any, Callable, List, Optional, Sequence, Tuple

import numpy as np
import supervision as sv

from stream_infer.detection.candidates import Candidates
from stream_infer.detection.class_names import ClassNames, names_from_metadata
from stream_infer.detection.model_input import input_batch_size, resolve_input_spec
from stream_infer.detection.onnx_session import create_session
from stream_infer.detection.output_decoding import (
    decode, detect_layout, misfit_reason, OutputLayout)
from stream_infer.detection.preprocess import check_frame, Geometry, InputSpec, Preprocessor
from stream_infer.errors import ModelError
from stream_infer.options import PostprocessOptions
from stream_infer.quantize.metadata import precision_text

logger = logging.getLogger('stream_infer.detector')


def _classes(count: int) -> str:
    return f'{count} class' + ('' if count == 1 else 'es')


class OnnxBackend:
    """An ONNX model in an onnxruntime session (or any object with the session's interface)."""

    def __init__(self, path: Optional[Path], label_names: Optional[list], *, layout: str,
                 providers: Sequence, threads: Optional[int], session: Any = None,
                 spin_wait: bool = False, **input_options: Any) -> None:
        if session is None:
            session = create_session(path, providers, threads, spin_wait)
        self.session = session
        self.model_path = path
        name = path.name if path is not None else 'session'
        self.provider: str = session.get_providers()[0]
        self.metadata: dict = dict(session.get_modelmeta().custom_metadata_map)
        inputs, outputs = session.get_inputs(), session.get_outputs()
        input_desc = ', '.join(f'{i.name} {list(i.shape)} {i.type}' for i in inputs)
        output_desc = ', '.join(f'{o.name} {list(o.shape)} {o.type}' for o in outputs)
        if len(inputs) != 1:
            raise ModelError(f'model {name} has {len(inputs)} inputs ({input_desc}); '
                             'expected exactly one image input')
        model_input = inputs[0]
        self.input_spec: InputSpec = resolve_input_spec(
            model_input.shape, model_input.type, self.metadata, describe=input_desc,
            **input_options)
        self.input_name: str = model_input.name
        self.preprocessor = Preprocessor(self.input_spec)
        self.batch_size: Optional[int] = input_batch_size(model_input.shape)  # None: dynamic
        output = next((o for o in outputs if len(o.shape) in (2, 3)), outputs[0])
        prototypes = next((o for o in outputs if len(o.shape) == 4), None)  # -seg models
        mask_channels = prototypes.shape[1] if prototypes is not None else None
        self.output_names: List[str] = [output.name]
        shape = list(output.shape)
        if not all(isinstance(d, int) and d > 0 for d in shape):
            shape = self._probe_output_shape(input_desc)
        self.max_batch: Optional[int] = self._batch_capacity(output.shape, shape, input_desc,
                                                             output_desc)
        if self.batch_size is not None and self.batch_size > 1:
            shape = [1, *shape[1:]]  # the layout is worked out on one frame's row
        input_hw = (self.input_spec.height, self.input_spec.width)
        self.layout: OutputLayout = detect_layout(
            shape, input_hw, requested=layout, metadata=self.metadata,
            describe=(input_desc, output_desc),
            mask_channels=mask_channels if isinstance(mask_channels, int) else None)
        if self.layout.task == 'segment':
            self.output_names.append(prototypes.name)
        self.layout_requested = layout != 'auto'
        metadata_names = names_from_metadata(self.metadata)
        self._check_class_counts(label_names, metadata_names, shape, input_hw, name)
        names = label_names if label_names is not None else (metadata_names or [])
        num_classes = self.layout.num_classes
        if num_classes is not None and len(names) < num_classes:
            names = names + [str(i) for i in range(len(names), num_classes)]
        self.names = ClassNames(names)
        spec = self.input_spec
        logger.info('model %s: input %s %dx%d %s %s scale %.6g %s, output %s (%s layout, %s '
                    'classes), provider %s, %s', name, self.input_name, spec.height,
                    spec.width, spec.tensor_layout, spec.channel_order, spec.scale, spec.resize,
                    shape, self.layout.name, num_classes or len(names), self.provider,
                    precision_text(self.metadata))

    def _check_class_counts(self, label_names: Optional[list], metadata_names: Optional[list],
                            shape: list, input_hw: tuple, name: str) -> None:
        """
        Raise ModelError when the class names and the model's classes disagree in number.

        Either count may come from the layout (yolov8/yolov5 outputs carry one score per
        class) or from the model metadata. A labels file with another number of names is the
        wrong file (a fewer-names file included: its names would be attached to other
        classes' ids, and ids past its end published as numbers; the classes parameter is
        the way to keep only some); metadata that disagrees with the layout means the layout
        does not fit the output.
        """
        layout = self.layout
        if layout.num_classes is not None and metadata_names \
                and len(metadata_names) != layout.num_classes:
            try:
                auto = detect_layout(shape, input_hw, metadata=self.metadata).name
            except ModelError:
                auto = None
            hint = f" (layout 'auto' reads it as {auto})" if auto and auto != layout.name else ''
            raise ModelError(
                f'layout {layout.name!r} does not fit model {name}: it reads '
                f'{_classes(layout.num_classes)} from output {shape}, but the model metadata '
                f'names {_classes(len(metadata_names))}{hint}')
        expected, source = ((layout.num_classes, f'its {layout.name} output {shape}')
                            if layout.num_classes is not None else
                            (len(metadata_names) if metadata_names else None,
                             'its metadata'))
        if label_names is not None and expected is not None and len(label_names) != expected:
            raise ModelError(
                f'labels: {len(label_names)} class names for model {name}, which has '
                f'{_classes(expected)} ({source}); give a labels file with one name per class, '
                'in class-index order (keep only some classes with the classes option)')

    def check_fit(self, raw: Any) -> None:
        """Raise ModelError when a layout given explicitly does not fit this warm-up output."""
        if not self.layout_requested:
            return  # chosen from the output's own shape and metadata
        reason = misfit_reason(raw[0] if isinstance(raw, tuple) else raw, self.layout)
        if reason is not None:
            name = self.model_path.name if self.model_path is not None else 'session'
            raise ModelError(f'layout {self.layout.name!r} does not fit model {name}: {reason} '
                             f'on a black warm-up frame (try layout auto)')

    def _probe_output_shape(self, input_desc: str) -> list:
        """Real output shape of a model with dynamic output dims: run it once on zeros."""
        shape = (self.batch_size or 1, *self.input_spec.tensor_shape[1:])
        zeros = np.zeros(shape, self.input_spec.dtype)
        try:
            raw = self.session.run(self.output_names, {self.input_name: zeros})[0]
        except Exception as exc:  # onnxruntime's errors derive from Exception only
            raise ModelError(f'model does not run on a {list(zeros.shape)} input ({input_desc}):'
                             f' {exc}') from exc
        return list(raw.shape)

    def _batch_capacity(self, declared: list, shape: list, input_desc: str,
                        output_desc: str) -> Optional[int]:
        """
        Frames one run can take: 1, the fixed batch, or None (dynamic: any number).

        Output rows can only be split per frame when the output is [batch, A, B]; a dynamic
        batch whose output turns out not to follow it is caught on the first batched run.
        """
        fixed = self.batch_size
        if fixed is not None and fixed > 1:
            if len(shape) != 3 or shape[0] != fixed:
                raise ModelError(
                    f'model input {input_desc}: batch size {fixed} is not supported with output '
                    f'{output_desc} (shape {shape}): its first dimension must be the batch '
                    f'([{fixed}, A, B]) to split it per frame; export with batch 1 or a dynamic '
                    'batch')
            return fixed
        if fixed == 1 or len(declared) != 3 or isinstance(declared[0], int):
            return 1  # one frame per run (or no batch axis to split the output on)
        return None

    def prepare(self, frame: np.ndarray) -> Tuple[np.ndarray, Geometry]:
        return self.preprocessor(frame)

    def infer(self, frame: np.ndarray, tensor: np.ndarray) -> np.ndarray:
        session = self.session
        if session is None:
            raise ModelError('detector is closed')
        if self.batch_size is not None and self.batch_size > 1:
            return _packed([out[:1] for out in self._run_padded([tensor])])
        return _packed(session.run(self.output_names, {self.input_name: tensor}))

    def infer_batch(self, tensors: Sequence[np.ndarray]) -> List[np.ndarray]:
        """
        Run several prepared frames in one session.run; one raw output row per frame.

        The rows are views [1, A, B] of the batch output, in the order of tensors (with the
        prototypes row of a segmentation model beside each). A dynamic batch whose output does
        not follow it (first dimension != frames given) turns batching off with a warning and
        the frames run one at a time.
        """
        count = len(tensors)
        outputs = self._run_padded(tensors)
        raw = outputs[0]
        if raw.ndim != 3 or raw.shape[0] < count or (self.batch_size is None
                                                     and raw.shape[0] != count):
            logger.warning('model output %s for a batch of %d frames is not one row per frame;'
                           ' frames run one at a time from now on', list(raw.shape), count)
            self.max_batch = 1
            return [self.infer(None, tensor) for tensor in tensors]
        return [_packed([out[i:i + 1] for out in outputs]) for i in range(count)]

    def _run_padded(self, tensors: Sequence[np.ndarray]) -> list:
        session = self.session
        if session is None:
            raise ModelError('detector is closed')
        batch = np.concatenate(tensors, axis=0) if len(tensors) > 1 else tensors[0]
        fixed = self.batch_size
        if fixed is not None and len(batch) < fixed:  # a fixed batch: pad with zeros
            padding = np.zeros((fixed - len(batch), *batch.shape[1:]), batch.dtype)
            batch = np.concatenate((batch, padding), axis=0)
        return session.run(self.output_names, {self.input_name: batch})

    def candidates(self, raw: Any,
                   opts: PostprocessOptions) -> Tuple[Candidates, Optional[np.ndarray]]:
        # Top-k can move into decoding unless a class filter has to come first.
        boxes = raw[0] if isinstance(raw, tuple) else raw
        found = decode(boxes, self.layout, opts.confidence,
                       opts.max_candidates if opts.classes is None else None)
        if isinstance(raw, tuple) and len(found):  # the frame's mask prototypes
            found = replace(found, prototypes=raw[1][0])
        return found, None

    def warm_up(self, run: Callable[[np.ndarray], Any]) -> None:
        """Run a black frame through everything once, so the first real frame is not slow."""
        start = time.perf_counter()
        spec = self.input_spec
        black = np.zeros((spec.height, spec.width, 3), np.uint8)
        try:
            self.check_fit(self.infer(black, self.prepare(black)[0]))
            run(black)
        except ModelError:
            raise
        except Exception as exc:  # onnxruntime's errors derive from Exception only
            name = self.model_path.name if self.model_path is not None else 'session'
            raise ModelError(f'model {name} failed on a black warm-up frame of '
                             f'{spec.height}x{spec.width}: {exc}') from exc
        logger.debug('warm-up run took %.1f ms', (time.perf_counter() - start) * 1e3)

    def close(self) -> None:
        self.session = None


def _packed(outputs: list) -> Any:
    """Return the one output of a model, or a tuple (boxes, prototypes) of a -seg model."""
    return outputs[0] if len(outputs) == 1 else tuple(outputs)


class CallableBackend:
    """
    User code as the model: f(bgr_frame) -> sv.Detections, or an (N, 6) array.

    The array rows are x1, y1, x2, y2, score, class_id in frame pixels; thresholds, NMS and
    filters still apply after it. Class names come from a labels list, or from the callable's
    own data['class_name'].
    """

    provider = 'python'
    input_spec = None
    layout = None
    model_path = None
    session = None
    max_batch = 1  # user code is called per frame

    def __init__(self, model_fn: Callable, label_names: Optional[list]) -> None:
        self.model_fn: Optional[Callable] = model_fn
        self.names = ClassNames(label_names or [])
        self.metadata: dict = {}

    def prepare(self, frame: np.ndarray) -> Tuple[None, Geometry]:
        check_frame(frame)  # the callable takes the frame as it is
        return None, Geometry.identity(*frame.shape[:2])

    def infer(self, frame: np.ndarray, tensor: None) -> Any:
        model_fn = self.model_fn
        if model_fn is None:
            raise ModelError('detector is closed')
        return model_fn(frame)

    def candidates(self, out: Any,
                   opts: PostprocessOptions) -> Tuple[Candidates, Optional[np.ndarray]]:
        candidates, names = self._to_candidates(out)
        keep = np.flatnonzero(candidates.scores >= opts.confidence)
        return candidates.take(keep), None if names is None else names[keep]

    @staticmethod
    def _to_candidates(out: Any) -> Tuple[Candidates, Optional[np.ndarray]]:
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

    def warm_up(self, run: Callable[[np.ndarray], Any]) -> None:
        """User code is not called before the first real frame."""

    def close(self) -> None:
        self.model_fn = None
