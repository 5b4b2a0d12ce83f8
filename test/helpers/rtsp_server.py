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
A real RTSP camera for the tests and benchmarks: GStreamer's gst-rtsp-server, H.264.

Runs with the SYSTEM python (/usr/bin/python3, which has python3-gi), never the venv; needs
the Debian packages python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base
gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly (x264enc). Pure Python besides GStreamer
(no numpy, no OpenCV), so it runs wherever those packages are.

Each frame is gray with an 8 x 8 grid of black/white cells: bits 0-15 hold the frame's
index, bits 16-63 the wall-clock time in milliseconds at which it was handed to the encoder
(helpers.frame_codes.read_code reads them back), so a client measures glass-to-result
latency on the same machine. Each session gets its own encoder, which starts with a key frame
and then one every --gop seconds; --key-on-play (the default) sends more as the session
starts playing, as many cameras do for a new client (the first went out before the client's
PLAY), --no-key-on-play makes a client wait for the next one (up to --gop). threads=1 for
x264: with several slices per frame FFmpeg's RTSP client decoded frames wrongly after each
key frame. Transports (--protocols tcp, udp or both) and authentication (--auth basic or
digest with --user/--password) are those of gst-rtsp-server.

stdin commands (one per line): 'stall' stops feeding frames while every session stays open
(RTCP still flows), 'resume' feeds again. Prints 'READY <port>' once listening; stop it by
killing the process.
"""

import argparse
import sys
import threading
import time

import gi

gi.require_version('Gst', '1.0')
gi.require_version('GstRtspServer', '1.0')
gi.require_version('GstRtsp', '1.0')
gi.require_version('GstVideo', '1.0')
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer, GstVideo  # noqa: E402, I100

COLS = ROWS = 8  # 64 bits: index (16) + send time in ms (48)


def coded_frame(index: int, millis: int, width: int, height: int) -> bytes:
    """Return a GRAY8 frame whose 8 x 8 cells carry index and millis (white = 1)."""
    value = (index & 0xFFFF) | ((millis & ((1 << 48) - 1)) << 16)
    rows = []
    for row in range(ROWS):
        line = bytearray()
        for col in range(COLS):
            x0, x1 = col * width // COLS, (col + 1) * width // COLS
            bit = (value >> (row * COLS + col)) & 1
            line += bytes([230 if bit else 25]) * (x1 - x0)
        y0, y1 = row * height // ROWS, (row + 1) * height // ROWS
        rows.append(bytes(line) * (y1 - y0))
    return b''.join(rows)


class Feeder:
    """Pushes coded frames at --fps into every session's appsrc until told to stall."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.appsrcs = set()
        self.running = threading.Event()
        self.running.set()
        self.lock = threading.Lock()
        threading.Thread(target=self._loop, daemon=True).start()

    def attach(self, appsrc) -> None:
        with self.lock:
            self.appsrcs.add(appsrc)

    def detach(self, appsrc) -> None:
        with self.lock:
            self.appsrcs.discard(appsrc)

    def _loop(self) -> None:
        args = self.args
        period = 1.0 / args.fps
        index = 0
        due = time.monotonic()
        while True:
            due = max(due + period, time.monotonic() - period)  # no bursts after a hiccup
            time.sleep(max(0.0, due - time.monotonic()))
            with self.lock:
                appsrcs = list(self.appsrcs)
            if not appsrcs or not self.running.is_set():
                continue
            data = coded_frame(index, int(time.time() * 1000), args.width, args.height)
            for appsrc in appsrcs:
                buffer = Gst.Buffer.new_allocate(None, len(data), None)  # a copy it owns
                buffer.fill(0, data)
                buffer.duration = int(period * Gst.SECOND)
                appsrc.emit('push-buffer', buffer)
            index += 1


def request_key_frames(medias: set, rounds: list) -> bool:
    """
    Ask every session's encoder for a key frame (a GLib timeout: every 100 ms, 6 rounds).

    A session's data starts to flow a moment after its PLAY request (the pipeline's async
    change to PLAYING), not known exactly here: several requests make sure one key frame is
    among the first frames the client gets.
    """
    for media in list(medias):
        element = media.get_element()
        encoder = element.get_by_name_recurse_up('enc') if element is not None else None
        if encoder is not None:
            encoder.get_static_pad('src').send_event(
                GstVideo.video_event_new_upstream_force_key_unit(Gst.CLOCK_TIME_NONE, True, 0))
    rounds[0] -= 1
    return rounds[0] > 0


