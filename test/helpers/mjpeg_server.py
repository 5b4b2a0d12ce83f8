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
A tiny MJPEG-over-HTTP camera for the network-stream tests (multipart/x-mixed-replace).

OpenCV's bundled FFmpeg reads it through http://, so the engine's network path (open, read,
stall/loss detection, reconnect) runs against a real socket and a real separate process. Basic
authentication is required when --user is given, so tests can put credentials in the URL.
Each frame encodes its sequence number in its pixels (frame_codes.stamp_index).

Prints 'READY <port>' on stdout once listening. Stop it by killing the process.
"""

import argparse
import base64
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import sys
import threading
import time

import cv2
from frame_codes import stamp_index

BOUNDARY = 'frameboundary'


def make_handler(args: argparse.Namespace, counter: list, lock: threading.Lock):
    expected = None
    if args.user:
        token = base64.b64encode(f'{args.user}:{args.password}'.encode()).decode()
        expected = f'Basic {token}'

    class Handler(BaseHTTPRequestHandler):

        def log_message(self, *unused) -> None:  # keep the test output quiet
            pass

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            if self.path.split('?')[0] != '/stream.mjpg':
                self.send_error(404)
                return
            if expected is not None and self.headers.get('Authorization') != expected:
                self.send_response(401)
                self.send_header('WWW-Authenticate', 'Basic realm="camera"')
                self.send_header('Content-Length', '0')
                self.end_headers()
                return
            self.send_response(200)
            self.send_header('Content-Type', f'multipart/x-mixed-replace; boundary={BOUNDARY}')
            self.send_header('Cache-Control', 'no-cache')
            self.end_headers()
            period = 1.0 / args.fps
            next_time = time.monotonic()
            sent = 0
            try:
                while True:
                    if args.stall_after and sent >= args.stall_after:
                        time.sleep(3600)  # keep the socket open, send nothing: a stall
                    with lock:
                        index = counter[0]
                        counter[0] += 1
                    ok, jpeg = cv2.imencode('.jpg', stamp_index(index, args.width, args.height))
                    data = jpeg.tobytes()
                    self.wfile.write(
                        f'--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n'
                        f'Content-Length: {len(data)}\r\n\r\n'.encode() + data + b'\r\n')
                    self.wfile.flush()
                    sent += 1
                    next_time += period
                    time.sleep(max(0.0, next_time - time.monotonic()))
            except (BrokenPipeError, ConnectionResetError):
                return

    return Handler


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--port', type=int, default=0)
    parser.add_argument('--fps', type=float, default=25.0)
    parser.add_argument('--width', type=int, default=64)
    parser.add_argument('--height', type=int, default=64)
    parser.add_argument('--user', default='')
    parser.add_argument('--password', default='')
    parser.add_argument('--start-index', type=int, default=0)
    parser.add_argument('--stall-after', type=int, default=0,
                        help='frames sent on each connection before it stalls (0 = never)')
    args = parser.parse_args(argv)
    counter = [args.start_index]
    server = ThreadingHTTPServer(('127.0.0.1', args.port),
                                 make_handler(args, counter, threading.Lock()))
    server.daemon_threads = True
    print(f'READY {server.server_address[1]}', flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


if __name__ == '__main__':
    sys.exit(main())
