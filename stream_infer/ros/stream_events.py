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
What the node tells about its runs: ~/stream_events (and each camera's), with the log lines.

A run of one camera publishes 'started' and 'stopped: <reason>' on ~/stream_events; with several
cameras each also gets its own 'started' (first result) and 'stopped: <reason>' (once, after
its last result) on ~/<name>/stream_events while the others go on, and the node's own events
frame the whole run. A stream that ended by itself while the node is active leaves it idle:
the warning says how to start it again. The engine calls these from its delivery thread.
"""

import threading
from typing import Any, Callable, Dict, Optional

from stream_infer.ros.cameras import Camera
from stream_infer.ros.outputs import NodeOutputs
from stream_infer.stats import Stats
from stream_infer.stream import InferenceStream

ENDED_REASONS = ('ended', 'failed', 'error')  # stop reasons that leave an active node idle


class StreamEvents:
    """Publish and log a node's stream events; each camera's stop is told once per run."""

    def __init__(self, logger: Any, outputs: Callable[[], Optional[NodeOutputs]],
                 active: Callable[[], bool]) -> None:
        """
        logger: the node's; outputs: the node's publishers now (None once released).

        active: whether the node is in the active state (an ended stream then leaves it idle).
        """
        self._logger = logger
        self._outputs = outputs
        self._active = active
        self._lock = threading.Lock()
        self._cameras: Dict[str, Camera] = {}
        self._started: set = set()  # cameras that published 'started' in this run
        self._reported: set = set()  # cameras whose stop was published in this run

    def new_run(self, cameras: Dict[str, Camera]) -> None:
        """Start telling about a new run of these cameras (by name)."""
        with self._lock:
            self._cameras = cameras
            self._started, self._reported = set(), set()

    def first_result(self, camera: Camera) -> None:
        """Publish 'started' for one of several cameras at its first result in this run."""
        if camera.name and camera.name not in self._started:
            self._started.add(camera.name)
            self.camera_event(camera, 'started')

    def stream_stopped(self, stats: Stats) -> None:
        """Publish 'stopped: <reason>'; a source that ended leaves the node active but idle."""
        reason = stats.stop_reason
        self._warn_idle(f'stream from {stats.source}', reason,
                        'the node stays active with nothing to process:')
        self.event(f'stopped: {reason}')

    def run_stopped(self, stream: InferenceStream, stats: Stats) -> None:
        """Report the end of a run of several cameras: each not yet reported, then the node."""
        for name in stream.source_names:
            self.camera_stopped(name, stream.stats(name).stop_reason or stats.stop_reason)
        self.stream_stopped(stats)

    def camera_stopped(self, name: str, reason: str) -> None:
        """Publish a camera's 'stopped: <reason>' once per run; the others go on."""
        with self._lock:
            if name in self._reported:
                return
            self._reported.add(name)
            camera = self._cameras.get(name)
        if camera is None:
            return
        self._warn_idle(f'{camera.label}stream', reason, 'the other cameras go on;')
        self.camera_event(camera, f'stopped: {reason}')

    def event(self, text: str) -> None:
        """Publish an event of the node's run on ~/stream_events (and log it)."""
        self._logger.info(f'stream {text}')
        outputs = self._outputs()
        if outputs is not None:
            outputs.publish_event(text)

    def camera_event(self, camera: Camera, text: str) -> None:
        """Publish an event of one of several cameras on its ~/<name>/stream_events."""
        self._logger.info(f'{camera.label}stream {text}')
        outputs = self._outputs()
        publishers = outputs.cameras.get(camera.name) if outputs is not None else None
        if publishers is not None:
            publishers.publish_event(text)

    def _warn_idle(self, what: str, reason: str, meanwhile: str) -> None:
        """Warn that a stream ended by itself while the node is active, and how to restart it."""
        if reason in ENDED_REASONS and self._active():
            self._logger.warning(
                f'{what} stopped ({reason}); {meanwhile} ros2 lifecycle set <node> deactivate, '
                'then activate, starts it again'
                + (' (or set loop: true for files)' if reason == 'ended' else ''))


__all__ = ['ENDED_REASONS', 'StreamEvents']
