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
Sampling rules that look at one frame's detections: random, near_threshold, contains, count.

A rule is a frozen options dataclass (its fields declared with option(), so a rule that exists
is valid) with matches(view, state) -> bool. The frame's detections are read once into a
FrameView of plain arrays; every rule then decides with a few vectorised numpy operations on
the delivery thread. Rules that need memory across frames (the tracking rules, track_rules.py)
get a state from new_state(), one per source.

    >>> import numpy as np
    >>> view = FrameView(xyxy=np.zeros((2, 4)), confidence=np.array([0.9, 0.34]),
    ...                  class_id=np.array([0, 2]), tracker_id=np.array([1, -1]),
    ...                  class_name=np.array(['person', 'car']), threshold=0.3)
    >>> NearThresholdRule(band=0.05).matches(view, None)
    True
    >>> ContainsRule(classes=['person', 'dog'], match='all').matches(view, None)
    False
    >>> CountRule(classes=['car'], at_least=2).matches(view, None)
    False
"""

from dataclasses import dataclass
import numbers
from typing import Any, ClassVar, NamedTuple, Optional

import numpy as np

from stream_infer.columns import class_names_of, columns
from stream_infer.errors import ConfigurationError
from stream_infer.options import check_options, option, PostprocessOptions

DEFAULT_CONFIDENCE = PostprocessOptions().confidence
MANUAL = 'manual'  # the rule name of frames saved on request (trigger / capture)


class FrameView(NamedTuple):
    """One frame's detections as arrays (original-image pixels) and the threshold in force."""

    xyxy: np.ndarray
    confidence: np.ndarray
    class_id: np.ndarray
    tracker_id: np.ndarray
    class_name: np.ndarray
    threshold: float

    @classmethod
    def of(cls, result: Any) -> 'FrameView':
        """Read a StreamResult's detections once (missing columns get columns()' defaults)."""
        detections = result.detections
        cols = columns(detections)
        options = getattr(result, 'options', None)
        threshold = DEFAULT_CONFIDENCE if options is None else options.confidence
        return cls(cols.xyxy, cols.confidence, cols.class_id, cols.tracker_id,
                   np.asarray(class_names_of(detections), dtype=str), threshold)


@dataclass(frozen=True)
class Rule:
    """
    What every rule has: a name, a probability, the classes it looks at and its own caps.

    A frame the rule matches is kept with the given probability (one draw per match), then
    only if neither this rule's caps nor the overall limits are spent.
    """

    kind: ClassVar[str] = ''
    good_for: ClassVar[str] = ''  # one line for --help and the README

    name: str = option('', 'name written to the manifest; default the kind')
    probability: float = option(1.0, 'chance that a frame the rule matches is kept',
                                bounds=(0.0, 1.0))
    classes: Optional[tuple] = option(None, 'class names (or indices) the rule looks at; '
                                      'None = all', optional=True, kind=tuple)
    per_minute: int = option(0, 'most frames this rule keeps in any minute; 0 = no cap',
                             bounds=(0, None))
    per_hour: int = option(0, 'most frames this rule keeps in any hour; 0 = no cap',
                           bounds=(0, None))
    per_day: int = option(0, 'most frames this rule keeps in any 24 hours; 0 = no cap',
                          bounds=(0, None))

    def __post_init__(self) -> None:
        check_options(self, skip=('name', 'classes'))
        name = self.name or self.kind
        if not isinstance(name, str) or not name.strip() or name == MANUAL:
            raise ConfigurationError(f'name={self.name!r}: expected a non-empty name other '
                                     f'than {MANUAL!r} (reserved for manual captures)')
        object.__setattr__(self, 'name', name.strip())
        classes = self.classes
        if classes is not None:
            classes = (classes,) if isinstance(classes, (str, numbers.Integral)) \
                else tuple(classes)
            if not classes or not all(
                    isinstance(c, str) and c or isinstance(c, numbers.Integral)
                    and not isinstance(c, bool) and c >= 0 for c in classes):
                raise ConfigurationError(f'classes={self.classes!r}: expected class names or '
                                         'indices (ints >= 0), or None for all')
            object.__setattr__(self, 'classes', classes)
        names = tuple(c for c in classes or () if isinstance(c, str))
        ids = tuple(int(c) for c in classes or () if not isinstance(c, str))
        object.__setattr__(self, '_names', np.array(names, dtype=str))
        object.__setattr__(self, '_ids', np.array(ids, dtype=np.int64))

    def new_state(self) -> Any:
        """Return the memory this rule keeps for one source (None: the rule has none)."""
        return None

    def matches(self, view: FrameView, state: Any) -> bool:
        """Return True when the frame is one this rule wants (before the probability draw)."""
        raise NotImplementedError

    def selected(self, view: FrameView) -> np.ndarray:
        """Return the boolean mask of the detections of the rule's classes."""
        if self.classes is None:
            return np.ones(len(view.class_id), dtype=bool)
        return np.isin(view.class_name, self._names) | np.isin(view.class_id, self._ids)