def make_factory(args: argparse.Namespace, feeder: Feeder, medias: set):
    """Return the media factory: appsrc -> x264 (zerolatency, --gop) -> RTP, per session."""
    key_int = max(1, int(round(args.gop * args.fps)))
    launch = (
        f'( appsrc name=src is-live=true format=time do-timestamp=true max-buffers=2 '
        f'leaky-type=downstream '
        f'caps=video/x-raw,format=GRAY8,width={args.width},height={args.height},'
        f'framerate={args.fps}/1 ! videoconvert ! video/x-raw,format=I420 ! '
        f'x264enc name=enc tune=zerolatency speed-preset=ultrafast key-int-max={key_int} '
        f'threads=1 bitrate={args.bitrate} ! rtph264pay name=pay0 pt=96 config-interval=-1 )')
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(launch)
    factory.set_shared(False)
    protocols = GstRtsp.RTSPLowerTrans(0)
    if 'tcp' in args.protocols:
        protocols |= GstRtsp.RTSPLowerTrans.TCP
    if 'udp' in args.protocols:
        protocols |= GstRtsp.RTSPLowerTrans.UDP
    factory.set_protocols(protocols)

    def configure(unused_factory, media) -> None:  # each session its own media
        appsrc = media.get_element().get_by_name_recurse_up('src')
        feeder.attach(appsrc)
        medias.add(media)
        media.connect('unprepared', lambda unused: (feeder.detach(appsrc),
                                                    medias.discard(media)))

    factory.connect('media-configure', configure)
    if args.auth != 'none':
        permissions = GstRtspServer.RTSPPermissions()
        permissions.add_role('user')
        permissions.add_permission_for_role('user', 'media.factory.access', True)
        permissions.add_permission_for_role('user', 'media.factory.construct', True)
        factory.set_permissions(permissions)
    return factory


def make_auth(args: argparse.Namespace):
    """Return the server's RTSPAuth (Basic or Digest, one user with the role 'user')."""
    auth = GstRtspServer.RTSPAuth()
    token = GstRtspServer.RTSPToken()
    token.set_string('media.factory.role', 'user')
    if args.auth == 'basic':
        auth.add_basic(GstRtspServer.RTSPAuth.make_basic(args.user, args.password), token)
        auth.set_supported_methods(GstRtsp.RTSPAuthMethod.BASIC)
    else:
        auth.add_digest(args.user, args.password, token)
        auth.set_supported_methods(GstRtsp.RTSPAuthMethod.DIGEST)
    return auth


def read_commands(feeder: Feeder) -> None:
    for line in sys.stdin:
        command = line.strip()
        if command == 'stall':
            feeder.running.clear()
        elif command == 'resume':
            feeder.running.set()
        print(f'OK {command}', flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument('--port', type=int, required=True)
    parser.add_argument('--path', default='/stream')
    parser.add_argument('--width', type=int, default=320)
    parser.add_argument('--height', type=int, default=240)
    parser.add_argument('--fps', type=int, default=25)
    parser.add_argument('--gop', type=float, default=1.0, help='seconds between key frames')
    parser.add_argument('--key-on-play', action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument('--bitrate', type=int, default=800, help='kbit/s')
    parser.add_argument('--protocols', default='tcp+udp', choices=('tcp', 'udp', 'tcp+udp'))
    parser.add_argument('--auth', default='none', choices=('none', 'basic', 'digest'))
    parser.add_argument('--user', default='viewer')
    parser.add_argument('--password', default='')
    args = parser.parse_args()
    Gst.init(None)
    feeder = Feeder(args)
    server = GstRtspServer.RTSPServer()
    server.set_address('127.0.0.1')
    server.set_service(str(args.port))
    if args.auth != 'none':
        server.set_auth(make_auth(args))
    medias: set = set()
    server.get_mount_points().add_factory(args.path, make_factory(args, feeder, medias))
    if args.key_on_play:  # once the PLAY answer is out, so the key frame reaches the client
        server.connect('client-connected', lambda unused, client: client.connect(
            'play-request', lambda *unused: GLib.timeout_add(100, request_key_frames, medias,
                                                             [6])))
    if server.attach(None) == 0:
        print(f'cannot listen on port {args.port}', file=sys.stderr, flush=True)
        sys.exit(1)
    threading.Thread(target=read_commands, args=(feeder,), daemon=True).start()
    print(f'READY {args.port}', flush=True)
    GLib.MainLoop().run()


if __name__ == '__main__':
    main()
