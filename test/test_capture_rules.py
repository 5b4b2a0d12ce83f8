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
Capture rules fire on exactly the frames made to trigger them, and on no other.

The scripted scene (helpers/capture_scene.py) runs through the real engine (ByteTrack
included); its frames encode their index, so each saved image says which frame it is.
"""

import json

import cv2
from helpers.capture_scene import (
    CAT, FRAMES, NAMES, NO_LIMITS, PERSON, result, scene_frames, scene_model, TRUCK)
from helpers.frame_codes import read_index
import numpy as np
import pytest

from stream_infer import InferenceStream
from stream_infer.capture import CaptureOptions, CaptureSink, make_rule
from stream_infer.capture.config import parse_rule_spec
from stream_infer.capture.rule_set import make_rules, RuleSet
from stream_infer.capture.rules import FrameView
from stream_infer.capture.track_rules import TrackMemory
from stream_infer.errors import ConfigurationError
from stream_infer.options import PostprocessOptions

SCENE_RULES = [
    'near_threshold:name=uncertain,threshold=0.5,band=0.05,classes=cat',
    {'kind': 'contains', 'name': 'pair', 'classes': ['dog', 'bird'], 'match': 'all'},
    'count:name=cars,classes=car,at_least=3',
    'new_track:name=entering,classes=person',
    'flicker:name=missed,classes=person,max_gap=5',
    'untracked:name=ghost,classes=truck,frames=5',
    'random:name=never,probability=0',
]
# What the scene was scripted to trigger (helpers/capture_scene.py says why).
EXPECTED = {'uncertain': [5, 17], 'pair': [9], 'cars': [12], 'entering': [0, 21],
            'missed': [26], 'ghost': [34, 39], 'never': []}


def reference_tracking_frames(delivered):
    """Work out with plain loops the frames the tracking rules should fire on."""
    seen_last, untracked_run = {}, 0
    entering, missed, ghost = [], [], []
    for frame_id, rows in delivered:
        people = {t for c, t, _ in rows if c == 'person' and t >= 0}
        if people - set(seen_last):
            entering.append(frame_id)
        if any(1 <= frame_id - seen_last[t] - 1 <= 5 for t in people & set(seen_last)):
            missed.append(frame_id)
        seen_last.update({t: frame_id for t in people})
        trucks = [1 for c, t, _ in rows if c == 'truck' and t < 0]
        untracked_run = untracked_run + 1 if trucks else 0
        if untracked_run and untracked_run % 5 == 0:
            ghost.append(frame_id)
    return {'entering': entering, 'missed': missed, 'ghost': ghost}


def test_each_rule_fires_exactly_on_the_frames_made_to_trigger_it(tmp_path):
    stream = InferenceStream(iter(scene_frames()), scene_model, labels=NAMES, confidence=0.1)
    delivered = []
    stream.on_result(lambda r: delivered.append((r.frame_id, list(zip(
        r.detections.data.get('class_name', []), r.detections.tracker_id.tolist(),
        r.detections.confidence.tolist())))))
    with CaptureSink(tmp_path, stream.class_names, rules=SCENE_RULES, **NO_LIMITS) as capture:
        stream.on_result(capture)
        assert stream.run().frames_processed == FRAMES
    stats = capture.stats()
    [batch] = [p for p in tmp_path.iterdir() if p.is_dir()]
    records = [json.loads(line) for line in (batch / 'manifest.jsonl').read_text().splitlines()]
    fired_on = {name: [r['frame_id'] for r in records if name in r['rules']]
                for name in EXPECTED}
    assert fired_on == EXPECTED
    assert reference_tracking_frames(delivered) == {
        k: EXPECTED[k] for k in ('entering', 'missed', 'ghost')}
    assert stats.fired == {name: len(frames) for name, frames in EXPECTED.items()}
    assert stats.saved == len(records) == len({f for v in EXPECTED.values() for f in v})
    for record in records:  # each saved image is the frame the manifest names
        image = cv2.imread(str(batch / record['image']))
        assert read_index(image) == record['frame_id']


def view(boxes, tracker_ids=None, confidence=0.3):
    options = PostprocessOptions(confidence=confidence)
    return FrameView.of(result(0, boxes, tracker_ids, options=options))


def test_near_threshold_centres_on_the_confidence_in_force_unless_given():
    rule = make_rule('near_threshold:band=0.05')
    box = [[0, 0, 10, 10, 0.53, CAT]]
    assert rule.matches(view(box, confidence=0.5), None)
    assert not rule.matches(view(box, confidence=0.3), None)
    assert make_rule('near_threshold:threshold=0.55,band=0.05').matches(
        view(box, confidence=0.3), None)
    assert not make_rule('near_threshold:band=0.05,classes=person').matches(
        view(box, confidence=0.5), None)


def test_contains_count_and_class_indices():
    boxes = [[0, 0, 10, 10, 0.9, PERSON], [0, 0, 10, 10, 0.9, CAT]]
    assert make_rule('contains:classes=dog+cat').matches(view(boxes), None)
    assert not make_rule('contains:classes=dog+cat,match=all').matches(view(boxes), None)
    assert make_rule({'kind': 'contains', 'classes': [CAT, 'person'], 'match': 'all'}).matches(
        view(boxes), None)
    empty = make_rule('count:at_least=0,at_most=0')
    assert empty.matches(view([]), None) and not empty.matches(view(boxes), None)
    assert make_rule('count:at_least=2').matches(view(boxes), None)
    assert not make_rule('count:at_least=2,classes=person').matches(view(boxes), None)


def test_random_keeps_about_its_probability_and_repeats_with_a_seed():
    frame = view([])
    kept = []
    for _ in range(2):
        rules = RuleSet(['random:probability=0.1'], seed=7)
        kept.append([bool(rules.evaluate(frame, 's')) for _ in range(2000)])
    assert kept[0] == kept[1]
    assert 100 < sum(kept[0]) < 300


def test_tracking_rules_keep_their_memory_per_source():
    rules = RuleSet(['new_track', 'flicker:max_gap=3'])
    person = [[0, 0, 10, 40, 0.9, PERSON]]
    fired = [rules.evaluate(FrameView.of(result(i, person if ids else [], ids, source_name=src)),
                            src)
             for i, (src, ids) in enumerate([('a', [1]), ('b', [1]), ('a', []), ('b', [1]),
                                             ('a', [1]), ('b', [1])])]
    # a: new, gap, back after 1 missed frame (flicker); b: new, then on every one of its frames
    assert fired == [['new_track'], ['new_track'], [], [], ['flicker'], []]


def test_untracked_counts_runs_of_the_same_box_only():
    rule = make_rule('untracked:frames=3')
    state = rule.new_state()
    truck = [0, 0, 40, 40, 0.2, TRUCK]
    moved = [100, 100, 140, 140, 0.2, TRUCK]
    frames = [[truck], [truck], [moved], [moved], [moved, truck], [truck], [truck, moved]]
    assert [rule.matches(view(f), state) for f in frames] == [
        False, False, False, False, True, False, True]


def test_track_memory_stays_bounded():
    memory = TrackMemory(horizon=50)
    for i in range(1000):
        fresh, gaps = memory.observe(np.array([i + 1, 5000]))
        assert fresh == (2 if i == 0 else 1) and gaps.tolist() == ([] if i == 0 else [0])
    assert len(memory.ids) <= 52


def test_rule_specs_and_their_errors_name_what_is_accepted():
    assert parse_rule_spec(' count : at_least=2 , classes=person+3 ') == {
        'kind': 'count', 'at_least': 2, 'classes': ['person', 3]}
    cases = {
        'nearthreshold': "unknown kind 'nearthreshold'; accepted: random, near_threshold",
        'count:at_least': "'at_least' is not key=value",
        'count:atleast=3': 'unknown key(s) atleast for count; accepted: name, probability',
        'random:probability=2': 'probability=2.0: expected a number in [0, 1]',
        'count:at_least=3,at_most=1': 'at_most (1) must be >= at_least (3)',
        'contains': 'contains needs classes',
        'flicker:max_gap=0': 'max_gap=0: expected an integer in [1, 1000]',
        'random:name=manual': "other than 'manual'",
    }
    for spec, message in cases.items():
        with pytest.raises(ConfigurationError) as error:
            make_rule(spec)
        assert message in str(error.value) and '\n' not in str(error.value), str(error.value)
    with pytest.raises(ConfigurationError, match='used twice'):
        make_rules(['random', 'random:probability=0.5'])
    assert [r.name for r in make_rules(['random', 'random:name=rare,probability=0.01'])] == [
        'random', 'rare']


def test_rules_file_list_or_mapping_and_its_errors(tmp_path):
    listed = tmp_path / 'list.yaml'
    listed.write_text('- new_track\n- kind: count\n  at_least: 4\n  classes: [person]\n')
    mapped = tmp_path / 'map.yaml'
    mapped.write_text('rules:\n  - kind: random\n    probability: 0.5\n')
    assert [r.kind for r in make_rules(CaptureOptions(rules_file=listed).rule_items())] == [
        'new_track', 'count']
    assert CaptureOptions(rules_file=mapped).rule_items() == [
        {'kind': 'random', 'probability': 0.5}]
    bad = tmp_path / 'bad.yaml'
    for text, message in (('rules: [kind: x', 'not valid YAML at line'),
                          ('{}', 'expected a non-empty list of rules'),
                          ('- kind: count\n  at_least: -1\n', 'at_least=-1')):
        bad.write_text(text)
        with pytest.raises(ConfigurationError, match=message):
            CaptureOptions(rules_file=bad)
    with pytest.raises(ConfigurationError, match='no such file'):
        CaptureOptions(rules_file=tmp_path / 'missing.yaml')
