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
The `ros2 ...` commands of the README and doc pages, read from the pages and run as printed.

test_launch_files.py runs check_doc_commands against the node it launched (video.launch.py at
/stream_infer, capture on); here, without ROS tools, the commands are only read, so a page that
loses its commands fails too.
"""

from pathlib import Path
import re
from typing import Dict, List

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / 'README.md', *sorted((ROOT / 'doc').glob('*.md'))]
NODE = '/stream_infer'


def doc_commands() -> Dict[str, List[str]]:
    """Return {page: its runnable `ros2` command lines, in order} (comments stripped)."""
    found = {}
    for page in PAGES:
        commands = []
        for block in re.findall(r'```bash\n(.*?)```', page.read_text(), flags=re.S):
            for line in block.splitlines():
                line = re.sub(r'\s+#\s.*$', '', line).strip()
                # launch and run lines start processes (the launch tests' job; their sources
                # may be a user's camera address); placeholders cannot run as printed
                if line.startswith('ros2 ') and not line.startswith(('ros2 launch', 'ros2 run')) \
                        and '<' not in line and '...' not in line:
                    commands.append(line)
        if commands:
            found[str(page.relative_to(ROOT))] = commands
    return found


def expected_output(command: str) -> str:
    """Return what the output of a successful command contains."""
    verbs = {'ros2 param set ': 'Set parameter successful', 'ros2 param get ': 'value is:',
             'ros2 param describe ': 'Parameter name:', 'ros2 param dump ': '',
             'ros2 param load ': 'Set parameter',
             'ros2 lifecycle set ': 'Transitioning successful',
             'ros2 lifecycle get ': 'active', 'ros2 service call ': 'success=True',
             'ros2 topic echo --once /detections': 'detections:',
             'ros2 topic echo ': 'data: '}
    return next(text for prefix, text in verbs.items() if command.startswith(prefix))


def check_doc_commands(directory) -> None:
    """Run every page's commands in order against the node at /stream_infer (active)."""
    from launch_tools import shell
    for page, commands in doc_commands().items():
        for command in commands:
            done = shell(command, cwd=directory, timeout=90)
            output = done.stdout + done.stderr
            assert done.returncode == 0, (page, command, output)
            assert expected_output(command) in output, (page, command, output)
            failures = [line for line in output.splitlines() if 'failed' in line.lower()
                        and 'start_type_description_service' not in line]  # read-only, rclpy's
            assert not failures, (page, command, output)
        if [c for c in commands if 'lifecycle set' in c][-1:] == [
                f'ros2 lifecycle set {NODE} deactivate']:  # the page left it inactive
            done = shell(f'ros2 lifecycle set {NODE} activate', cwd=directory)
            assert 'Transitioning successful' in done.stdout, done.stdout + done.stderr
    assert list(Path(directory).glob('*.yaml')), 'ros2 param dump wrote no file'


def test_pages_print_the_commands_the_launch_tests_run():
    commands = [c for page in doc_commands().values() for c in page]
    verbs = {' '.join(c.split()[:3]) for c in commands}
    assert {'ros2 param set', 'ros2 param get', 'ros2 param describe', 'ros2 param dump',
            'ros2 param load', 'ros2 lifecycle set', 'ros2 lifecycle get', 'ros2 service call',
            'ros2 topic echo'} <= verbs, verbs
    assert f'ros2 service call {NODE}/capture std_srvs/srv/Trigger' in commands
    assert all(expected_output(c) is not None for c in commands)
