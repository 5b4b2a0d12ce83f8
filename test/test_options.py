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

"""Every option is defined once (stream_infer.options): its checks, and the interfaces derived."""

import dataclasses

import pytest

from stream_infer import cli
from stream_infer.errors import ConfigurationError, StreamInferError
from stream_infer.options import (
    describe_accepted, ModelOptions, option_fields, PostprocessOptions, ReconnectPolicy,
    SourceOptions, TrackerOptions, updated)

OPTION_CLASSES = (PostprocessOptions, TrackerOptions, ReconnectPolicy, SourceOptions,
                  ModelOptions)


@pytest.mark.parametrize('cls', OPTION_CLASSES, ids=lambda c: c.__name__)
def test_defaults_are_valid_and_every_field_is_an_option(cls):
    options = cls()
    assert set(option_fields(cls)) == {f.name for f in dataclasses.fields(cls)}
    for name, f in option_fields(cls).items():
        assert len(f.metadata['help']) > 10, name
        assert getattr(options, name) == f.default
        assert describe_accepted(f)


@pytest.mark.parametrize('cls,bad', [
    (PostprocessOptions, {'confidence': 1.000001}), (PostprocessOptions, {'iou_threshold': -0.1}),
    (PostprocessOptions, {'max_candidates': True}), (PostprocessOptions, {'confidence': 'high'}),
    (PostprocessOptions, {'confidence': float('nan')}),
    (TrackerOptions, {'frame_rate': 0}), (TrackerOptions, {'lost_track_buffer': 2.5}),
    (ReconnectPolicy, {'initial_delay': 0.0}), (ReconnectPolicy, {'max_attempts': 0}),
    (ReconnectPolicy, {'initial_delay': 2.0, 'max_delay': 1.0}),
    (SourceOptions, {'loop': 'yes'}), (ModelOptions, {'layout': 'yolo'}),
    (ModelOptions, {'threads': 0}),
])
def test_bad_values_raise_one_configuration_error_naming_the_option(cls, bad):
    with pytest.raises(ConfigurationError) as error:
        cls(**bad)
    assert isinstance(error.value, (StreamInferError, ValueError))
    assert any(name in str(error.value) for name in bad), str(error.value)
    assert '\n' not in str(error.value)


def test_ints_given_for_floats_become_floats_and_updates_check_names():
    assert TrackerOptions(frame_rate=10).frame_rate == 10.0
    assert isinstance(TrackerOptions(frame_rate=10).frame_rate, float)
    base = PostprocessOptions()
    assert updated(base, confidence=0.5).confidence == 0.5 and base.confidence == 0.3
    with pytest.raises(ConfigurationError, match=r"unknown option\(s\) \['confidance'\]"):
        updated(base, confidance=0.5)
    with pytest.raises(ConfigurationError, match='unknown tracker option'):
        updated(TrackerOptions(), buffer=3)


def test_cli_flags_derive_from_the_options():
    parser = cli.build_parser()
    defaults = parser.parse_args(['clip.mp4'])
    flags = {a.dest: a for a in parser._actions}
    for _, cls in cli.OPTION_GROUPS:
        for name, f in option_fields(cls).items():
            assert name in flags, f'no CLI flag for {cls.__name__}.{name}'
            assert getattr(defaults, name) == f.default, name
            assert f.metadata['help'] in flags[name].help
    args = parser.parse_args(['clip.mp4', '--iou', '0.6', '--track-frame-rate', '15',
                              '--reconnect-delay', '0.2', '--layout', 'yolov8', '--loop'])
    assert cli.option_values(args, PostprocessOptions)['iou_threshold'] == 0.6
    assert TrackerOptions(**cli.option_values(args, TrackerOptions)).frame_rate == 15.0
    assert ReconnectPolicy(**cli.option_values(args, ReconnectPolicy)).initial_delay == 0.2
    assert cli.option_values(args, ModelOptions)['layout'] == 'yolov8'
    assert cli.option_values(args, SourceOptions) == {'enforce_fps': False, 'loop': True}
