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
Engine statistics -> diagnostic_msgs/DiagnosticArray for /diagnostics (rqt_robot_monitor).

One status per camera of the node, from the engine's stats and the node's input and output
counters (node_statuses gathers them from the node's parts), plus capture's.
"""

import dataclasses
from typing import Any, List, Mapping, Sequence

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue

from stream_infer.ros.image_input import NO_INPUT

WARN_STATES = ('reconnecting', 'connecting', 'ended')
ERROR_STATES = ('failed',)
# A run that ended by itself leaves the node active with nothing to do: say so.
STOP_LEVELS = {'ended': DiagnosticStatus.WARN, 'failed': DiagnosticStatus.ERROR,
               'error': DiagnosticStatus.ERROR}


def _flatten(prefix: str, value: Any, out: dict) -> None:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    if isinstance(value, dict):
        for key, item in value.items():
            _flatten(f'{prefix}{key}.', item, out)
        return
    out[prefix.rstrip('.')] = f'{value:.3f}' if isinstance(value, float) else str(value)


def stats_values(stats: Any) -> dict:
    """Flatten an engine stats snapshot (dataclass or dict, nested allowed) to str values."""
    out: dict = {}
    _flatten('', stats, out)
    return out


def diagnostics_array(statuses: Sequence[DiagnosticStatus], stamp) -> DiagnosticArray:
    """Return one /diagnostics message carrying statuses (one per camera of the node)."""
    array = DiagnosticArray()
    array.header.stamp = stamp
    array.status = list(statuses)
    return array


def diagnostic_status(name: str, stats: Any, provider: str, bad_images: int,
                      last_bad_image: str, warnings: Sequence[str] = (),
                      **extra: Any) -> DiagnosticStatus:
    """
    Build the DiagnosticStatus of one camera: its level from the source state, bad inputs.

    name: the status name as is (the node's name first); a stream that stopped by itself
    (a source that ended: WARN) raises the level too. warnings: other problems worth a WARN
    (e.g. a publisher with incompatible QoS).
    """
    values = stats_values(stats)
    values.update({key: str(value) for key, value in extra.items()})
    values['execution_provider'] = provider
    values['bad_images_skipped'] = str(bad_images)
    if last_bad_image:
        values['last_bad_image'] = last_bad_image
    state = values.get('source_state', 'unknown')
    level, message = DiagnosticStatus.OK, f'source {state}'
    if state in ERROR_STATES:
        level = DiagnosticStatus.ERROR
    elif state in WARN_STATES or bad_images or warnings:
        level = DiagnosticStatus.WARN
    stop_reason = values.get('stop_reason', '')
    if stop_reason in STOP_LEVELS:
        level = max(level, STOP_LEVELS[stop_reason])
        message += (f', stream stopped ({stop_reason}): nothing is processed until the node is '
                    'deactivated and activated again')
    if bad_images:
        message += f', {bad_images} bad images skipped'
    for warning in warnings:
        message += f', {warning}'
    status = DiagnosticStatus(level=level, name=name, message=message,
                              hardware_id=values.get('source', ''))
    status.values = [KeyValue(key=k, value=v) for k, v in values.items()]
    return status


def node_statuses(node_name: str, cameras: Mapping[str, Any], stream: Any, outputs: Any,
                  detector: Any, inputs: Mapping[str, Any], capture: Any
                  ) -> List[DiagnosticStatus]:
    """
    Return one status per camera (a single camera's is named as the node's), then capture's.

    cameras, inputs: the run's, by camera name (inputs: those that subscribe); stream, outputs,
    detector, capture: the node's InferenceStream, NodeOutputs, Detector and NodeCapture.
    """
    statuses = []
    single = len(cameras) == 1  # capture's values go with its only camera's
    for camera in cameras.values():
        publishers = outputs.cameras.get(camera.name)
        if publishers is None:
            continue
        counts = inputs.get(camera.name, NO_INPUT)
        statuses.append(diagnostic_status(
            camera.diagnostic_name(node_name),
            stream.stats(camera.name) if camera.name else stream.stats(), detector.provider,
            counts.bad_images, counts.last_bad_image, model_precision=detector.precision,
            warnings=counts.warnings() + (capture.warnings() if single else []),
            input_messages_lost=counts.lost,
            input_incompatible_publishers=counts.incompatible_publishers,
            annotated_published=publishers.annotated_published,
            annotated_compressed_published=publishers.annotated_compressed_published,
            node_input_ms=f'{counts.cost.mean_ms:.3f}',
            node_output_ms=f'{publishers.cost.mean_ms:.3f}', **counts.depth_values(),
            **(capture.diagnostic_values() if single else {})))
    status = None if single else capture.diagnostic_status(node_name)
    if status is not None:
        statuses.append(status)
    return statuses
