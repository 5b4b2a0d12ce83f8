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
Hard-example capture in the node: the capture_* parameters, `~/capture`, diagnostics values.

The node feeds every result to one CaptureSink (stream_infer.capture) while it is active and
capture_directory is set; a change of any capture_* parameter starts a new sink with the new
values at once and closes the old one on a thread of its own (its queue is written; the new
sink waits for the batch's lock, so the batch goes on with one writer at a time and the
executor never waits on a disk). `~/capture` (std_srvs/Trigger) saves
the frame the node delivered last (one per camera with several), now, whatever the rules and
caps say (never beyond the disk limits), and answers with the image paths or the reason nothing
was written; it never blocks the executor for long (SERVICE_WAIT_S in all: frames still being
written then are answered as queued) and answers at once when no frame was delivered yet.
"""

from concurrent import futures
import threading
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

from diagnostic_msgs.msg import DiagnosticStatus, KeyValue
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from std_srvs.srv import Trigger

from stream_infer.capture import CaptureSink, CaptureState
from stream_infer.capture.config import CaptureOptions

SERVICE_WAIT_S = 0.5  # ~/capture waits this long in all (every camera) for the files
CLOSE_TIMEOUT_S = 5.0  # deactivation waits this long for captured frames to reach the disk


def _answer(requests: List[futures.Future]) -> Tuple[bool, str]:
    """Return (success, message) for saves: the image paths, why not, or how many are queued."""
    paths, errors, queued = [], [], 0
    for request in requests:
        if not request.done():
            queued += 1
        elif request.exception() is not None:
            errors.append(str(request.exception()))
        else:
            paths.append(str(request.result().image))
    if queued:
        paths.append(f'{queued} frame(s) queued, not yet on disk after {SERVICE_WAIT_S:g} s '
                     '(a slow disk): written unless capture stops (capture.saved in '
                     '/diagnostics counts them)')
    return not errors, '; '.join(errors + ([', '.join(paths)] if paths else []))


class NodeCapture:
    """The node's capture sink (or none), its service and what it reports."""

    def __init__(self, node) -> None:
        self._node = node
        self._lock = threading.Lock()
        self._sink: Optional[CaptureSink] = None
        self._closers: List[threading.Thread] = []  # old sinks writing their queues
        self._last: Dict[str, Any] = {}  # each camera's result delivered last (any sink)
        self._service = node.create_service(
            Trigger, '~/capture', self._on_trigger,
            callback_group=MutuallyExclusiveCallbackGroup())

    @property
    def sink(self) -> Optional[CaptureSink]:
        return self._sink

    def start(self, options: CaptureOptions, class_names: Sequence[str], source: str) -> None:
        """(Re)start capturing with options; no capture when options.directory is empty."""
        sink = (CaptureSink.from_options(options, class_names, source=source)
                if options.directory else None)
        with self._lock:
            old, self._sink = self._sink, sink
        if old is not None:
            self._close_aside(old)
        if sink is not None:
            self._node.get_logger().info(
                f'capturing hard examples into {sink.directory} (rules: '
                f'{", ".join(sink.rule_names) or "none, ~/capture only"})')

    def _close_aside(self, old: CaptureSink) -> None:
        """Close old on a thread of its own: its queue is written, the caller goes on."""
        closer = threading.Thread(target=old.close, name='stream_infer-capture-close',
                                  daemon=True)
        closer.start()
        self._closers = [t for t in self._closers if t.is_alive()] + [closer]

    def stop(self, timeout: float = CLOSE_TIMEOUT_S) -> bool:
        """
        Stop capturing and wait (up to timeout) for every old sink's queue to be written.

        Forgets the last frame. Deactivation and shutdown call it: what was captured is on
        the disk when they return, unless the disk is slower than timeout (False).
        """
        self.start(CaptureOptions(), (), '')
        self._last = {}
        deadline = time.monotonic() + timeout
        for closer in self._closers:
            closer.join(max(0.0, deadline - time.monotonic()))
        self._closers = [t for t in self._closers if t.is_alive()]
        return not self._closers

    def __call__(self, result: Any) -> None:
        """Look at one delivered result (never raises: the sink counts its own errors)."""
        self._last[result.source_name] = result
        sink = self._sink
        if sink is not None:
            sink(result)

    def _on_trigger(self, request: Trigger.Request, response: Trigger.Response):
        """
        Queue each camera's last delivered frame; answer within SERVICE_WAIT_S in all.

        The executor is the node's only thread for callbacks: the answer never waits for a
        frame to come (a topic-mode frame could only come through this blocked executor) and
        waits for the disk at most SERVICE_WAIT_S for all cameras together; frames still
        being written then are reported as queued.
        """
        sink = self._sink
        if sink is None:
            response.success = False
            response.message = ('capture is off: set capture_directory (and activate the node) '
                                'to save frames')
            return response
        last = list(self._last.values())
        if not last:
            response.success = False
            response.message = ('no frame delivered yet: nothing saved (call again once the '
                                'node publishes detections)')
            return response
        try:
            requests = [sink.save(result) for result in last]
            futures.wait(requests, timeout=SERVICE_WAIT_S)
            response.success, response.message = _answer(requests)
        except Exception as exc:  # noqa: BLE001 - any failure: answer, never raise
            response.success, response.message = False, f'nothing saved ({exc!r})'
        return response

    def diagnostic_values(self) -> Dict[str, Any]:
        """Return capture counters and state for /diagnostics (empty while not capturing)."""
        sink = self._sink
        if sink is None:
            return {}
        stats = sink.stats()
        values = {f'capture.{key}': value for key, value in vars(stats).items()
                  if not isinstance(value, dict)}
        values.update({f'capture.fired.{rule}': count for rule, count in stats.fired.items()})
        return values

    def warnings(self) -> List[str]:
        """Return what a user must see at WARN: a capture that stopped or is paused (low disk)."""
        sink = self._sink
        if sink is None or sink.state == CaptureState.CAPTURING:
            return []
        return [f'capture {sink.state}: {sink.stats().message}']

    def diagnostic_status(self, node_name: str) -> Optional[DiagnosticStatus]:
        """Return capture's own status (a node with several cameras), None while off."""
        values = self.diagnostic_values()
        if not values:
            return None
        warnings = self.warnings()
        status = DiagnosticStatus(
            level=DiagnosticStatus.WARN if warnings else DiagnosticStatus.OK,
            name=f'{node_name}: stream_infer capture',
            message=', '.join(warnings) or f'capture {values["capture.state"]}',
            hardware_id=str(values.get('capture.directory', '')))
        status.values = [KeyValue(key=k, value=str(v)) for k, v in values.items()]
        return status

    def destroy(self) -> None:
        self.stop()
        self._node.destroy_service(self._service)
