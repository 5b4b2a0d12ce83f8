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

"""Checks for option dataclasses: one wording for every range error a user can hit."""

from typing import Any, Iterable

import numpy as np


def check_fractions(owner: Any, names: Iterable[str]) -> None:
    """Raise ValueError unless each named attribute is a number in [0, 1] (bools refused)."""
    for name in names:
        value = getattr(owner, name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not 0.0 <= value <= 1.0:
            raise ValueError(f'{name}={value!r}: expected a number in [0, 1]')


def check_counts(owner: Any, names: Iterable[str]) -> None:
    """Raise ValueError unless each named attribute is an int >= 1 (bools refused)."""
    for name in names:
        value = getattr(owner, name)
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f'{name}={value!r}: expected an integer >= 1')
