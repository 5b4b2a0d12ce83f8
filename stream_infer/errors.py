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
Errors raised by stream_infer; each message names what was wrong and what is accepted.

Catch StreamInferError for all of them:

    >>> from stream_infer.errors import ConfigurationError, StreamInferError
    >>> issubclass(ConfigurationError, StreamInferError)
    True
"""


class StreamInferError(Exception):
    """Base class for every error stream_infer raises on purpose."""


class ModelError(StreamInferError, ValueError):
    """A model could not be loaded or its inputs/outputs cannot be decoded."""


class SourceError(StreamInferError, OSError):
    """A frame source could not be opened or read."""


class ConfigurationError(StreamInferError, ValueError):
    """An option has a value it does not accept (the message says which values it does)."""


class UsageError(StreamInferError, RuntimeError):
    """An API call that is not possible now (e.g. start() while running, put_frame on a file)."""


__all__ = ['ConfigurationError', 'ModelError', 'SourceError', 'StreamInferError', 'UsageError']
