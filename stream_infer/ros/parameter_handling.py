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
The node's parameters from declaration to a set: checked start-up values, then rclpy's split.

rclpy runs a set in three callbacks and so does this: pre-set (normalize: an empty array of any
type, integer indices for `classes`), on-set (validate: accept exactly what can be applied, in
this lifecycle state, with the loaded model's classes and the rules between parameters) and
post-set (hand the names that really changed to the node, which applies them to the engine).
Deciding what a set may change is one job; running the engine is the node's. None of the
callbacks raises: a parameter set never ends the node.
"""

import threading
from typing import Any, Callable, Dict, List, Optional, Set

from rcl_interfaces.msg import SetParametersResult
from rclpy.node import Node
from rclpy.parameter import Parameter

from stream_infer.detection import Detector
from stream_infer.errors import ConfigurationError, StreamInferError
from stream_infer.ros.parameters import (
    check_change, class_filter, descriptor, foreign_names, is_array, normalized_value,
    options_from, PARAMS, startup_values)
from stream_infer.ros.source_credentials import SourceCredentials


class StartupError(ConfigurationError):
    """A start-up parameter value was refused (already logged); the process exits with 2."""


class ParameterHandling:
    """Declare the node's parameters and answer its pre-set, on-set and post-set callbacks."""

    def __init__(self, node: Node, *, state: Callable[[], str],
                 detector: Callable[[], Optional[Detector]], apply: Callable[[Set[str]], None],
                 credentials: SourceCredentials) -> None:
        """
        Take the node's parts a set is checked against; register nothing yet (see attach).

        state: the node's lifecycle state name ('unconfigured', 'inactive', 'active', ...);
        detector: the loaded model, None before configure; apply: applies changed names.
        """
        self._node = node
        self._state = state
        self._detector = detector
        self._apply = apply
        self._credentials = credentials
        self._set_call = threading.local()  # what the set being applied changes (names)

    def declare(self) -> None:
        """
        Declare every parameter with its checked start-up value (override or default).

        Overrides (-p, params files) get the checks a runtime set gets, before rclpy applies
        the descriptors' ranges; a refused one is logged in one line and raises StartupError.
        """
        node = self._node
        overrides = {name: p.value for name, p in getattr(node, '_parameter_overrides',
                                                          {}).items()}
        try:
            values = startup_values(overrides)
        except ConfigurationError as exc:
            node.get_logger().error(f'cannot start: {exc}')
            raise StartupError(str(exc)) from None
        unknown = foreign_names(list(overrides))
        if unknown:
            node.get_logger().warning(f'ignoring parameters this node does not have: '
                                      f'{", ".join(unknown)} (ros2 param list shows its own)')
        empty_arrays = []
        for p in PARAMS:
            value = values[p.name]
            if is_array(value) and len(value) == 0:  # rclpy would type [] as a byte array
                empty_arrays.append(Parameter(p.name, Parameter.Type.STRING_ARRAY, []))
                value = Parameter.Type.STRING_ARRAY  # declared with its type, set just below
            node.declare_parameter(p.name, value, descriptor(p), ignore_override=True)
        if empty_arrays:
            node.set_parameters(empty_arrays)

    def attach(self) -> None:
        """Register the pre-set, on-set and post-set callbacks on the node."""
        self._node.add_pre_set_parameters_callback(self.normalize)
        self._node.add_on_set_parameters_callback(self.validate)
        self._node.add_post_set_parameters_callback(self.applied)

    def options(self, changes: Optional[Dict[str, Any]] = None) -> Dict[type, Any]:
        """Every option object from the parameters (with changes applied on top)."""
        values = {p.name: self._node.get_parameter(p.name).value for p in PARAMS}
        values.update(changes or {})
        return options_from(values)

    def normalize(self, params: List[Parameter]) -> List[Parameter]:
        """Pre-set: an empty array of any type, or integer indices, for `classes`."""
        out = []
        for param in params:
            value = normalized_value(param.name, param.value)
            out.append(param if value is param.value
                       else Parameter(param.name, Parameter.Type.STRING_ARRAY, value))
        return out

    def validate(self, params: List[Parameter]) -> SetParametersResult:
        """On-set: accept exactly what can be applied; never raises."""
        # A set that changes nothing succeeds in any state (ros2 param load of a dump).
        params = [p for p in params if not self._unchanged(p)]
        self._set_call.changed = {p.name for p in params}
        try:
            reason = self._why_refused(params)
        except Exception as exc:  # noqa: BLE001 - a parameter set must never end the node
            reason = f'could not check the change: {type(exc).__name__}: {exc}'
        if reason is not None:
            self._node.get_logger().warning(f'rejected parameter change: {reason}')
            return SetParametersResult(successful=False, reason=reason)
        self._credentials.check_set(params)
        return SetParametersResult(successful=True)

    def applied(self, params: List[Parameter]) -> None:
        """Post-set: apply what changed; never raises (errors are logged)."""
        names = {p.name for p in params} & getattr(self._set_call, 'changed', set())
        self._set_call.changed = set()
        try:
            self._apply(names)
        except Exception as exc:  # noqa: BLE001 - a parameter set must never end the node
            self._node.get_logger().error(
                f'applying {", ".join(sorted(names))} failed: {type(exc).__name__}: {exc}')

    def _unchanged(self, param: Parameter) -> bool:
        """Return True when param sets a parameter to the value (and type) it has now."""
        if not self._node.has_parameter(param.name):
            return False
        current = self._node.get_parameter(param.name)
        if current.type_ != param.type_:
            return False
        old, new = current.value, param.value
        return list(old) == list(new) if is_array(old) and is_array(new) else old == new

    def _why_refused(self, params: List[Parameter]) -> Optional[str]:
        """Return why this set cannot be applied now (None: it can)."""
        changes = {p.name: p.value for p in params}
        reason = None
        detector = self._detector()
        for param in params:
            reason = check_change(param.name, param.value, self._state())
            if reason is None and param.name == 'classes' and detector is not None:
                try:
                    detector.resolve_classes(class_filter(param.value))
                except (StreamInferError, ValueError) as exc:
                    reason = str(exc)
            if reason is not None:
                break
        if reason is None:
            try:
                self.options(changes)  # rules between parameters, in parameter words
            except StreamInferError as exc:
                reason = str(exc)
        return reason


__all__ = ['ParameterHandling', 'StartupError']
