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
Paths of bundled files (COCO-80 model, demo clip, DDS profile), installed or in the source tree.

    >>> from stream_infer.bundled import bundled_model_path
    >>> bundled_model_path().name
    'centernet_mbv3_coco80.onnx'
"""

from pathlib import Path

PACKAGE_NAME = 'stream_infer'
DEFAULT_MODEL_FILE = 'models/centernet_mbv3_coco80.onnx'
DEFAULT_CLIP_FILE = 'media/vtest_clip.mp4'
FASTDDS_PROFILE_FILE = 'config/fastdds_large_images.xml'


def _candidate_roots() -> list:
    roots = []
    try:  # installed with colcon / ament: share/stream_infer
        from ament_index_python.packages import get_package_share_directory
        roots.append(Path(get_package_share_directory(PACKAGE_NAME)))
    except Exception:  # noqa: BLE001 - ament index absent or package not installed
        pass
    roots.append(Path(__file__).resolve().parent.parent)  # source checkout
    return roots


def bundled_file(relative: str) -> Path:
    """Return the path of a bundled file, looking in the ament share dir then the source tree."""
    for root in _candidate_roots():
        candidate = root / relative
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f'bundled file {relative!r} not found under {[str(r) for r in _candidate_roots()]}')


def bundled_model_path() -> Path:
    """Path of the bundled COCO-80 CenterNet model (works offline)."""
    return bundled_file(DEFAULT_MODEL_FILE)


def bundled_clip_path() -> Path:
    """Path of the bundled pedestrian clip used by the demo and tests."""
    return bundled_file(DEFAULT_CLIP_FILE)


def fastdds_profile_path() -> Path:
    """Path of the Fast DDS profile that carries large raw images between local processes."""
    return bundled_file(FASTDDS_PROFILE_FILE)
