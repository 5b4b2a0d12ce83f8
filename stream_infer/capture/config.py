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
Capture options, defined once (option()), and the rule syntax shared by the CLI, YAML and ROS.

CaptureOptions holds everything about capture as flat values (the CLI flags and, later, the ROS
parameters derive from its fields). Rules are written either as one-line specs,
"kind" or "kind:key=value,key=value" (classes as name+name), or as YAML mappings with a kind
key; both become the same mapping and then a Rule (rule_set.make_rule). Import-light: the rule
classes are imported only when options are checked.

    >>> parse_rule_spec('near_threshold:band=0.05,classes=person+car')
    {'kind': 'near_threshold', 'band': 0.05, 'classes': ['person', 'car']}
    >>> CaptureOptions(directory='dataset', per_minute=0).min_interval_s
    1.0
"""

from dataclasses import dataclass
import os
from typing import Any, ClassVar, List, Optional, Union

from stream_infer.errors import ConfigurationError
from stream_infer.option_files import read_option_file
from stream_infer.options import check_options, option

RULE_SYNTAX = '"kind" or "kind:key=value,key=value" (classes as name+name)'

# What `--capture DIR` alone keeps: frames the model is unsure or wrong about, plus a thin
# random sample for an unbiased view; the caps below turn that into a trickle.
DEFAULT_RULES = (
    'near_threshold:band=0.05,probability=0.1',  # a box scored just above the threshold
    'new_track',  # an object appears
    'flicker',  # a track missed for a few frames, then found again
    'untracked',  # a box the tracker never confirms
    'random:probability=0.01',  # 1 % of all frames
)


@dataclass(frozen=True)
class CaptureOptions:
    """
    Where hard examples go and how many: rules, caps, disk limits, image format.

    Caps count kept frames in sliding windows (any 60 s, 3600 s, 86400 s); manual captures
    bypass rules, caps and the interval but never the disk limits.

        >>> CaptureOptions(directory='d', rules=('new_track', 'random:probability=0.5')).rules
        ('new_track', 'random:probability=0.5')
    """

    what: ClassVar[str] = 'capture'  # names it in errors

    directory: str = option('', 'dataset directory (one batch folder per UTC day inside); '
                            'empty = no capture')
    rules: tuple = option(DEFAULT_RULES, 'sampling rules, each ' + RULE_SYNTAX + '; kinds: '
                          'random, near_threshold, contains, count, new_track, flicker, '
                          'untracked; a frame is kept when any rule fires')
    rules_file: Optional[str] = option(None, 'YAML file with a list of rules (replaces rules); '
                                       'None = rules', optional=True, kind=str)
    per_minute: int = option(20, 'most frames kept in any minute (all rules); 0 = no cap',
                             bounds=(0, None))
    per_hour: int = option(300, 'most frames kept in any hour; 0 = no cap', bounds=(0, None))
    per_day: int = option(2000, 'most frames kept in any 24 hours; 0 = no cap',
                          bounds=(0, None))
    min_interval_s: float = option(1.0, 'seconds between two frames kept from the same source',
                                   bounds=(0.0, 86400.0))
    disk_budget_mb: float = option(1024.0, 'most megabytes the dataset directory may hold '
                                   '(capture stops there); 0 = no budget', bounds=(0.0, None))
    min_free_mb: float = option(500.0, 'free space (MB) to leave on the filesystem: frames '
                                'that would go below it are not written (capture resumes when '
                                'space returns); 0 = no check (a full disk stops capture)',
                                bounds=(0.0, None))
    jpeg_quality: int = option(90, 'JPEG quality of saved images', bounds=(1, 100))
    max_image_size: int = option(0, 'longest side of saved images in pixels (larger frames '
                                 'are scaled down, labels stay exact); 0 = original size',
                                 bounds=(0, 16384))
    coco: bool = option(False, 'also write COCO JSON (annotations.coco.json in each batch)')
    queue_size: int = option(4, 'frames waiting for the disk at most; more are dropped and '
                             'counted', bounds=(1, 256))
    fsync: bool = option(False, 'flush each file to the disk before renaming it into place '
                         '(survives power loss; slower)')
    seed: Optional[int] = option(None, "seed of the rules' probability draws; None = "
                                 'unpredictable', bounds=(0, None), optional=True, kind=int)

    def __post_init__(self) -> None:
        check_options(self, skip=('directory', 'rules', 'rules_file'))
        directory = self.directory
        if directory is None or not isinstance(directory, (str, os.PathLike)):
            raise ConfigurationError(f'capture directory={directory!r}: expected a path')
        object.__setattr__(self, 'directory', os.fspath(directory))
        rules = (self.rules,) if isinstance(self.rules, (str, dict)) else self.rules
        try:
            rules = tuple(rules)
        except TypeError:
            raise ConfigurationError(f'capture rules={self.rules!r}: expected a list of '
                                     f'rules, each {RULE_SYNTAX}') from None
        object.__setattr__(self, 'rules', rules)
        if self.rules_file in ('', None):
            object.__setattr__(self, 'rules_file', None)
        elif not isinstance(self.rules_file, (str, os.PathLike)):
            raise ConfigurationError(f'capture rules_file={self.rules_file!r}: expected a path')
        else:
            object.__setattr__(self, 'rules_file', os.fspath(self.rules_file))
        from stream_infer.capture.rule_set import make_rules  # numpy only when checked
        try:
            make_rules(self.rule_items())
        except ConfigurationError as exc:
            where = f'capture rules_file={self.rules_file!r}'
            if self.rules_file is None or str(exc).startswith(where):
                raise
            raise ConfigurationError(f'{where}: {exc}') from None  # name the file

    def rule_items(self) -> List[Any]:
        """Return the rules as written: the rules file's entries if one is given, else rules."""
        return read_rules_file(self.rules_file) if self.rules_file else list(self.rules)


