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
Reading the files that options name (rules, labels, credentials...): regular files, bounded.

A path-valued option is outside input like any other: `ros2 param set ... capture_rules_file
/dev/urandom` must not read forever on the executor thread, a FIFO must not block open() until
a writer appears, a directory or a 2 GB file must not be half-read before failing. So every
option file goes through read_option_file(): a stat() first (no open: opening some devices has
side effects), then a non-blocking open whose fstat() must again say "regular file" (the path
may have been swapped in between), a size cap checked on the metadata and again while reading
(the file may grow), and UTF-8 text. Errors name the option, the path and what is accepted.

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), 'names.txt')
    >>> with open(path, 'w') as f:
    ...     _ = f.write('person')
    >>> read_option_file(path, 'labels', 'a class names file')
    'person'
    >>> try:
    ...     read_option_file('/dev/zero', 'labels', 'a class names file')
    ... except ConfigurationError as exc:
    ...     print(str(exc).partition(';')[0])
    labels='/dev/zero': a character device, not a regular file
"""

import os
import stat
from typing import Type, Union

from stream_infer.errors import ConfigurationError

MAX_OPTION_FILE_BYTES = 1 << 20  # 1 MiB: far above any rules, labels or credentials file

_KINDS = ((stat.S_ISDIR, 'a directory'), (stat.S_ISCHR, 'a character device'),
          (stat.S_ISBLK, 'a block device'), (stat.S_ISFIFO, 'a FIFO (named pipe)'),
          (stat.S_ISSOCK, 'a socket'))


def _size_words(n: int) -> str:
    for shift, unit in ((30, 'GiB'), (20, 'MiB'), (10, 'KiB')):
        if n >= 1 << shift and not n % (1 << shift):
            return f'{n >> shift} {unit}'
    return f'{n} bytes'


def _kind(mode: int) -> str:
    return next((words for test, words in _KINDS if test(mode)), 'not a regular file')


def check_regular_file(path: Union[str, os.PathLike], what: str, accepted: str,
                       error: Type[Exception] = ConfigurationError,
                       max_bytes: int = MAX_OPTION_FILE_BYTES) -> os.stat_result:
    """
    Return path's stat when it is an existing regular file of at most max_bytes; else raise.

    Nothing is opened (stat follows symlinks, so a link to a regular file is fine).
    """
    shown = f'{what}={os.fspath(path)!r}'
    wanted = f'expected {accepted} (a regular file of at most {_size_words(max_bytes)})'
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise error(f'{shown}: no such file; {wanted}') from None
    except OSError as exc:
        raise error(f'{shown}: cannot read it ({exc.strerror or exc}); {wanted}') from None
    if not stat.S_ISREG(info.st_mode):
        raise error(f'{shown}: {_kind(info.st_mode)}, not a regular file; {wanted}')
    if info.st_size > max_bytes:
        raise error(f'{shown}: {info.st_size} bytes, larger than the {_size_words(max_bytes)} '
                    f'accepted; {wanted}')
    return info


def read_option_file(path: Union[str, os.PathLike], what: str, accepted: str,
                     error: Type[Exception] = ConfigurationError,
                     max_bytes: int = MAX_OPTION_FILE_BYTES) -> str:
    """
    Return the UTF-8 text of the regular file an option names, reading at most max_bytes.

    what names the option in errors ('capture rules_file'), accepted says what the file must
    hold; error is the exception class raised (ConfigurationError, ModelError, SourceError).
    """
    data = read_regular_file(path, what, accepted, error, max_bytes)
    try:
        return data.decode('utf-8')
    except UnicodeDecodeError as exc:
        wanted = f'expected {accepted} (a regular file of at most {_size_words(max_bytes)})'
        raise error(f'{what}={os.fspath(path)!r}: not UTF-8 text (byte {exc.start}); '
                    f'{wanted}') from None


def read_regular_file(path: Union[str, os.PathLike], what: str, accepted: str,
                      error: Type[Exception] = ConfigurationError,
                      max_bytes: int = MAX_OPTION_FILE_BYTES) -> bytes:
    """Return the bytes of a regular file (at most max_bytes), as read_option_file checks it."""
    check_regular_file(path, what, accepted, error, max_bytes)
    shown = f'{what}={os.fspath(path)!r}'
    wanted = f'expected {accepted} (a regular file of at most {_size_words(max_bytes)})'
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, 'O_NOCTTY', 0) | getattr(os, 'O_CLOEXEC', 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise error(f'{shown}: cannot read it ({exc.strerror or exc}); {wanted}') from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):  # swapped for something else since the stat above
            raise error(f'{shown}: {_kind(mode)}, not a regular file; {wanted}')
        chunks, size = [], 0
        while size <= max_bytes:
            chunk = os.read(fd, max_bytes + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise error(f'{shown}: cannot read it ({exc.strerror or exc}); {wanted}') from None
    finally:
        os.close(fd)
    if size > max_bytes:
        raise error(f'{shown}: grew past the {_size_words(max_bytes)} accepted while being '
                    f'read; {wanted}')
    return b''.join(chunks)


__all__ = ['MAX_OPTION_FILE_BYTES', 'check_regular_file', 'read_option_file',
           'read_regular_file']
