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
Print what changed between two folders of locks (package versions, per environment).

Usage: python3 scripts/lock_diff.py LOCKED_DIR FRESH_DIR
`./dev.sh test --latest` prints it before testing the fresh resolution, so that a failure can
be read against the releases that moved.
"""

import pathlib
import re
import sys


def pins(path: pathlib.Path) -> dict:
    """Normalised package name -> pinned version."""
    text = path.read_text(encoding='utf-8') if path.exists() else ''
    return {re.sub(r'[-_.]+', '-', name).lower(): version
            for name, version in re.findall(r'^([A-Za-z0-9_.\-]+)==(\S+)', text, re.M)}


def changes(old: dict, new: dict) -> list:
    """One line per package that moved, appeared or went away."""
    lines = []
    for name in sorted(old.keys() | new.keys()):
        before, after = old.get(name), new.get(name)
        if before == after:
            continue
        if before is None:
            lines.append(f'  + {name} {after}')
        elif after is None:
            lines.append(f'  - {name} {before}')
        else:
            lines.append(f'  ~ {name} {before} -> {after}')
    return lines


def main(argv: list) -> int:
    """Print the changes of every lock in FRESH_DIR against LOCKED_DIR."""
    locked, fresh = pathlib.Path(argv[0]), pathlib.Path(argv[1])
    total = 0
    for lock in sorted(fresh.glob('*.txt')):
        lines = changes(pins(locked / lock.name), pins(lock))
        total += len(lines)
        summary = f'{len(lines)} change(s)' if lines else 'same as the lock'
        print(f'[latest] {lock.stem}: {summary}')
        for line in lines:
            print(line)
    print(f'[latest] {total} change(s) in all against {locked}')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
