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


"""Files named by options are read bounded: regular files only, size and line caps, no blocking."""

import os
import threading

import pytest

from stream_infer.capture.config import (
    CaptureOptions, MAX_RULES_FILE_BYTES, MAX_RULES_FILE_LINES)
from stream_infer.capture.rule_set import MAX_RULES
from stream_infer.detection.class_names import load_labels
from stream_infer.errors import ConfigurationError, ModelError, SourceError
from stream_infer.option_files import read_option_file
from stream_infer.sources.credentials import read_credentials


def capture_error(tmp_path, rules_file, file_level=True) -> str:
    with pytest.raises(ConfigurationError) as error:
        CaptureOptions(directory=str(tmp_path / 'dataset'), rules_file=str(rules_file))
    text = str(error.value)
    assert '\n' not in text and f"capture rules_file='{rules_file}': " in text, text
    if file_level:  # the file itself is refused: say what file is accepted
        assert 'expected a YAML file with a list of rules' in text, text
    return text


@pytest.mark.parametrize('device', ['/dev/zero', '/dev/urandom'])
def test_a_device_as_rules_file_is_refused_without_reading_it(tmp_path, device):
    # the old reader read /dev/zero until MemoryError (907 MiB after 2 s)
    assert 'a character device, not a regular file' in capture_error(tmp_path, device)


def test_a_fifo_as_rules_file_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / 'rules.fifo'
    os.mkfifo(fifo)
    outcome = []
    # open() of a FIFO without a writer blocks forever: run it aside so a regression fails
    # the test instead of hanging it
    worker = threading.Thread(target=lambda: outcome.append(capture_error(tmp_path, fifo)),
                              daemon=True)
    worker.start()
    worker.join(60)
    if worker.is_alive():
        with open(fifo, 'w'):  # a writer releases the blocked open()
            pass
        pytest.fail('reading a FIFO rules file blocked')
    assert 'a FIFO (named pipe), not a regular file' in outcome[0]


def test_a_directory_missing_file_and_non_text_are_refused(tmp_path):
    assert 'a directory, not a regular file' in capture_error(tmp_path, tmp_path)
    assert 'no such file' in capture_error(tmp_path, tmp_path / 'missing.yaml')
    binary = tmp_path / 'rules.yaml'
    binary.write_bytes(b'- new_track\n- \xff\xfe\n')
    assert 'not UTF-8 text' in capture_error(tmp_path, binary)


def test_a_large_rules_file_is_refused_by_size_before_parsing(tmp_path):
    # what the fault battery used: 2.2 MB, 200,000 rules (the old check took ~43 s)
    big = tmp_path / 'big.yaml'
    big.write_text(''.join(f'- random:probability=0.5,name=r{i}\n' for i in range(200_000)))
    text = capture_error(tmp_path, big)
    assert f'{big.stat().st_size} bytes, larger than the 64 KiB accepted' in text, text
    assert big.stat().st_size > MAX_RULES_FILE_BYTES


def test_many_lines_and_many_rules_are_refused_by_count(tmp_path):
    lines = tmp_path / 'lines.yaml'
    lines.write_text('- new_track\n' + '#\n' * MAX_RULES_FILE_LINES)
    assert lines.stat().st_size <= MAX_RULES_FILE_BYTES
    assert f'more than the {MAX_RULES_FILE_LINES} accepted' in capture_error(tmp_path, lines)
    rules = tmp_path / 'rules.yaml'
    rules.write_text(''.join(f'- random:name=r{i}\n' for i in range(MAX_RULES + 1)))
    assert f'more than {MAX_RULES} rules' in capture_error(tmp_path, rules, file_level=False)
    with pytest.raises(ConfigurationError, match=f'more than {MAX_RULES} rules'):
        CaptureOptions(rules=['new_track'] * 100_000)  # the ROS string array: same cap


def test_a_rules_file_within_the_caps_still_works(tmp_path):
    rules = tmp_path / 'rules.yaml'
    rules.write_text(''.join(f'- random:name=r{i}\n' for i in range(MAX_RULES)))
    options = CaptureOptions(directory=str(tmp_path / 'd'), rules_file=str(rules))
    assert len(options.rule_items()) == MAX_RULES
    names = ''.join(f'- random:name=r{i % 3}\n' for i in range(MAX_RULES))
    rules.write_text(names)  # duplicates among the most rules allowed: named, not hung on
    assert 'used twice' in capture_error(tmp_path, rules, file_level=False)


@pytest.mark.parametrize('device', ['/dev/zero', '/dev/urandom'])
def test_labels_and_credentials_files_share_the_bounded_reader(tmp_path, device):
    with pytest.raises(ModelError, match=f"labels='{device}': a character device"):
        load_labels(device)
    with pytest.raises(SourceError, match=f"credentials file='{device}': a character device"):
        read_credentials(device)
    big = tmp_path / 'names.txt'
    big.write_text('x\n' * (1 << 20))
    with pytest.raises(ModelError, match='larger than the 1 MiB accepted'):
        load_labels(big)


def test_read_option_file_reads_a_regular_file_and_a_link_to_one(tmp_path):
    target = tmp_path / 'names.txt'
    target.write_text('person\ncar\n')
    link = tmp_path / 'link.txt'
    link.symlink_to(target)
    assert read_option_file(link, 'labels', 'names') == 'person\ncar\n'
    with pytest.raises(ConfigurationError, match=r'larger than the 4 bytes accepted'):
        read_option_file(target, 'labels', 'names', max_bytes=4)
