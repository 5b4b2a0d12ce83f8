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
ament_python build of stream_infer (colcon build), also installable with plain pip.

Version, maintainer and licence are read from package.xml, their one place. The bundled model
and demo clip (11 MB) are installed unless STREAM_INFER_BUNDLED_DATA=0 is set for the build
(a release that ships them separately; the node then needs its `model` parameter).
"""

from glob import glob
import os
from xml.etree import ElementTree

from setuptools import find_packages, setup

PACKAGE = 'stream_infer'
MANIFEST = ElementTree.parse(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                          'package.xml')).getroot()
MAINTAINER = MANIFEST.find('maintainer')
BUNDLED = os.environ.get('STREAM_INFER_BUNDLED_DATA', '1') != '0'
BUNDLED_DATA = [
    (f'share/{PACKAGE}/models', glob('models/*.onnx') + glob('models/*.md')),
    (f'share/{PACKAGE}/media', glob('media/*.mp4') + glob('media/*.md')),
] if BUNDLED else []

setup(
    name=PACKAGE,
    version=MANIFEST.findtext('version'),
    packages=find_packages(exclude=['test', 'test.*']),
    data_files=[
        ('share/ament_index/resource_index/packages', [f'resource/{PACKAGE}']),
        (f'share/{PACKAGE}', ['package.xml', 'README.md', 'LICENSE', 'CHANGELOG.rst']),
        (f'share/{PACKAGE}/launch', glob('launch/*.launch.py')),
        (f'share/{PACKAGE}/config', glob('config/*.yaml') + glob('config/*.xml')),
        *BUNDLED_DATA,
    ],
    install_requires=['setuptools'],
    zip_safe=True,
    maintainer=MAINTAINER.text,
    maintainer_email=MAINTAINER.get('email'),
    description='Camera streams to tracked object detections (ONNX Runtime + ByteTrack), '
                'published as vision_msgs; usable without ROS.',
    license=MANIFEST.findtext('license'),
    tests_require=['pytest'],
    entry_points={
        'console_scripts': [
            'stream-infer = stream_infer.cli:main',
            'stream_infer_node = stream_infer.ros.main:main',
        ],
    },
)