def _scalar(text: str) -> Any:
    """Read one spec value: true/false, null/none, an int, a float, else the text."""
    low = text.lower()
    if low in ('true', 'false'):
        return low == 'true'
    if low in ('null', 'none'):
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def parse_rule_spec(text: str) -> dict:
    """Turn 'kind:key=value,...' into {'kind': kind, key: value, ...}; bad syntax raises."""
    if not isinstance(text, str) or not text.strip():
        raise ConfigurationError(f'capture rule {text!r}: expected {RULE_SYNTAX}')
    kind, _, rest = text.strip().partition(':')
    rule: dict = {'kind': kind.strip()}
    for part in filter(str.strip, rest.split(',')):
        key, equals, value = (s.strip() for s in part.partition('='))
        if not equals or not key:
            raise ConfigurationError(f'capture rule {text!r}: {part.strip()!r} is not key=value; '
                                     f'expected {RULE_SYNTAX}')
        if key == 'classes':
            rule[key] = [_scalar(name.strip()) for name in value.split('+') if name.strip()]
        else:
            rule[key] = _scalar(value)
    return rule


MAX_RULES_FILE_BYTES = 64 << 10  # 64 KiB: hundreds of rules; checked before anything is read
MAX_RULES_FILE_LINES = 4000  # checked before YAML parses it (cheap; bounds the parser's work)
RULES_FILE_ACCEPTED = 'a YAML file with a list of rules, or a mapping with only a "rules" list'


def read_rules_file(path: Union[str, os.PathLike]) -> List[Any]:
    """
    Return the rules of a YAML file: a list, or a mapping with a 'rules' list.

    Bounded before any parsing: a regular file (no device, FIFO or directory), at most
    MAX_RULES_FILE_BYTES and MAX_RULES_FILE_LINES (read_option_file, then a line count), so a
    parameter set naming /dev/urandom or a huge file is refused in milliseconds.
    """
    import yaml  # only when a rules file is used
    text = read_option_file(path, 'capture rules_file', RULES_FILE_ACCEPTED,
                            max_bytes=MAX_RULES_FILE_BYTES)
    where = f'capture rules_file={os.fspath(path)!r}'
    lines = text.count('\n') + 1
    if lines > MAX_RULES_FILE_LINES:
        raise ConfigurationError(f'{where}: {lines} lines, more than the {MAX_RULES_FILE_LINES} '
                                 f'accepted; expected {RULES_FILE_ACCEPTED}')
    try:
        data = yaml.load(text, Loader=getattr(yaml, 'CSafeLoader', yaml.SafeLoader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, 'problem_mark', None)
        at = f' at line {mark.line + 1}' if mark is not None else ''
        raise ConfigurationError(f'{where}: not valid YAML{at} '
                                 f'({getattr(exc, "problem", None) or exc})') from None
    if isinstance(data, dict) and set(data) == {'rules'}:
        data = data['rules']
    if not isinstance(data, list) or not data:
        raise ConfigurationError(f'{where}: expected a non-empty list of rules (or a mapping '
                                 f'with only a "rules" list), got {type(data).__name__}')
    return data


__all__ = ['CaptureOptions', 'DEFAULT_RULES', 'MAX_RULES_FILE_BYTES', 'MAX_RULES_FILE_LINES',
           'RULE_SYNTAX', 'parse_rule_spec',
           'read_rules_file']
