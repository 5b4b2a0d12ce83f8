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
Test-wide setup: keep DDS on this machine and give the test run its own domain.

Tests use real rclpy over real Fast DDS; discovery must never leave localhost and parallel runs
must not meet, so this is fixed here before any test creates a ROS context.
"""

import os
from pathlib import Path

import pytest

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
LINTED = ['stream_infer', 'test', 'launch', 'scripts', 'benchmarks', 'setup.py']

os.environ['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
os.environ.setdefault('ROS_DOMAIN_ID', str(os.getpid() % 100 + 1))


@pytest.fixture(scope='session')
def lint_paths() -> list:
    """Absolute paths of the package's own Python sources (no venvs, no build output)."""
    return [str(PACKAGE_ROOT / p) for p in LINTED if (PACKAGE_ROOT / p).exists()]


@pytest.fixture
def ros():
    """Give the test a real rclpy context with its executor thread (ros_harness.py)."""
    from ros_harness import RosHarness  # imports rclpy: only the ROS tests ask for this
    harness = RosHarness()
    yield harness
    harness.close()
