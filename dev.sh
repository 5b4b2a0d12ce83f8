#!/usr/bin/env bash
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
#
# One entry point for people without a ROS install. Each command first makes sure the
# environment exists (scripts/setup_env.sh: built once, then cached).
#   ./dev.sh demo         the node on the bundled clip: detections printed, out/demo.mp4 written
#   ./dev.sh test         the whole test suite (what CI runs): everything in the ROS venv, then
#                         the ROS-free core and the ROS layer's conversions and node again under
#                         numpy 1.26 (what apt Jazzy users have)
#   ./dev.sh setup        only build/refresh the environment
#   ./dev.sh run CMD...   run any command inside the environment (e.g. ./dev.sh run stream-infer -h)
# Kilted instead of Jazzy: STREAM_INFER_DISTRO=kilted ./dev.sh test
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DISTRO=${STREAM_INFER_DISTRO:-jazzy}
cmd=${1:-help}
[ $# -gt 0 ] && shift

in_env() {
  bash "$ROOT/scripts/setup_env.sh" --distro "$DISTRO"
  # shellcheck disable=SC1090
  . "$ROOT/.venv-$DISTRO/env.sh"
  cd "$ROOT"
  "$@"
}

# The ROS-free core under numpy 1.x: apt's Jazzy ships numpy 1.26 (and a cv_bridge built for it).
numpy1_core_tests() {
  local venv="$ROOT/.venv-numpy1" want
  want=$(cat "$ROOT/requirements/python.txt" "$ROOT/requirements/numpy1.txt" | sha256sum)
  if [ ! -f "$venv/.stamp" ] || [ "$(cat "$venv/.stamp")" != "$want" ]; then
    echo "[dev.sh] building $venv (numpy 1.26 + the core's requirements)" >&2
    rm -rf "$venv" && "${PYTHON:-python3}" -m venv "$venv"
    "$venv/bin/python" -m pip install --disable-pip-version-check -q \
      -r "$ROOT/requirements/python.txt" -r "$ROOT/requirements/numpy1.txt" \
      > "$venv/pip.log" 2>&1 || { grep -v "^WARNING: Location" "$venv/pip.log" | tail -n 30 >&2; exit 1; }
    echo "$want" > "$venv/.stamp"
  fi
  cd "$ROOT"
  "$venv/bin/python" -c 'import numpy; assert numpy.__version__.startswith("1."), numpy.__version__'
  "$venv/bin/python" -m pytest -p no:cacheprovider -m 'not ros' --ignore-glob='test/test_ros_*' \
    --ignore=test/test_flake8.py --ignore=test/test_pep257.py "$@"
}

# The ROS layer under numpy 1.x: numpy 1.26 laid over the ROS venv (PYTHONPATH), as on apt Jazzy.
numpy1_ros_tests() {
  local overlay="$ROOT/.venv-$DISTRO/numpy1-overlay" want
  want=$(grep -v '^#' "$ROOT/requirements/numpy1.txt" | grep '^numpy')
  if [ ! -f "$overlay/.stamp" ] || [ "$(cat "$overlay/.stamp")" != "$want" ]; then
    rm -rf "$overlay"
    python -m pip install --disable-pip-version-check -q --no-deps --target "$overlay" "$want" \
      > /dev/null 2>&1 || { echo "[dev.sh] could not install $want into $overlay" >&2; exit 1; }
    echo "$want" > "$overlay/.stamp"
  fi
  PYTHONPATH="$overlay:${PYTHONPATH:-}" python -c \
    'import numpy; assert numpy.__version__.startswith("1."), numpy.__version__'
  PYTHONPATH="$overlay:${PYTHONPATH:-}" python -m pytest -p no:cacheprovider \
    test/test_ros_conversions.py test/test_ros_node.py "$@"
}

case "$cmd" in
  setup) in_env true ;;
  demo) in_env python "$ROOT/scripts/demo.py" "$@" ;;
  test)
    in_env python -m pytest "$@"
    if [ $# -eq 0 ]; then
      echo "[dev.sh] the ROS-free core again, under numpy 1.26" >&2
      numpy1_core_tests -q
      echo "[dev.sh] the ROS layer's conversions and node again, under numpy 1.26" >&2
      numpy1_ros_tests -q  # still inside the environment in_env set up above
    fi ;;
  test-numpy1) numpy1_core_tests "$@" ;;
  run) in_env "$@" ;;
  *) sed -n '/^# One entry point/,/^# Kilted/p' "$0"; [ "$cmd" = help ] || exit 2 ;;
esac
