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
Stream credentials kept out of the URL: read from a file and put into the URL at open time.

A URL such as rtsp://user:secret@cam/stream is redacted in every log and statistic, but
wherever the URL itself is configuration that others can read (a ROS parameter is broadcast on
/parameter_events and answered by get_parameters) the secret leaks. A credentials file holding
`user:password` (one line; the password may contain ':') is the same mechanism as Docker/
Kubernetes secrets and systemd's LoadCredential=: the URL names the camera, the file (readable
by the robot's user only) authenticates. User and password are percent-encoded into the URL,
so any character works.

    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), 'cam.credentials')
    >>> with open(path, 'w') as f:
    ...     _ = f.write('viewer:p@ss:word')
    >>> with_credentials('rtsp://10.0.0.5:8554/stream', path)
    'rtsp://viewer:p%40ss%3Aword@10.0.0.5:8554/stream'
    >>> has_credentials('rtsp://viewer:pw@10.0.0.5/stream'), has_credentials('rtsp://cam/s')
    (True, False)
"""

import os
from pathlib import Path
import stat
from typing import Union
from urllib.parse import quote, urlsplit, urlunsplit

from stream_infer.errors import SourceError
from stream_infer.option_files import read_option_file
from stream_infer.sources.base import redact

CREDENTIALS_HELP = "one line 'user:password'"
MAX_CREDENTIALS_BYTES = 64 << 10  # one line; the cap only keeps a wrong path from being read


def has_credentials(text: str) -> bool:
    """Return True when text carries URL credentials (user:password@ or a secret query)."""
    return redact(text) != str(text)


def read_credentials(path: Union[str, os.PathLike]) -> tuple:
    """
    Return (user, password) from a credentials file; SourceError (never the content) if bad.

    Group- or world-readable files work but are reported by file_is_private().
    """
    path = Path(path)
    lines = read_option_file(path, 'credentials file', f'a file holding {CREDENTIALS_HELP}',
                             SourceError, max_bytes=MAX_CREDENTIALS_BYTES).splitlines()
    line = next((text.strip('\r') for text in lines if text.strip()), '')
    user, sep, password = line.partition(':')
    if not sep or not user:
        raise SourceError(f'credentials file {path}: expected {CREDENTIALS_HELP} (its first '
                          "non-empty line has no ':' or no user)")
    return user, password


def file_is_private(path: Union[str, os.PathLike]) -> bool:
    """Return True when only the owner may read the file (mode 0600 or stricter)."""
    try:
        return not os.stat(path).st_mode & (stat.S_IRWXG | stat.S_IRWXO)
    except OSError:
        return True  # read_credentials reports it


def with_credentials(url: str, path: Union[str, os.PathLike]) -> str:
    """Return url with the file's user:password put in (percent-encoded); SourceError if bad."""
    parts = urlsplit(url)
    if not parts.scheme or not parts.hostname:
        raise SourceError(f'credentials file given, but the source {redact(url)!r} is not a '
                          'URL with a host (credentials apply to network streams)')
    if parts.username is not None or parts.password is not None:
        raise SourceError(f'the source {redact(url)!r} already carries credentials and a '
                          'credentials file is given too: keep them in one place, the file')
    user, password = read_credentials(path)
    netloc = f'{quote(user, safe="")}:{quote(password, safe="")}@{parts.netloc}'
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


__all__ = ['CREDENTIALS_HELP', 'file_is_private', 'has_credentials', 'read_credentials',
           'with_credentials']
