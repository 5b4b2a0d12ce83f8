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
# The locks: every environment is installed from requirements/lock/<env>.txt (exact versions with
# hashes), compiled by `uv pip compile` from the human-edited ranges in requirements/*.txt.
#
#   scripts/lock.sh                 recompile after a range changed: pins that still satisfy the
#                                   ranges are kept (nothing moves that need not)
#   scripts/lock.sh --upgrade       take the newest releases the ranges allow (refresh)
#   scripts/lock.sh --out DIR       write the locks to DIR instead (./dev.sh test --latest uses it
#                                   with --upgrade to see what a user installing today gets)
#
# The environments and their ranges are listed once, in lock_inputs below.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT="$ROOT/requirements/lock"
upgrade=()
while [ $# -gt 0 ]; do
  case "$1" in
    --upgrade) upgrade=(--upgrade); shift ;;
    --out) OUT=$2; shift 2 ;;
    *) echo "lock.sh: unknown argument '$1' (accepted: --upgrade, --out DIR)" >&2; exit 2 ;;
  esac
done

# <lock name> <range files...>: one line per environment.
lock_inputs() {
  cat <<'EOF'
tools lock-tools.txt
jazzy python.txt dev.txt ros-jazzy.txt ros2-cli.txt
kilted python.txt dev.txt ros-kilted.txt
numpy1-core python.txt numpy1.txt test.txt
numpy1-overlay numpy1-overlay.txt
EOF
}

# The machine the locks are for: CPython 3.11 on x86_64 Linux (this project's machines and CI).
PY_VERSION=3.11
PLATFORM=x86_64-manylinux_2_28

uv=$(bash "$ROOT/scripts/tools_env.sh")
mkdir -p "$OUT"
cd "$ROOT/requirements"
while read -r name inputs; do
  # shellcheck disable=SC2086
  "$uv" pip compile --quiet --python-version "$PY_VERSION" --python-platform "$PLATFORM" \
    --generate-hashes --custom-compile-command "./dev.sh lock" "${upgrade[@]}" \
    $inputs -o "$OUT/$name.txt"
  echo "[lock] $OUT/$name.txt: $(grep -c '^[A-Za-z0-9].*==' "$OUT/$name.txt") pins from $inputs" >&2
done < <(lock_inputs)
