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
The node's answer to lifecycle ChangeState requests, guarded against ids not valid now.

    >>> callable(answer_change_state)
    True
"""


def answer_change_state(node, request, response):
    """
    Answer ChangeState: a transition that is not valid now is refused, never raised.

    rclpy (Jazzy) looks a transition id up in the current state and raises RCLError
    'Transition is not registered' when it is not there, which ends the executor;
    lifecycle managers send ids, so an id sent in the wrong state is answered
    success=false and the node stays where it is (labels were already handled so).
    """
    try:
        transition = request.transition
        if not transition.label:
            valid = {t[0]: t[1] for t in node._state_machine.available_transitions}
            if transition.id not in valid:
                state = node._state_machine.current_state[1]
                node.get_logger().warning(
                    f'change_state: transition id {transition.id} is not valid in state '
                    f'{state!r} (valid here: '
                    f'{", ".join(f"{label} ({tid})" for tid, label in valid.items())}); '
                    'refused')
                response.success = False
                return response
        return node._LifecycleNodeMixin__on_change_state(request, response)
    except Exception as exc:  # noqa: BLE001 - a service request must never end the node
        node.get_logger().error(f'change_state request failed: {type(exc).__name__}: {exc}')
        response.success = False
        return response


__all__ = ['answer_change_state']
