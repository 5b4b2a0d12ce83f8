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
The node's side of stream credentials: warn (once) when a parameter carries them, use files.

A source URL with user:password is broadcast to every node (/parameter_events, get_parameters)
although logs and diagnostics redact it, so the node says so once and names the parameter that
keeps the secret out of the URL (source_credentials_file(s): sources/credentials.py). Both a
parameter set (on-set check) and activation (each camera's source) need this; one object per
node keeps the warning to once per node.
"""

from typing import Any, Iterable, Optional

from stream_infer.ros.cameras import Camera
from stream_infer.ros.parameters import is_array
from stream_infer.sources.credentials import file_is_private, has_credentials, with_credentials

SOURCE_PARAMS = ('source', 'sources')  # parameters that name what a camera opens


class SourceCredentials:
    """Warn once per node about credentials in parameters; put a credentials file's in."""

    def __init__(self, logger: Any) -> None:
        """logger: the node's (rclpy) logger."""
        self._logger = logger
        self._warned = False

    def warn(self, name: str = 'source') -> None:
        """Warn, the first time only, that parameter `name` carries credentials; what to use."""
        if not self._warned:
            self._warned = True
            self._logger.warning(
                f'parameter {name} carries credentials: every node can read them '
                '(/parameter_events, get_parameters) although logs and diagnostics hide them; '
                'put user:password in a file readable only by this user and set '
                + ('source_credentials_files (one per camera)' if name == 'sources'
                   else 'source_credentials_file') + ' instead')

    def check_set(self, params: Iterable[Any]) -> None:
        """Warn when an accepted set gives source or sources a value with credentials."""
        for p in params:
            if p.name in SOURCE_PARAMS and any(
                    has_credentials(str(value)) for value in
                    (p.value if is_array(p.value) else [p.value])):
                self.warn(p.name)

    def source_of(self, camera: Camera) -> Optional[str]:
        """Return what a camera's engine source opens (credentials put in), None: its topic."""
        source = camera.source
        if has_credentials(source):
            self.warn('sources' if camera.name else 'source')
        if source and camera.credentials_file:
            if not file_is_private(camera.credentials_file):
                self._logger.warning(f'credentials file {camera.credentials_file} is readable '
                                     'by other users: chmod 600 it')
            source = with_credentials(source, camera.credentials_file)
        return source or None


__all__ = ['SourceCredentials']
