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
The cameras one node serves: their names, what each reads, and the names each publishes under.

`cameras` empty is the single-camera node (parameters source, frame_id,
source_credentials_file; topics detections, annotated, ..., ~/stream_events). With
`cameras: [front, rear]` one node (one model, one lifecycle) serves both; camera `front`
publishes front/detections, front/annotated, front/label_info, ... and ~/front/stream_events,
reads `sources[i]` (or, when that is '' or sources is empty, subscribes to front/image or
front/image/compressed) and stamps frame_ids[i] (default: its name) on frames it opens.
The per-camera lists are each empty or one entry per camera.
Import-light (no rclpy): the parameter table and launch files use it.

    >>> plan = cameras_of(CameraOptions(cameras=('front', 'rear'), sources=('0', '')),
    ...                   source='', frame_id='camera', credentials_file='')
    >>> [(c.name, c.source, c.frame_id, c.topic('detections')) for c in plan]
    [('front', '0', 'front', 'front/detections'), ('rear', '', 'rear', 'rear/detections')]
    >>> single = cameras_of(CameraOptions(), source='a.mp4', frame_id='cam',
    ...                     credentials_file='')
    >>> [(c.name, c.source, c.topic('detections'), c.events_topic) for c in single]
    [('', 'a.mp4', 'detections', '~/stream_events')]
"""

from dataclasses import dataclass
import re
from typing import Any, List, Sequence

from stream_infer.errors import ConfigurationError
from stream_infer.options import check_options, option

# A camera name is a topic name token (ROS 2 names: no '-', no leading digit).
CAMERA_NAME = re.compile(r'[A-Za-z_][A-Za-z0-9_]*')
CAMERA_NAME_RULE = "letters, digits and '_', not starting with a digit"
PER_CAMERA = ('sources', 'frame_ids', 'source_credentials_files')  # empty or one per camera


@dataclass(frozen=True)
class CameraOptions:
    """Several cameras served by one node: their names and what each reads."""

    what = 'cameras'
    cameras: tuple = option((), 'Names of the cameras one node serves with one model (each '
                            'publishes <name>/detections, <name>/annotated, ... and has its own '
                            'diagnostics entry). Empty = a single camera: parameter source and '
                            'topics without a prefix.')
    sources: tuple = option((), 'With cameras: one source per camera (camera index, device, '
                            "file or URL, as source); '' = that camera subscribes to "
                            '<name>/image (or <name>/image/compressed). Empty = every camera '
                            'subscribes.')
    frame_ids: tuple = option((), 'With cameras: the frame_id of each camera, stamped on frames '
                              "the node opens itself ('' = its name). Empty = the camera names.")
    source_credentials_files: tuple = option(
        (), "With cameras: one credentials file per camera ('' = none), as "
        'source_credentials_file. Empty = none.')

    def __post_init__(self) -> None:
        check_options(self)
        names = list(self.cameras)
        for name in names:
            if not isinstance(name, str) or not CAMERA_NAME.fullmatch(name):
                raise ConfigurationError(
                    f'cameras={names!r}: {name!r} is not a camera name: expected '
                    f'{CAMERA_NAME_RULE} (it prefixes its topics: <name>/detections)')
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ConfigurationError(f'cameras={names!r} names {", ".join(repeated)} twice: '
                                     'each camera needs its own name')
        for field in PER_CAMERA:
            values = list(getattr(self, field))
            if not names and values:
                raise ConfigurationError(
                    f'{field}={values!r} is for several cameras: set cameras (one name per '
                    'entry) too; a single camera uses ' + field[:-1])
            if values and len(values) != len(names):
                raise ConfigurationError(
                    f'{field} has {len(values)} entries for {len(names)} cameras '
                    f'({", ".join(names)}): give one per camera, or none')


@dataclass(frozen=True)
class Camera:
    """
    One camera of the node: its name ('' for the single camera) and what it reads.

    source '' = the camera subscribes to its image topic (topic mode).
    """

    name: str
    source: str
    frame_id: str
    credentials_file: str

    def topic(self, base: str) -> str:
        """Return the camera's name for a topic: `base` alone, or `<name>/base`."""
        return f'{self.name}/{base}' if self.name else base

    @property
    def events_topic(self) -> str:
        """Return the camera's (private) stream events topic."""
        return '~/' + self.topic('stream_events')

    def diagnostic_name(self, node_name: str) -> str:
        """Return the name of the camera's /diagnostics status (node name first)."""
        return f'{node_name}: stream_infer' + (f' {self.name}' if self.name else '')

    @property
    def label(self) -> str:
        """Return how logs name the camera ('' for the single camera)."""
        return f'camera {self.name}: ' if self.name else ''


def check_single_camera_parameters(options: CameraOptions, *, source: str, frame_id: str,
                                   frame_id_default: str, credentials_file: str) -> None:
    """
    Refuse the single-camera parameters set together with cameras (one line, which to use).

        >>> check_single_camera_parameters(CameraOptions(cameras=('a',)), source='x.mp4',
        ...     frame_id='camera', frame_id_default='camera', credentials_file='')
        Traceback (most recent call last):
        ...
        stream_infer.errors.ConfigurationError: source='x.mp4' is for a single camera; ...
    """
    if not options.cameras:
        return
    for name, value, instead in (
            ('source', source, "sources (one per camera, '' = its image topic)"),
            ('source_credentials_file', credentials_file,
             "source_credentials_files (one per camera, '' = none)"),
            ('frame_id', '' if frame_id == frame_id_default else frame_id,
             'frame_ids (one per camera; default: the camera names)')):
        if value:
            raise ConfigurationError(f'{name}={value!r} is for a single camera; with cameras '
                                     f'({", ".join(options.cameras)}) give {instead}')


def cameras_of(options: CameraOptions, *, source: str, frame_id: str,
               credentials_file: str) -> List[Camera]:
    """Return the node's cameras: the named ones, or the single camera of `source`."""
    if not options.cameras:
        return [Camera('', source, frame_id, credentials_file)]
    count = len(options.cameras)

    def column(values: Sequence[Any], default: Sequence[str]) -> List[str]:
        return list(values) if values else list(default)

    return [Camera(*row) for row in zip(
        options.cameras, column(options.sources, [''] * count),
        [frame_id or name for frame_id, name in zip(column(options.frame_ids, options.cameras),
                                                    options.cameras)],
        column(options.source_credentials_files, [''] * count))]


__all__ = ['Camera', 'CAMERA_NAME_RULE', 'CameraOptions', 'cameras_of',
           'check_single_camera_parameters']
