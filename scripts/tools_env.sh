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
# The project's own installer: uv, installed from its lock (requirements/lock/tools.txt, hashes
# checked by pip) into .venv-tools. Prints the path of the uv executable. Cached: rebuilt only
# when the lock changes.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV="$ROOT/.venv-tools"
LOCK="$ROOT/requirements/lock/tools.txt"
# Before the first lock exists (bootstrapping ./dev.sh lock), the range is all there is.
[ -f "$LOCK" ] && src=(--require-hashes --no-deps -r "$LOCK") || src=(-r "$ROOT/requirements/lock-tools.txt")
want=$( { cat "$LOCK" 2>/dev/null || true; } | sha256sum | cut -d" " -f1)
if [ ! -x "$VENV/bin/uv" ] || [ "$(cat "$VENV/.stamp" 2>/dev/null)" != "$want" ]; then
  echo "[tools_env] installing uv into $VENV" >&2
  rm -rf "$VENV"
  "${PYTHON:-python3}" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --disable-pip-version-check -q "${src[@]}" \
    > "$VENV/pip.log" 2>&1 || { cat "$VENV/pip.log" >&2; exit 1; }
  echo "$want" > "$VENV/.stamp"
fi
echo "$VENV/bin/uv"
