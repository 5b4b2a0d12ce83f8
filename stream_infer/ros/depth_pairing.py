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
Colour images and depth images paired by stamp, before the engine's single-slot buffer.

A colour image pairs with the buffered depth image whose stamp is nearest within the
tolerance (0: equal stamps only). When none is there yet but one may still come (depth is
flowing and none newer has arrived), the image waits, alone: the next depth image pairs it
or, being newer than its stamp plus the tolerance, lets it go on 2D only; so does the next
colour image. An image that cannot pair goes on 2D only and is counted (unpaired), so a
missing or late depth stream never holds detections back. Depth images are buffered a few
deep (a depth stream ahead of the colour one). No ROS here: the node feeds it stamps.

    >>> out = []
    >>> pairer = StampPairer(lambda item, depth: out.append((item, depth)), tolerance=0.01)
    >>> pairer.add_depth(1.000, 'd1'); pairer.add_image(1.004, 'c1'); out
    [('c1', 'd1')]
    >>> pairer.add_image(1.100, 'c2'); pairer.add_depth(1.103, 'd2'); out[-1]
    ('c2', 'd2')
    >>> pairer.add_image(1.200, 'c3'); pairer.add_depth(1.300, 'd4'); out[-1], pairer.unpaired
    (('c3', None), 1)
"""

from collections import deque
import threading
import time
from typing import Any, Callable, Deque, Optional, Tuple

KEEP_DEPTH = 8  # depth images buffered (a depth stream running ahead of the colour one)
DEPTH_ALIVE_S = 1.0  # an image waits for depth only while depth arrived this recently


class StampPairer:
    """
    Pair items (colour frames) with depth images by stamp; emit(item, depth or None).

    emit is called on the caller's thread, in stamp order per stream, under a lock (it must
    not block: the node's emit is InferenceStream.put_frame).
    """

    def __init__(self, emit: Callable[[Any, Any], None], tolerance: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._emit = emit
        self._tolerance = float(tolerance)
        self._clock = clock
        self._lock = threading.Lock()
        self._depth: Deque[Tuple[float, Any]] = deque(maxlen=KEEP_DEPTH)
        self._pending: Optional[Tuple[float, Any]] = None
        self._last_depth = float('-inf')  # clock() when the last depth image came
        self.paired = 0
        self.unpaired = 0

    def add_depth(self, stamp: float, depth: Any) -> None:
        """Buffer a depth image; pair the waiting image with it, or let that one go on 2D."""
        with self._lock:
            self._last_depth = self._clock()
            self._depth.append((float(stamp), depth))
            if self._pending is not None:
                waiting_stamp, item = self._pending
                if abs(stamp - waiting_stamp) <= self._tolerance:
                    self._pending = None
                    self._pair(item, len(self._depth) - 1)
                elif stamp > waiting_stamp + self._tolerance:
                    self._pending = None
                    self._alone(item)

    def add_image(self, stamp: float, item: Any) -> None:
        """Pair an image with buffered depth, or let it wait for depth, or pass it on 2D."""
        stamp = float(stamp)
        with self._lock:
            if self._pending is not None:  # a newer image: the waiting one goes on alone
                self._alone(self._pending[1])
                self._pending = None
            best = self._nearest(stamp)
            if best is not None:
                self._pair(item, best)
            elif self._may_come(stamp):
                self._pending = (stamp, item)
            else:
                self._alone(item)

    def _nearest(self, stamp: float) -> Optional[int]:
        """Return the index of the buffered depth nearest stamp within tolerance, or None."""
        best, best_gap = None, self._tolerance
        for index, (depth_stamp, _) in enumerate(self._depth):
            gap = abs(depth_stamp - stamp)
            if gap <= best_gap:
                best, best_gap = index, gap
        return best

    def _may_come(self, stamp: float) -> bool:
        newest = self._depth[-1][0] if self._depth else float('-inf')
        return (self._clock() - self._last_depth <= DEPTH_ALIVE_S
                and newest <= stamp + self._tolerance)

    def _pair(self, item: Any, index: int) -> None:
        depth = self._depth[index][1]
        for _ in range(index + 1):  # it and older ones can pair no later image
            self._depth.popleft()
        self.paired += 1
        self._emit(item, depth)

    def _alone(self, item: Any) -> None:
        self.unpaired += 1
        self._emit(item, None)


__all__ = ['DEPTH_ALIVE_S', 'KEEP_DEPTH', 'StampPairer']
