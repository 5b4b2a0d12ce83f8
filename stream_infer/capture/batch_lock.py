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
One writer per batch folder: an OS file lock (flock) on BATCH/.lock held while writing.

Two writers on one batch (two sinks in one process, a restarted sink whose predecessor is still
finishing, two nodes on one directory) would number their files alike, tidy away each other's
in-flight files and keep two different COCO files. flock() is per open file, so it separates
sinks of one process as well as processes, and the kernel drops it when a process dies: a
killed writer never leaves a batch locked. (It is advisory, and not reliable on every network
filesystem: on NFS use one capture directory per host.)

    >>> import tempfile
    >>> from pathlib import Path
    >>> folder = Path(tempfile.mkdtemp())
    >>> first, second = BatchLock(folder), BatchLock(folder)
    >>> first.acquire(), second.acquire(wait_s=0.0)
    (True, False)
    >>> first.release(); second.acquire(wait_s=0.0)
    True
"""

import errno
import fcntl
import os
from pathlib import Path
import time
from typing import Optional

LOCK_FILE = '.lock'
LOCK_POLL_S = 0.05
NO_LOCKS = (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL)


class BatchLock:
    """The exclusive lock on one batch folder (acquire, then release; not re-entrant)."""

    def __init__(self, directory: Path) -> None:
        self.path = Path(directory) / LOCK_FILE
        self._fd: Optional[int] = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self, wait_s: float = 0.0) -> bool:
        """Take the lock, waiting up to wait_s for another writer to let go; False if not."""
        if self._fd is not None:
            return True
        # read-only: an open lock file must not keep the filesystem from turning read-only
        fd = os.open(self.path, os.O_RDONLY | os.O_CREAT | getattr(os, 'O_CLOEXEC', 0), 0o644)
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                if exc.errno in NO_LOCKS:  # a filesystem without flock: write unlocked
                    break
                if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES) \
                        or time.monotonic() >= deadline:
                    os.close(fd)
                    if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                        return False
                    raise
                time.sleep(LOCK_POLL_S)
                continue
            break
        self._fd = fd
        return True

    def release(self) -> None:
        """Let go (closing the file drops the lock); never raises."""
        fd, self._fd = self._fd, None
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                pass


__all__ = ['BatchLock', 'LOCK_FILE']
