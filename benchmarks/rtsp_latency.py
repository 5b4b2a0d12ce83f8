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
RTSP: glass-to-detection latency and reconnect time, FFmpeg's defaults vs rtsp_low_latency.

A real gst-rtsp-server process (test/helpers/rtsp_server.py, system python3-gi, H.264,
x264 zerolatency, a key frame every --gop s) writes its wall-clock send time into every frame
(8 x 8 pixel code); the engine reads it back from each delivered result on the same machine:
glass-to-detection = send -> result handed to the callbacks (encode, RTP, decode, the engine,
the model). Then the server is killed and restarted --cycles times (down 1.5 s): reconnect =
the restarted server's READY line -> the first result from it. Both with FFmpeg's defaults
(rtsp_low_latency false) and with the low-latency options. The model is a callable that
returns one box unless --model names an ONNX model (its time is reported: the goal is
p99 <= model + two frame intervals + 50 ms).
--no-key-on-play: the server does not send a key frame when a session starts, so a client
waits for the next one (up to --gop).
Run: ./dev.sh run python benchmarks/rtsp_latency.py [--transport udp] [--gop 2]
"""

import argparse
import logging
from pathlib import Path
import sys
import threading
import time

import numpy as np

from stream_infer.options import ReconnectPolicy
from stream_infer.sources.image_decoding import quiet_opencv_logs
from stream_infer.stream import InferenceStream

HELPERS = Path(__file__).resolve().parent.parent / 'test' / 'helpers'
sys.path.insert(0, str(HELPERS.parent))
from helpers.frame_codes import read_code  # noqa: E402, I100 - test helpers
from helpers.rtsp_camera import missing_packages, RtspCamera  # noqa: E402


def one_box(frame: np.ndarray) -> np.ndarray:
    return np.array([[1.0, 1.0, 20.0, 20.0, 0.9, 0.0]])


def measure(camera: RtspCamera, low_latency: bool, transport: str, seconds: float,
            cycles: int, model: object) -> dict:
    """Return latency samples (ms) and reconnect times (s) for one set of options."""
    results = []  # (monotonic at delivery, send time ms, delay ms)
    lock = threading.Lock()

    def on_result(result) -> None:
        now_ms = time.time() * 1000.0
        _, sent_ms = read_code(result.frame.image)
        with lock:
            results.append((time.monotonic(), sent_ms, now_ms - sent_ms))

    policy = ReconnectPolicy(rtsp_transport=transport, rtsp_low_latency=low_latency,
                             initial_delay=0.1, max_delay=0.5)
    camera.start()
    stream = InferenceStream(camera.url(), model=model, track=False, reconnect=policy)
    stream.on_result(on_result)
    reconnects = []
    with stream:
        time.sleep(1.0 + seconds)  # the first second: the (re)connect itself
        with lock:
            steady = [delay for t, _, delay in results if t >= results[0][0] + 1.0]
            garbled = sum(not 0.0 <= delay < 5000.0 for _, _, delay in results)
        model_ms = stream.stats().latency_ms.get('infer')
        for _ in range(cycles):
            camera.kill()
            time.sleep(1.5)
            camera.start()
            back, back_ms = time.monotonic(), time.time() * 1000.0
            deadline = back + 15.0
            first = None
            while first is None and time.monotonic() < deadline:
                time.sleep(0.005)
                with lock:  # the old server's frames were sent >= 1.5 s before it came back;
                    # a frame decoded without its key frame has a garbled code: not counted
                    first = min((t for t, sent, delay in results
                                 if sent >= back_ms - 500.0 and 0.0 <= delay < 5000.0),
                                default=None)
            reconnects.append(float('nan') if first is None else first - back)
            time.sleep(1.0)
    camera.kill()
    return {'latency': np.array(steady), 'reconnect': np.array(reconnects), 'garbled': garbled,
            'model_ms': model_ms.p50 if model_ms else float('nan')}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--transport', default='tcp', choices=('tcp', 'udp'))
    parser.add_argument('--gop', type=float, default=1.0, help='seconds between key frames')
    parser.add_argument('--fps', type=int, default=25)
    parser.add_argument('--seconds', type=float, default=8.0, help='latency sampling time')
    parser.add_argument('--cycles', type=int, default=3, help='server restarts per mode')
    parser.add_argument('--key-on-play', action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument('--model', default=None,
                        help='an ONNX model (default: a callable returning one box)')
    args = parser.parse_args()
    if missing_packages():
        sys.exit(missing_packages())
    quiet_opencv_logs()
    logging.basicConfig(level=logging.ERROR)
    camera = RtspCamera(fps=args.fps, gop=args.gop, key_on_play=args.key_on_play)
    print(f'RTSP H.264 320x240 {args.fps} fps, key frame every {args.gop:g} s, '
          f'{args.transport}, key frame on play: {args.key_on_play}')
    print(f'{"options":<22} {"latency p50":>12} {"p99":>8} {"max":>8} {"frames":>7}   '
          f'reconnect after the server is back (s)')
    for name, low in (('FFmpeg defaults', False), ('rtsp_low_latency', True)):
        got = measure(camera, low, args.transport, args.seconds, args.cycles,
                      args.model or one_box)
        lat, rec = got['latency'], got['reconnect']
        p50, p99, top = (np.percentile(lat, [50, 99, 100]) if lat.size
                         else (float('nan'),) * 3)
        print(f'{name:<22} {p50:>9.0f} ms {p99:>5.0f} ms {top:>5.0f} ms {lat.size:>7}   '
              + ' '.join(f'{r:.2f}' for r in rec) + f'   (model p50 {got["model_ms"]:.2f} ms, '
              f'{got["garbled"]} garbled frames in the first {args.seconds + 1:g} s)')
    interval = 1000.0 / args.fps
    print(f'goal: p99 <= model + two frame intervals ({2 * interval:.0f} ms) + 50 ms')


if __name__ == '__main__':
    main()
