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
# Build the project's ROS 2 environment without a ROS distro: a venv with the ROS 2 wheels from
# PyPI installed from the lock (requirements/lock/<distro>.txt: exact versions, hashes checked),
# vision_msgs built from interfaces/vision_msgs with the rosidl wheels, on Jazzy the upstream
# launch/ros2cli sources from ../shared/vendor/ros2-cli-jazzy when that folder exists (tests
# only), and stream_infer built with colcon. Idempotent and cached: a second run only re-runs
# `colcon build` (seconds).
#
# Usage: scripts/setup_env.sh [--distro jazzy|kilted] [--lock FILE] [--venv DIR]
#   default: jazzy (or $STREAM_INFER_DISTRO), requirements/lock/<distro>.txt, .venv-<distro>
# Result: the venv and <venv>/env.sh, which dev.sh sources.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DISTRO=${STREAM_INFER_DISTRO:-jazzy}
LOCK="" VENV=""
while [ $# -gt 0 ]; do
  case "$1" in
    --distro) DISTRO=$2; shift 2 ;;
    --distro=*) DISTRO=${1#--distro=}; shift ;;
    --lock) LOCK=$2; shift 2 ;;
    --venv) VENV=$2; shift 2 ;;
    *) echo "setup_env.sh: unknown argument '$1' (accepted: --distro jazzy|kilted, --lock FILE, --venv DIR)" >&2
       exit 2 ;;
  esac
done
case "$DISTRO" in
  jazzy|kilted) ;;
  *) echo "setup_env.sh: unsupported distro '$DISTRO' (accepted: jazzy, kilted)" >&2; exit 2 ;;
esac

PYTHON=${PYTHON:-python3}
VENV=${VENV:-$ROOT/.venv-$DISTRO}
LOCK=${LOCK:-$ROOT/requirements/lock/$DISTRO.txt}
VENDOR="$ROOT/../shared/vendor/ros2-cli-jazzy"
STAMP="$VENV/.stream_infer-env-stamp"
T0=$(date +%s)
log() { echo "[setup_env:$DISTRO] +$(( $(date +%s) - T0 ))s $*" >&2; }

# Everything that decides the venv's content; change any of it and the venv is rebuilt.
stamp_inputs() {
  cat "$ROOT/scripts/setup_env.sh" "$LOCK"
  find "$ROOT/interfaces/vision_msgs" -type f | LC_ALL=C sort | xargs cat
  with_ros2_cli && sha256sum "$VENDOR"/*.tar.gz
  "$PYTHON" -c 'import sys; print(sys.version)'
}
# The launch tests need ros2 launch / ros2cli: Jazzy sources, installed when they are there.
with_ros2_cli() { [ "$DISTRO" = jazzy ] && [ -d "$VENDOR" ]; }
want_stamp=$(stamp_inputs | sha256sum | cut -d' ' -f1)

# A ROS interface package (rosidl) built from source into the venv prefix, where the wheels'
# loader (ros_wheels_bootstrapper: LD_LIBRARY_PATH += <venv>/lib) finds it.
build_interfaces() {
  local src=$1 bdir
  bdir="$VENV/build/$(basename "$src")"
  mkdir -p "$bdir"
  (
    export AMENT_PREFIX_PATH="$VENV" CMAKE_PREFIX_PATH="$VENV" PATH="$VENV/bin:$PATH"
    cd "$bdir"
    cmake "$src" -DCMAKE_INSTALL_PREFIX="$VENV" -DBUILD_TESTING=OFF \
      -DPython3_EXECUTABLE="$VENV/bin/python" -DCMAKE_BUILD_TYPE=Release > cmake.log 2>&1 \
      || { tail -n 40 cmake.log >&2; exit 1; }
    make -j"$(nproc)" install > make.log 2>&1 || { tail -n 40 make.log >&2; exit 1; }
  )
}

# launch, launch_ros, launch_testing and ros2cli (not on PyPI) from their upstream Jazzy sources,
# as ../shared/vendor/ros2-cli-jazzy/README.md describes: composition_interfaces built like
# vision_msgs, then each Python package without dependencies (theirs come from the lock:
# requirements/ros2-cli.txt) and with the lock's setuptools.
install_ros2_cli() {
  local uv=$1 src="$VENV/build/ros2-cli-src"
  rm -rf "$src" && mkdir -p "$src"
  for a in "$VENDOR"/*.tar.gz; do tar -xzf "$a" -C "$src"; done
  build_interfaces "$src/rcl_interfaces/composition_interfaces"
  local pkgs=("$src"/rosidl_runtime_py "$src"/launch/*/ "$src"/launch_ros/*/ "$src"/ros2cli/*/)
  # One uv call: the folders are built side by side and installed together.
  "$uv" pip install --python "$VENV/bin/python" --no-deps --no-build-isolation \
    "${pkgs[@]}" > "$VENV/ros2-cli.log" 2>&1 || { tail -n 30 "$VENV/ros2-cli.log" >&2; exit 1; }
}

