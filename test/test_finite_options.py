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


"""Every float option, wherever declared, refuses NaN and +-inf through one check (check_value)."""

import math

import pytest

from stream_infer.capture.config import CaptureOptions
from stream_infer.capture.rule_set import RULE_KINDS
from stream_infer.errors import ConfigurationError
from stream_infer.options import (
    DecodeOptions, describe_accepted, ModelOptions, option_fields, PostprocessOptions,
    ReconnectPolicy, SourceOptions, TrackerOptions)

ROS_CLASSES = []
try:  # the ROS-only options import nothing of rclpy, but keep the core test ROS-free
    from stream_infer.ros.cameras import CameraOptions
    from stream_infer.ros.parameters import NodeOptions, startup_values
    ROS_CLASSES = [NodeOptions, CameraOptions]
except ImportError:  # pragma: no cover - without the ROS layer
    startup_values = None

CLASSES = [PostprocessOptions, TrackerOptions, ReconnectPolicy, SourceOptions, DecodeOptions,
           ModelOptions, CaptureOptions, *RULE_KINDS.values(), *ROS_CLASSES]
FLOAT_FIELDS = [(cls, name) for cls in CLASSES for name, f in option_fields(cls).items()
                if f.metadata['kind'] is float]


def test_the_float_options_are_all_found():
    names = {name for _, name in FLOAT_FIELDS}
    # the two the outside fault battery set to inf, and a few others, so the list is not empty
    assert {'min_free_mb', 'disk_budget_mb', 'open_timeout', 'confidence', 'probability'} <= names
    assert len(FLOAT_FIELDS) >= 15, FLOAT_FIELDS


@pytest.mark.parametrize('value', [math.inf, -math.inf, math.nan], ids=['inf', '-inf', 'nan'])
@pytest.mark.parametrize('cls,name', FLOAT_FIELDS, ids=lambda x: getattr(x, '__name__', x))
def test_every_float_option_refuses_non_finite_values(cls, name, value):
    with pytest.raises(ConfigurationError) as error:
        cls(**{name: value})
    assert f'{name}={value!r}: expected ' in str(error.value), str(error.value)
    # and a finite value in range is still accepted (the check is not refusing everything)
    default = option_fields(cls)[name].default
    if default is not None:
        needs = {'classes': ['person']} if cls.__name__ == 'ContainsRule' else {}
        assert getattr(cls(**{name: default}, **needs), name) == default


def test_unbounded_float_options_say_finite():
    f = option_fields(CaptureOptions)['min_free_mb']
    assert describe_accepted(f) == 'a finite number >= 0'
    assert describe_accepted(option_fields(PostprocessOptions)['confidence']) == \
        'a number in [0, 1]'


@pytest.mark.skipif(startup_values is None, reason='the ROS layer (rclpy) is not installed')
@pytest.mark.parametrize('name', ['capture_min_free_mb', 'capture_disk_budget_mb',
                                  'reconnect_delay', 'diagnostics_period'])
def test_ros_parameters_refuse_inf(name):
    with pytest.raises(ConfigurationError, match=f'{name}=inf: expected a'):
        startup_values({name: math.inf})
