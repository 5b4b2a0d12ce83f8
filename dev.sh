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
# environment exists (scripts/setup_env.sh: installed from the lock, built once, then cached).
#   ./dev.sh demo         the node on the bundled clip: detections printed, out/demo.mp4 written
#   ./dev.sh test         the whole test suite (what CI runs): everything in the ROS venv, then
#                         the ROS-free core and the ROS layer's conversions and node again on apt
#                         Jazzy's numpy stack (numpy 1.26.4, OpenCV 4.6, SciPy 1.11.4)
#   ./dev.sh test --latest  the same in throw-away venvs resolved from the ranges today (what a
#                         user installing now gets), after printing what changed against the lock
#   ./dev.sh lock [--upgrade]  recompile requirements/lock/*.txt from requirements/*.txt
#                         (--upgrade: the newest releases the ranges allow)
#   ./dev.sh setup        only build/refresh the environment
#   ./dev.sh run CMD...   run any command inside the environment (e.g. ./dev.sh run stream-infer -h)
# Kilted instead of Jazzy: STREAM_INFER_DISTRO=kilted ./dev.sh test
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DISTRO=${STREAM_INFER_DISTRO:-jazzy}
LOCKS="$ROOT/requirements/lock"   # --latest points this at freshly resolved locks
SUFFIX=""                         # and the venvs at .venv-latest-*
cmd=${1:-help}
[ $# -gt 0 ] && shift

venv() { echo "$ROOT/.venv-$SUFFIX$1"; }

in_env() {
  bash "$ROOT/scripts/setup_env.sh" --distro "$DISTRO" --lock "$LOCKS/$DISTRO.txt" \
    --venv "$(venv "$DISTRO")"
  # shellcheck disable=SC1090
  . "$(venv "$DISTRO")/env.sh"
  cd "$ROOT"
  "$@"
}

# Install a lock into a fresh target when the lock changed (the stamp is the lock's hash).
#   from_lock LOCK DIR venv     a venv at DIR
#   from_lock LOCK DIR target   a plain folder for PYTHONPATH (no dependencies of its own)
from_lock() {
  local lock=$1 dir=$2 kind=$3 want uv
  want=$(sha256sum "$lock" | cut -d' ' -f1)
  [ -f "$dir/.stamp" ] && [ "$(cat "$dir/.stamp")" = "$want" ] && return 0
  echo "[dev.sh] installing $lock into $dir" >&2
  uv=$(bash "$ROOT/scripts/tools_env.sh")
  rm -rf "$dir"
  if [ "$kind" = venv ]; then
    "${PYTHON:-python3}" -m venv "$dir"
    "$uv" pip install --python "$dir/bin/python" --require-hashes -r "$lock" > "$dir/pip.log" 2>&1
  else
    mkdir -p "$dir"
    "$uv" pip install --python "${PYTHON:-python3}" --require-hashes --no-deps --target "$dir" \
      -r "$lock" > "$dir.log" 2>&1
  fi || { tail -n 30 "$dir/pip.log" "$dir.log" 2>/dev/null >&2; exit 1; }
  echo "$want" > "$dir/.stamp"
}

# The ROS-free core on apt Jazzy's numpy stack (numpy 1.26.4, OpenCV 4.6, SciPy 1.11.4).
numpy1_core_tests() {
  local venv
  venv=$(venv numpy1)
  from_lock "$LOCKS/numpy1-core.txt" "$venv" venv
  cd "$ROOT"
  "$venv/bin/python" scripts/import_check.py
  "$venv/bin/python" -c 'import numpy; assert numpy.__version__.startswith("1."), numpy.__version__'
  "$venv/bin/python" -m pytest -p no:cacheprovider -m 'not ros' --ignore-glob='test/test_ros_*' \
    --ignore=test/test_flake8.py --ignore=test/test_pep257.py "$@"
}

# The ROS layer on the same stack: the numpy1 overlay laid over the ROS venv (PYTHONPATH).
numpy1_ros_tests() {
  local overlay
  overlay="$(venv "$DISTRO")/numpy1-overlay"
  from_lock "$LOCKS/numpy1-overlay.txt" "$overlay" target
  export PYTHONPATH="$overlay:${PYTHONPATH:-}"
  python scripts/import_check.py --ros
  python -c 'import numpy; assert numpy.__version__.startswith("1."), numpy.__version__'
  python -m pytest -p no:cacheprovider test/test_ros_conversions.py test/test_ros_node.py "$@"
}

# Every leg of the suite: the ROS venv (numpy 2), then the two numpy-1.26 legs. A failing leg
# ends the run, except under --latest (KEEP_GOING), which runs them all and lists the failures.
all_tests() {
  local failed=()
  leg() { "$@" || { [ -n "${KEEP_GOING:-}" ] || exit 1; failed+=("$*"); }; }
  in_env true
  leg python scripts/import_check.py --ros
  leg python -m pytest "$@"
  if [ $# -eq 0 ]; then
    echo "[dev.sh] the ROS-free core again, on apt Jazzy's numpy stack" >&2
    leg numpy1_core_tests -q
    echo "[dev.sh] the ROS layer's conversions and node again, on apt Jazzy's numpy stack" >&2
    leg numpy1_ros_tests -q  # still inside the environment in_env set up above
  fi
  if [ ${#failed[@]} -gt 0 ]; then
    printf '[dev.sh] FAILED: %s\n' "${failed[@]}" >&2
    exit 1
  fi
}

# What a user installing today gets: resolve the ranges afresh, say what moved, test that.
latest_tests() {
  local fresh="$ROOT/.venv-latest-locks"
  bash "$ROOT/scripts/lock.sh" --upgrade --out "$fresh"
  python3 "$ROOT/scripts/lock_diff.py" "$LOCKS" "$fresh"
  LOCKS=$fresh SUFFIX=latest- KEEP_GOING=1
  all_tests "$@"
}

case "$cmd" in
  setup) in_env true ;;
  demo) in_env python "$ROOT/scripts/demo.py" "$@" ;;
  test)
    if [ "${1:-}" = --latest ]; then shift; latest_tests "$@"; else all_tests "$@"; fi ;;
  test-numpy1) numpy1_core_tests "$@" ;;
  lock) bash "$ROOT/scripts/lock.sh" "$@" ;;
  run) in_env "$@" ;;
  *) sed -n '/^# One entry point/,/^# Kilted/p' "$0"; [ "$cmd" = help ] || exit 2 ;;
esac
