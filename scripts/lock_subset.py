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
Print the entries (pin and hashes) of the named packages from a lock file.

Usage: python3 scripts/lock_subset.py LOCK NAME [NAME ...]
Set-up installs the lock's setuptools and wheel before the rest, so that packages published
only as sources are built with the locked versions.
"""

import re
import sys


def entries(text: str) -> dict:
    """Map each normalised package name to its whole entry (the pin and its hash lines)."""
    found = {}
    for block in re.split(r'\n(?=\S)', text):
        match = re.match(r'([A-Za-z0-9_.\-]+)==', block)
        if match:
            name = re.sub(r'[-_.]+', '-', match.group(1)).lower()
            found[name] = '\n'.join(line for line in block.splitlines()
                                    if not line.lstrip().startswith('#'))
    return found


def main(argv: list) -> int:
    """Print the wanted entries; fail naming any the lock lacks."""
    lock, names = argv[0], argv[1:]
    with open(lock, encoding='utf-8') as f:
        found = entries(f.read())
    missing = [n for n in names if n.lower() not in found]
    if missing:
        print(f'lock_subset: {lock} has no entry for {", ".join(missing)}', file=sys.stderr)
        return 1
    print('\n'.join(found[n.lower()] for n in names))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
