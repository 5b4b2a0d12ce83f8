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
# Debian packages the tests use beyond the venv: GStreamer's RTSP server on the system Python
# (test/helpers/rtsp_server.py serves H.264 over RTSP to the RTSP tests). Installed when missing
# and when we are root (CI); elsewhere the RTSP tests skip, naming these packages.
set -euo pipefail
PACKAGES=(python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base
  gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && { echo "[test-packages] present: ${PACKAGES[*]}" >&2; exit 0; }
if [ "$(id -u)" != 0 ] || ! command -v apt-get > /dev/null; then
  echo "[test-packages] missing ${missing[*]} (not root: the RTSP tests will skip)" >&2; exit 0
fi
echo "[test-packages] apt-get install ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
{ apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"; } \
  > /tmp/stream_infer-test-packages.log 2>&1 \
  || echo "[test-packages] could not install ${missing[*]} (/tmp/stream_infer-test-packages.log):" \
    "the RTSP tests will skip" >&2