build_venv() {
  log "creating $VENV"
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV"
  touch "$VENV/COLCON_IGNORE"  # colcon must not crawl into the venv
  local uv
  uv=$(bash "$ROOT/scripts/tools_env.sh")
  log "install from $LOCK (log: $VENV/pip.log)"
  # Everything from the lock, hashes checked. Packages published only as sources build with the
  # lock's own setuptools and wheel (installed first), not with whatever is newest.
  { "$uv" pip install --python "$VENV/bin/python" --require-hashes --no-deps \
      -r <(python3 "$ROOT/scripts/lock_subset.py" "$LOCK" setuptools wheel packaging) &&
    "$uv" pip install --python "$VENV/bin/python" --require-hashes --no-build-isolation \
      -r "$LOCK"; } > "$VENV/pip.log" 2>&1 || { tail -n 30 "$VENV/pip.log" >&2; exit 1; }

  # The wheels' CMake exports hard-code the wheel builder's Python (/opt/python/cp311-cp311/...):
  # point them at this venv's interpreter headers and numpy, inside the venv only.
  local py_inc np_inc
  py_inc=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
  np_inc=$("$VENV/bin/python" -c 'import numpy; print(numpy.get_include())')
  grep -rlZ --include='*.cmake' '/opt/python/cp311-cp311' "$VENV/share" "$VENV/lib" 2>/dev/null \
    | xargs -0 -r sed -i \
      -e "s#/opt/python/cp311-cp311/include/python3\.[0-9]*#$py_inc#g" \
      -e "s#/opt/python/cp311-cp311/lib/python3\.[0-9]*/site-packages/numpy/_\?core/include#$np_inc#g"
  if grep -rq --include='*.cmake' '/opt/python/cp311-cp311' "$VENV/share" "$VENV/lib"; then
    log "unrewritten /opt/python paths remain in the wheels' CMake files:"
    grep -rl --include='*.cmake' '/opt/python/cp311-cp311' "$VENV/share" "$VENV/lib" >&2
    exit 1
  fi

  # vision_msgs is not on PyPI: build our copy of its interface definitions.
  # The two builds overlap: rosidl's CMake configure steps are single-threaded.
  log "building vision_msgs with rosidl"
  build_interfaces "$ROOT/interfaces/vision_msgs" &
  local vision=$!
  if with_ros2_cli; then
    log "installing ros2 launch / ros2cli (Jazzy sources from $VENDOR)"
    install_ros2_cli "$uv"
  fi
  wait "$vision" || { log "vision_msgs did not build"; exit 1; }
  echo "$want_stamp" > "$STAMP"
}

write_env_file() {
  # The venv is an ament prefix (vision_msgs lives there); colcon expects a local_setup file in it.
  echo '# The ROS 2 wheels need no setup: sourcing env.sh is enough.' > "$VENV/local_setup.sh"
  cat > "$VENV/env.sh" <<EOF
# Generated by scripts/setup_env.sh: the stream_infer $DISTRO environment.
export VIRTUAL_ENV="$VENV"
export PATH="$VENV/bin:\$PATH"
export AMENT_PREFIX_PATH="$VENV\${AMENT_PREFIX_PATH:+:\$AMENT_PREFIX_PATH}"
export CMAKE_PREFIX_PATH="$VENV\${CMAKE_PREFIX_PATH:+:\$CMAKE_PREFIX_PATH}"
export ROS_DISTRO="$DISTRO"
export RMW_IMPLEMENTATION="\${RMW_IMPLEMENTATION:-rmw_fastrtps_cpp}"
# DDS stays on this machine; pick your own domain id to keep parallel runs apart.
export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST
export ROS_DOMAIN_ID="\${ROS_DOMAIN_ID:-\$(( (\$\$ % 100) + 1 ))}"
# The package's executables (what \`ros2 run stream_infer ...\` finds): stream-infer, stream_infer_node.
export PATH="$VENV/ws/install/stream_infer/lib/stream_infer:\$PATH"
if [ -f "$VENV/ws/install/local_setup.bash" ]; then
  case \$- in *u*) set +u; . "$VENV/ws/install/local_setup.bash"; set -u ;;
    *) . "$VENV/ws/install/local_setup.bash" ;; esac
fi
EOF
}

start=$(date +%s)
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want_stamp" ] && [ -x "$VENV/bin/python" ]; then
  log "environment up to date ($VENV)"
else
  build_venv
fi
write_env_file

# colcon build of the package itself, exactly as in a ROS 2 workspace (symlinked so edits show).
log "colcon build stream_infer"
(
  . "$VENV/env.sh"
  cd "$ROOT"
  mkdir -p "$VENV/ws"
  colcon --log-base "$VENV/ws/log" build --base-paths "$ROOT" --build-base "$VENV/ws/build" \
    --install-base "$VENV/ws/install" --symlink-install --event-handlers console_direct- \
    > "$VENV/ws/colcon-build.log" 2>&1 || { tail -n 40 "$VENV/ws/colcon-build.log" >&2; exit 1; }
)
log "ready in $(( $(date +%s) - start )) s: source $VENV/env.sh"
