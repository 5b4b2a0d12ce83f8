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
The optional COCO JSON of a batch, derived from its manifest.

The manifest (JSON Lines, one record per image) is the batch's source of truth; the COCO file
is rebuilt from it when a batch is opened again and rewritten whole (atomically) at most every
SAVE_EVERY_S seconds and when capture closes, so a crash costs at most those seconds of COCO
entries, which the next run restores from the manifest. Category ids are class ids + 1 (COCO
starts at 1); supervision.DetectionDataset.from_coco maps them back to class ids.

    >>> coco = CocoAnnotations(['person', 'car'])
    >>> coco.add({'image': 'images/a.jpg', 'width': 100, 'height': 50, 'saved_width': 50,
    ...           'saved_height': 25, 'detections': [{'class_id': 1, 'confidence': 0.9,
    ...                                               'xyxy': [10, 10, 30, 20]}]})
    >>> coco.document()['annotations'][0]['bbox']
    [5.0, 5.0, 10.0, 5.0]
"""

import json
import os
from pathlib import Path
from typing import Any, Dict, Sequence

from stream_infer.capture.atomic import write_atomic

FILE_NAME = 'annotations.coco.json'
SAVE_EVERY_S = 10.0


class CocoAnnotations:
    """A batch's COCO document, grown one manifest record at a time."""

    def __init__(self, names: Sequence[str]) -> None:
        self.names = list(names)
        self.images: list = []
        self.annotations: list = []
        self.dirty = False
        self.saved_at = float('-inf')

    def add(self, record: Dict[str, Any]) -> None:
        """Add the image and boxes of one manifest record (boxes scaled to the saved image)."""
        image_id = len(self.images) + 1
        width, height = record['saved_width'], record['saved_height']
        sx, sy = width / record['width'], height / record['height']
        self.images.append({'id': image_id, 'file_name': os.path.basename(record['image']),
                            'width': width, 'height': height})
        for box in record['detections']:
            x1, y1, x2, y2 = box['xyxy']
            x1, x2 = (min(max(v * sx, 0.0), width) for v in (x1, x2))
            y1, y2 = (min(max(v * sy, 0.0), height) for v in (y1, y2))
            self.annotations.append({
                'id': len(self.annotations) + 1, 'image_id': image_id,
                'category_id': int(box['class_id']) + 1, 'bbox': [x1, y1, x2 - x1, y2 - y1],
                'area': (x2 - x1) * (y2 - y1), 'iscrowd': 0, 'score': box['confidence']})
        self.dirty = True

    def document(self) -> Dict[str, Any]:
        return {'info': {'description': 'hard examples captured by stream_infer'},
                'images': self.images, 'annotations': self.annotations,
                'categories': [{'id': i + 1, 'name': name, 'supercategory': 'none'}
                               for i, name in enumerate(self.names)]}

    def save(self, path: Path, now: float, force: bool = False, fsync: bool = False) -> bool:
        """Rewrite the file when something changed and SAVE_EVERY_S passed (or force)."""
        if not self.dirty or (not force and now - self.saved_at < SAVE_EVERY_S):
            return False
        write_atomic(path, json.dumps(self.document()).encode(), fsync=fsync)
        self.dirty = False
        self.saved_at = now
        return True


__all__ = ['CocoAnnotations', 'FILE_NAME', 'SAVE_EVERY_S']
