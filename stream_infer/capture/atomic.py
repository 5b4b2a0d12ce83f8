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
Files that appear whole or not at all: write a hidden temp file beside the target, rename it.

A process killed at any point leaves either the old state or the new file, never half a file;
the temp files it leaves behind (".NAME.PID-N.tmp", N counting this process's temp files, so
two writers of one process never share one) are removed by the next run (remove_stale), unless
the process that made them is still alive. With exclusive=True an existing file is never
replaced (a hard link makes the name appear atomically and fails if it exists).

    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> write_atomic(root / 'a.txt', b'one')
    3
    >>> try:
    ...     write_atomic(root / 'a.txt', b'two', exclusive=True)
    ... except FileExistsError:
    ...     print((root / 'a.txt').read_bytes(), sorted(p.name for p in root.iterdir()))
    b'one' ['a.txt']
"""

import errno
import itertools
import os
from pathlib import Path
import re
from typing import List

TEMP = re.compile(r'^\.(?P<name>.+)\.(?P<pid>\d+)(?:-\d+)?\.tmp$')
_TEMP_NUMBERS = itertools.count(1)  # next() is atomic in CPython: unique across threads
NO_LINKS = (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK)


def temp_path(path: Path) -> Path:
    """Return a new temp file name for path (hidden, in the same directory, never reused)."""
    return path.with_name(f'.{path.name}.{os.getpid()}-{next(_TEMP_NUMBERS)}.tmp')


def write_temp(path: Path, data: bytes, fsync: bool = False) -> Path:
    """Write data to path's temp file; return the temp path (removed again if writing fails)."""
    temp = temp_path(path)
    try:
        with open(temp, 'wb') as out:
            out.write(data)
            if fsync:
                out.flush()
                os.fsync(out.fileno())
    except BaseException:
        discard(temp)
        raise
    return temp


def commit(temp: Path, path: Path, exclusive: bool = False, fsync: bool = False) -> None:
    """Give the temp file its final name; exclusive: FileExistsError if path exists."""
    try:
        if not exclusive:
            os.replace(temp, path)
        else:
            try:
                os.link(temp, path)  # fails with EEXIST instead of replacing
            except OSError as exc:
                if exc.errno not in NO_LINKS:
                    raise
                if path.exists():  # a filesystem without hard links: check, then rename
                    raise FileExistsError(errno.EEXIST, 'file exists', str(path)) from None
                os.replace(temp, path)
            else:
                os.unlink(temp)
        if fsync:
            sync_directory(path.parent)
    finally:
        discard(temp)


def write_atomic(path: Path, data: bytes, exclusive: bool = False, fsync: bool = False) -> int:
    """Write data to path through a temp file and a rename; return the bytes written."""
    commit(write_temp(path, data, fsync), path, exclusive, fsync)
    return len(data)


def sync_directory(directory: Path) -> None:
    """Flush a directory's entries (the renames) to the disk."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def discard(path: Path) -> None:
    """Remove path if it exists; never raises (cleaning up must not hide the real error)."""
    try:
        os.unlink(path)
    except OSError:
        pass


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


def remove_stale(directory: Path) -> List[Path]:
    """Remove temp files left in directory by processes that are gone; return them."""
    removed = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed
    for entry in entries:
        match = TEMP.match(entry.name)
        if match and entry.is_file(follow_symlinks=False) and not _alive(int(match['pid'])):
            discard(Path(entry.path))
            removed.append(Path(entry.path))
    return removed


__all__ = ['commit', 'discard', 'remove_stale', 'sync_directory', 'temp_path', 'write_atomic',
           'write_temp']
