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
The rules in force: built from specs, mappings or Rule objects, evaluated once per frame.

make_rule() turns what a user wrote (a spec string, a YAML mapping) into a Rule with one clear
error when something is wrong; RuleSet keeps each rule's memory per source and draws each
matching rule's probability, returning the names of the rules that fired. Every rule sees every
frame (the tracking rules must), whatever the others decide.

    >>> import numpy as np
    >>> from stream_infer.capture.rules import FrameView
    >>> rules = RuleSet(make_rules(['count:at_least=2', {'kind': 'random', 'probability': 0}]))
    >>> view = FrameView(np.zeros((2, 4)), np.ones(2), np.zeros(2, int), np.full(2, -1),
    ...                  np.array(['a', 'a']), 0.3)
    >>> rules.evaluate(view, source='cam')
    ['count']
"""

import collections
import itertools
import random
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple

from stream_infer.capture.config import parse_rule_spec, RULE_SYNTAX
from stream_infer.capture.rules import (
    ContainsRule, CountRule, FrameView, NearThresholdRule, RandomRule, Rule)
from stream_infer.capture.track_rules import FlickerRule, NewTrackRule, UntrackedRule
from stream_infer.errors import ConfigurationError
from stream_infer.options import option_fields

MAX_RULES = 256  # a frame runs every rule: hundreds are already far more than useful

RULE_KINDS: Dict[str, type] = {cls.kind: cls for cls in (
    RandomRule, NearThresholdRule, ContainsRule, CountRule, NewTrackRule, FlickerRule,
    UntrackedRule)}


def make_rule(item: Any) -> Rule:
    """Return the Rule a spec string, a mapping with a 'kind' key, or a Rule stands for."""
    if isinstance(item, Rule):
        return item
    shown = repr(item)
    if isinstance(item, str):
        values = parse_rule_spec(item)
    elif isinstance(item, Mapping):
        values = dict(item)
    else:
        raise ConfigurationError(f'capture rule {shown}: expected {RULE_SYNTAX}, or a mapping '
                                 'with a kind key')
    kind = values.pop('kind', None)
    cls = RULE_KINDS.get(kind)
    if cls is None:
        raise ConfigurationError(f'capture rule {shown}: unknown kind {kind!r}; accepted: '
                                 f'{", ".join(RULE_KINDS)}')
    accepted = list(option_fields(cls))
    unknown = sorted(set(map(str, values)) - set(accepted))
    if unknown:
        raise ConfigurationError(f'capture rule {shown}: unknown key(s) {", ".join(unknown)} '
                                 f'for {kind}; accepted: {", ".join(accepted)}')
    try:
        return cls(**values)
    except ConfigurationError as exc:
        raise ConfigurationError(f'capture rule {shown}: {exc}') from None


def make_rules(items: Iterable[Any]) -> Tuple[Rule, ...]:
    """Return the Rules of items; rule names must be unique (they label the manifest)."""
    if isinstance(items, (str, Mapping, Rule)):
        items = [items]
    items = list(itertools.islice(items, MAX_RULES + 1))  # never more work than the cap
    if len(items) > MAX_RULES:
        raise ConfigurationError(f'capture rules: more than {MAX_RULES} rules; expected at most '
                                 f'{MAX_RULES} (each {RULE_SYNTAX})')
    rules = tuple(make_rule(item) for item in items)
    counts = collections.Counter(rule.name for rule in rules)
    twice = sorted(name for name, count in counts.items() if count > 1)
    if twice:
        raise ConfigurationError(f'capture rules: the name(s) {", ".join(twice)} are used '
                                 'twice; give each rule of the same kind its own name=')
    return rules


class RuleSet:
    """Evaluate rules on each frame, keeping each rule's memory per source."""

    def __init__(self, rules: Iterable[Any], seed: Optional[int] = None) -> None:
        self.rules = make_rules(rules)
        self._random = random.Random(seed)
        self._states: Dict[str, List[Any]] = {}
        self._epochs: Dict[str, int] = {}  # per source: the track_epoch its states belong to

    @property
    def names(self) -> List[str]:
        return [rule.name for rule in self.rules]

    def evaluate(self, view: FrameView, source: str, track_epoch: int = 0) -> List[str]:
        """
        Return the names of the rules that fired on this frame (matched, probability drawn).

        track_epoch: the result's (StreamResult.track_epoch); when it changes for a source the
        tracker restarted its ids at 1, so the rules' memory of that source starts afresh (a
        new track 1 is a new track, not the old one coming back).
        """
        states = self._states.get(source)
        if states is None or self._epochs.get(source, track_epoch) != track_epoch:
            self._epochs[source] = track_epoch
            states = self._states[source] = [rule.new_state() for rule in self.rules]
        fired = []
        for rule, state in zip(self.rules, states):
            if rule.matches(view, state) and (rule.probability >= 1.0
                                              or self._random.random() < rule.probability):
                fired.append(rule.name)
        return fired


__all__ = ['MAX_RULES', 'RULE_KINDS', 'RuleSet', 'make_rule', 'make_rules']