@dataclass(frozen=True)
class RandomRule(Rule):
    """Any frame; its probability is the fraction kept."""

    kind: ClassVar[str] = 'random'
    good_for: ClassVar[str] = ('an unbiased sample of what the camera sees (probability = the '
                               'fraction of frames kept)')

    def matches(self, view: FrameView, state: Any) -> bool:
        return True


@dataclass(frozen=True)
class NearThresholdRule(Rule):
    """Some box of the selected classes scores within band of threshold."""

    kind: ClassVar[str] = 'near_threshold'
    good_for: ClassVar[str] = ('uncertain detections: the boxes a small change of threshold '
                               'would add or remove')

    threshold: Optional[float] = option(None, 'score the band is centred on; None = the '
                                        'confidence threshold in force for the frame',
                                        bounds=(0.0, 1.0), optional=True, kind=float)
    band: float = option(0.1, 'half-width of the band of scores', bounds=(0.0, 1.0))

    def matches(self, view: FrameView, state: Any) -> bool:
        centre = view.threshold if self.threshold is None else self.threshold
        scores = view.confidence[self.selected(view)]
        return bool(np.any(np.abs(scores - centre) <= self.band))


@dataclass(frozen=True)
class ContainsRule(Rule):
    """At least one (match any) or every one (match all) of the listed classes is present."""

    kind: ClassVar[str] = 'contains'
    good_for: ClassVar[str] = 'rare or important classes (and combinations of classes)'

    match: str = option('any', 'any: one of the classes is enough; all: every class must be '
                        'present', choices=('any', 'all'))

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.classes is None:
            raise ConfigurationError('contains needs classes (the names or indices to look for)')

    def matches(self, view: FrameView, state: Any) -> bool:
        present = np.concatenate([np.isin(self._names, view.class_name),
                                  np.isin(self._ids, view.class_id)])
        return bool(present.all() if self.match == 'all' else present.any())


@dataclass(frozen=True)
class CountRule(Rule):
    """The number of boxes of the selected classes is within [at_least, at_most]."""

    kind: ClassVar[str] = 'count'
    good_for: ClassVar[str] = 'crowded scenes (at_least) or empty ones (at_most=0)'

    at_least: int = option(1, 'fewest boxes', bounds=(0, None))
    at_most: Optional[int] = option(None, 'most boxes; None = no upper bound',
                                    bounds=(0, None), optional=True, kind=int)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.at_most is not None and self.at_most < self.at_least:
            raise ConfigurationError(f'at_most ({self.at_most}) must be >= at_least '
                                     f'({self.at_least})')

    def matches(self, view: FrameView, state: Any) -> bool:
        count = int(np.count_nonzero(self.selected(view)))
        return count >= self.at_least and (self.at_most is None or count <= self.at_most)


__all__ = ['ContainsRule', 'CountRule', 'FrameView', 'MANUAL', 'NearThresholdRule',
           'RandomRule', 'Rule']
