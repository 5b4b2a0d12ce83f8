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
Class names: from ONNX metadata (`names`, an ultralytics-style dict literal) or a labels file.

Metadata comes from a model file of unknown origin, so it is parsed with ast.literal_eval
(literals only, never code).
"""

import ast
import difflib
import logging
import os
from pathlib import Path
from typing import Iterable, Mapping, Optional, Sequence, Union

import numpy as np

from stream_infer.errors import ModelError
from stream_infer.option_files import read_option_file

logger = logging.getLogger('stream_infer.detector')

LABELS_HELP = ('a .txt file with one name per line, a .yaml/.yml file holding a list, an '
               '{id: name} mapping or {names: list or mapping}, or a sequence of strings')


def names_to_list(names: Union[Mapping, Sequence], source: str) -> list:
    """Index -> name list from a list or an {index: name} mapping (gaps become the index)."""
    if isinstance(names, Mapping):
        try:
            by_index = {int(k): str(v) for k, v in names.items()}
        except (TypeError, ValueError):
            raise ModelError(f'class names in {source}: mapping keys must be integer indices, '
                             f'got {list(names)[:5]}') from None
        if any(k < 0 for k in by_index):
            raise ModelError(f'class names in {source}: negative index in {sorted(by_index)[:5]}')
        size = max(by_index, default=-1) + 1
        return [by_index.get(i, str(i)) for i in range(size)]
    if isinstance(names, (list, tuple)):
        return [str(n) for n in names]
    raise ModelError(f'class names in {source}: expected a list or an {{id: name}} mapping, '
                     f'got {type(names).__name__}')


def names_from_metadata(metadata: Mapping[str, str]) -> Optional[list]:
    """Names from the `names` metadata entry, or None (with a warning when it is unreadable)."""
    text = metadata.get('names')
    if not text:
        return None
    try:
        return names_to_list(ast.literal_eval(text), 'model metadata')
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError, ModelError) as exc:
        logger.warning('ignoring unreadable class names in the model metadata (%s); classes '
                       'will be named by index', exc)
        return None


def load_labels(labels: Union[str, os.PathLike, Sequence[str]]) -> list:
    """Names from a labels file (txt or yaml) or a sequence of strings; ModelError if invalid."""
    if isinstance(labels, (str, os.PathLike)):
        return _labels_file(Path(labels))
    if isinstance(labels, Iterable) and not isinstance(labels, (bytes, Mapping)):
        names = list(labels)
        if all(isinstance(n, str) for n in names):
            return names
    raise ModelError(f'labels {labels!r}: expected {LABELS_HELP}')


def _labels_file(path: Path) -> list:
    text = read_option_file(path, 'labels', f'a labels file: {LABELS_HELP}', ModelError)
    if path.suffix.lower() in ('.yaml', '.yml'):
        import yaml  # only needed for yaml label files
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ModelError(f'labels file {path} is not valid YAML: {exc}') from None
        if isinstance(data, Mapping) and 'names' in data:
            data = data['names']
        return names_to_list(data, f'labels file {path}')
    names = [line.strip() for line in text.splitlines()]
    while names and not names[-1]:
        names.pop()
    if not names:
        raise ModelError(f'labels file {path} is empty (expected {LABELS_HELP})')
    return names


class ClassNames:
    """Index -> name lookup, vectorised for whole detection arrays; unknown ids become '7'."""

    def __init__(self, names: Sequence[str]) -> None:
        self.names = list(names)
        self._array = np.array(self.names + [''], dtype=str)  # '' keeps dtype str when empty

    def lookup(self, class_ids: np.ndarray) -> np.ndarray:
        """Numpy str array of the names of class_ids."""
        class_ids = np.asarray(class_ids, dtype=np.int64)
        known = (class_ids >= 0) & (class_ids < len(self.names))
        if known.all():
            return self._array[class_ids]
        out = np.where(known, self._array[np.where(known, class_ids, len(self.names))],
                       class_ids.astype(str))
        return out.astype(str)

    def resolve(self, classes: Optional[Iterable]) -> Optional[tuple]:
        """
        Class indices from names and/or indices (None stays None = all classes).

        Names match exactly first, then case-insensitively; a numeric string is an index when no
        class has that name. Unknown names raise ValueError listing close matches.
        """
        if classes is None:
            return None
        if isinstance(classes, (str, int, np.integer)):
            classes = [classes]
        lower = {}
        for index, name in enumerate(self.names):
            lower.setdefault(name.lower(), index)
        resolved = []
        for item in classes:
            index = self._resolve_one(item, lower)
            if index not in resolved:
                resolved.append(index)
        return tuple(resolved)

    def _resolve_one(self, item: object, lower: dict) -> int:
        if isinstance(item, (bool, np.bool_)):
            raise ValueError(f'class {item!r}: expected a class index or name')
        if isinstance(item, (int, np.integer)):
            if item < 0 or (self.names and item >= len(self.names)):
                raise ValueError(f'class index {item} out of range: the model has '
                                 f'{len(self.names)} classes (0..{len(self.names) - 1})')
            return int(item)
        if isinstance(item, str):
            if item in self.names:
                return self.names.index(item)
            if item.strip().lower() in lower:
                return lower[item.strip().lower()]
            if item.strip().isdigit():
                return self._resolve_one(int(item.strip()), lower)
            close = difflib.get_close_matches(item, self.names, n=3)
            hint = f'; did you mean {close}?' if close else ''
            known = (f'{len(self.names)} known names, e.g. {self.names[:5]}' if self.names
                     else 'this model has no class names, use indices')
            raise ValueError(f'unknown class name {item!r} ({known}){hint}')
        raise ValueError(f'class {item!r}: expected a class index (int) or name (str)')
