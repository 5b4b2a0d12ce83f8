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
The sources of one stream (its lanes): names, finding one by name or index, opening them all.

Building them (each spec to a FrameSource, nothing opened yet) is here too, and the Lane: what
the stream keeps per source across runs (its options, tracker, frame numbering, statistics).
A stream made with one source has one lane named ''; sources=[a, b] names them '0', '1';
sources={'front': a, 'rear': b} names them. Names are short tokens (they end up in JSON
lines, file names and, in the ROS node, topic prefixes).

    >>> source_entries(None, {'front': 0, 'rear': 'rear.mp4'})
    [('front', 0), ('rear', 'rear.mp4')]
    >>> source_entries('clip.mp4', None)
    [('', 'clip.mp4')]
"""

from dataclasses import dataclass, field
import itertools
import re
import threading
from typing import (
    Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Union)

import numpy as np

from stream_infer.errors import ConfigurationError, UsageError
from stream_infer.options import DepthOptions, PostprocessOptions, ReconnectPolicy, SourceOptions
from stream_infer.sources import FrameSource, open_source
from stream_infer.stats import StatsRecorder
from stream_infer.tracking import Tracker

NAME_PATTERN = re.compile(r'[A-Za-z0-9_][A-Za-z0-9_-]*')
NAME_RULE = "letters, digits, '_' and '-' (not first)"


@dataclass
class LiveSettings:
    """What a run reads once per frame; the stream swaps whole objects in from any thread."""

    options: PostprocessOptions
    tracker: Optional[Tracker]
    depth: DepthOptions = field(default_factory=DepthOptions)  # frames that carry depth


@dataclass
class Lane:
    """
    One source of a stream and what it keeps across runs.

    index and name identify it in results and stats (name '' for a stream made with a single
    source); settings are the options and tracker in force for it; overrides the option
    fields set for it alone (the rest follow the stream's shared options); frame ids go on
    across runs; max_frames ends this source (not the others) after that many results.
    """

    index: int
    name: str
    source: FrameSource
    settings: LiveSettings
    stats: StatsRecorder
    max_frames: Optional[int] = None
    overrides: Dict[str, Any] = field(default_factory=dict)
    frame_ids: Iterator[int] = field(default_factory=itertools.count)


def check_source_name(name: Any) -> str:
    """Return name if it is a valid source name; ConfigurationError naming the rule if not."""
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise ConfigurationError(f'source name {name!r}: expected {NAME_RULE}')
    return name


def source_entries(source: Any, sources: Any) -> List[Tuple[str, Any]]:
    """
    Return [(name, spec)] for InferenceStream(source) or InferenceStream(sources=...).

    sources: a list/tuple of source specs (named '0', '1', ...) or a {name: spec} mapping.
    """
    if sources is None:
        return [('', source)]
    if source is not None:
        raise UsageError('give either source or sources=[...], not both')
    if isinstance(sources, Mapping):
        entries = [(check_source_name(name), spec) for name, spec in sources.items()]
    elif isinstance(sources, (list, tuple)):
        entries = [(str(index), spec) for index, spec in enumerate(sources)]
    else:
        raise ConfigurationError(f'sources must be a list of sources or a {{name: source}} '
                                 f'dict, got {type(sources).__name__}')
    if not entries:
        raise ConfigurationError('sources is empty: give at least one source')
    return entries


def max_frames_limit(max_frames: Any) -> Optional[int]:
    """Return a checked max_frames (an int >= 1) or None; ValueError naming what is accepted."""
    if max_frames is not None and (isinstance(max_frames, bool)
                                   or not isinstance(max_frames, (int, np.integer))
                                   or max_frames < 1):
        raise ValueError(f'max_frames must be an int >= 1 or None, got {max_frames!r}')
    return None if max_frames is None else int(max_frames)


def build_sources(entries: Sequence[Tuple[str, Any]], playback: SourceOptions,
                  reconnect: ReconnectPolicy,
                  clock: Optional[Callable[[], float]] = None) -> List[FrameSource]:
    """Build each entry's FrameSource (not opened); clock, when given, stamps their frames."""
    built = [open_source(spec, enforce_fps=playback.enforce_fps, loop=playback.loop,
                         reconnect=reconnect) for _, spec in entries]
    if len(set(map(id, built))) != len(built):
        raise UsageError('the same FrameSource object is given twice; each source needs '
                         'its own')
    if clock is not None:
        for frame_source in built:
            frame_source.clock = clock
    return built


def find_index(names: Sequence[str], key: Union[int, str, None]) -> int:
    """
    Return the index of the source key names (its name, or its index); None: the only one.

        >>> find_index(['front', 'rear'], 'rear'), find_index(['front', 'rear'], 0)
        (1, 0)
    """
    count = len(names)
    if key is None:
        if count == 1:
            return 0
        raise UsageError(f'this stream has {count} sources ({", ".join(names)}): say which one '
                         'with source=NAME or source=INDEX')
    if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
        if 0 <= key < count:
            return int(key)
    elif isinstance(key, str) and key in names:
        return names.index(key)
    shown = ', '.join(repr(n) for n in names) if any(names) else 'none'
    raise ConfigurationError(f'unknown source {key!r}: expected an index 0..{count - 1} or one '
                             f'of the names {shown}')


def open_all(sources: Sequence[FrameSource]) -> None:
    """
    Open every source, several at once (network opens can take seconds each).

    When one cannot be opened, those that were are closed again and its SourceError raised.
    """
    if len(sources) == 1:
        sources[0].open()
        return
    errors: List[Optional[BaseException]] = [None] * len(sources)

    def open_one(index: int) -> None:
        try:
            sources[index].open()
        except BaseException as exc:  # noqa: BLE001 - re-raised on the caller's thread
            errors[index] = exc

    threads = [threading.Thread(target=open_one, args=(i,), name=f'stream_infer-open-{i}',
                                daemon=True) for i in range(len(sources))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    failed = next((exc for exc in errors if exc is not None), None)
    if failed is not None:
        for source, exc in zip(sources, errors):
            if exc is None:
                source.close()
        raise failed


__all__ = ['build_sources', 'check_source_name', 'find_index', 'Lane', 'LiveSettings',
           'max_frames_limit', 'NAME_RULE', 'open_all', 'source_entries']
