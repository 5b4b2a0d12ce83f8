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

"""3D detections from an aligned depth image: intrinsics, the depth container, the estimator."""

from stream_infer.depth.estimate import (
    attach_3d, Boxes3D, CENTRE_KEY, estimate_boxes_3d, SIZE_KEY)
from stream_infer.depth.image import as_depth_image, DepthImage, RGBDFrame
from stream_infer.depth.intrinsics import as_intrinsics, CameraIntrinsics

__all__ = ['Boxes3D', 'CENTRE_KEY', 'CameraIntrinsics', 'DepthImage', 'RGBDFrame', 'SIZE_KEY',
           'as_depth_image', 'as_intrinsics', 'attach_3d', 'estimate_boxes_3d']
