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
The launch substitutions behind launch_support.params_file() and given_arguments().

Each evaluates, when the node is launched, to the path of a params file for the node's
`parameters` list (launch_ros passes paths as --params-file, in order). Only `ros2 launch`
imports this module (it needs the `launch` package); the logic is launch_support's.

    >>> LifecycleNode(..., parameters=[ParamsFile('params_file'),   # doctest: +SKIP
    ...                                GivenArguments(['confidence'])])
"""

from typing import Sequence

from launch.launch_context import LaunchContext
from launch.substitution import Substitution
from launch.utilities import normalize_to_list_of_substitutions, perform_substitutions

from stream_infer.ros import launch_support


class ParamsFile(Substitution):
    """The file named by a launch argument, or a params file with no values when it is empty."""

    def __init__(self, argument: str) -> None:
        super().__init__()
        self.argument = argument

    def describe(self) -> str:
        return f'ParamsFile($(var {self.argument}), none when empty)'

    def perform(self, context: LaunchContext) -> str:
        return launch_support.params_file_path(
            context.launch_configurations.get(self.argument, ''))


class GivenArguments(Substitution):
    """A params file of the launch arguments that were given (non-empty), typed."""

    def __init__(self, arguments: Sequence[str]) -> None:
        super().__init__()
        self.arguments = list(arguments)

    def describe(self) -> str:
        return f'GivenArguments({", ".join(self.arguments)}: the non-empty ones)'

    def perform(self, context: LaunchContext) -> str:
        configurations = context.launch_configurations
        return launch_support.arguments_file(
            {name: configurations.get(name, '') for name in self.arguments})


class NodeLogLevel(Substitution):
    """`<node logger>:=<level>` for --log-level: the level argument for the node's logger only."""

    def __init__(self, namespace, level_argument: str) -> None:
        super().__init__()
        self.namespace = namespace if isinstance(namespace, str) else \
            normalize_to_list_of_substitutions(namespace)
        self.level_argument = level_argument

    def describe(self) -> str:
        name = launch_support.NODE_NAME
        return f'NodeLogLevel(<namespace>.{name}:=$(var {self.level_argument}))'

    def perform(self, context: LaunchContext) -> str:
        namespace = self.namespace if isinstance(self.namespace, str) else \
            perform_substitutions(context, self.namespace)
        level = context.launch_configurations.get(self.level_argument, 'info')
        return f'{launch_support.node_logger_name(namespace)}:={level}'
