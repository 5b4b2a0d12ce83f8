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
#   ./dev.sh test         the whole test suite (what CI runs)
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

case "$cmd" in
  setup) in_env true ;;
  demo) in_env python "$ROOT/scripts/demo.py" "$@" ;;
  test) in_env python -m pytest "$@" ;;
  run) in_env "$@" ;;
  *) sed -n '16,23p' "$0"; [ "$cmd" = help ] || exit 2 ;;
esac
