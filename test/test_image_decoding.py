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
Encoded images from outside: valid ones decode like OpenCV, bad ones are refused quietly.

Bombs are real files (a few hundred bytes to 50 KB declaring gigapixels); corrupt images are
real encodings with real damage; stderr is captured at the file-descriptor level, where
libpng and libjpeg write.
"""

import io
import resource
import struct
import zlib

import cv2
import numpy as np
from PIL import Image
import pytest

from stream_infer.errors import SourceError
from stream_infer.sources import ImageSource
from stream_infer.sources.image_decoding import (
    declared_size, decode_image, DEFAULT_MAX_PIXELS, ImageDecodeError)

RNG = np.random.default_rng(7)
PICTURE = np.dstack([np.mgrid[0:60, 0:80][1] * 3, np.mgrid[0:60, 0:80][0] * 4,
                     RNG.integers(0, 255, (60, 80))]).astype(np.uint8)


def encode(ext, image=PICTURE, params=()):
    ok, data = cv2.imencode(ext, image, list(params))
    assert ok
    return data.tobytes()


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return (struct.pack('>I', len(payload)) + kind + payload
            + struct.pack('>I', zlib.crc32(kind + payload) & 0xffffffff))


def png_bomb(width: int, height: int, rows: int = 0) -> bytes:
    """
    Return a grayscale PNG declaring width x height, with `rows` rows of data (all if 0).

    A decoder allocates the whole image from the header; full data (zeros) for 20000x20000
    compresses to 389 KB.
    """
    compressor = zlib.compressobj(9)
    row = b'\x00' * (1 + width)  # filter byte + pixels
    idat = b''.join(compressor.compress(row) for _ in range(rows or height)) + \
        compressor.flush()
    ihdr = struct.pack('>IIBBBBB', width, height, 8, 0, 0, 0, 0)
    return (b'\x89PNG\r\n\x1a\n' + png_chunk(b'IHDR', ihdr) + png_chunk(b'IDAT', idat)
            + png_chunk(b'IEND', b''))


def jpeg_declaring(width: int, height: int) -> bytes:
    """Return a small real JPEG whose frame header (SOF0) declares width x height."""
    data = bytearray(encode('.jpg', np.zeros((16, 16, 3), np.uint8)))
    sof = data.find(b'\xff\xc0')
    data[sof + 5:sof + 9] = struct.pack('>HH', height, width)
    return bytes(data)


@pytest.mark.parametrize('ext,params', [
    ('.png', ()), ('.bmp', ()), ('.tiff', ()), ('.ppm', ()),
    ('.webp', (cv2.IMWRITE_WEBP_QUALITY, 101)),  # lossless
])
def test_lossless_formats_decode_exactly_like_opencv(ext, params):
    data = encode(ext, PICTURE, params)
    np.testing.assert_array_equal(decode_image(data), PICTURE)
    np.testing.assert_array_equal(decode_image(data),
                                  cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR))


@pytest.mark.parametrize('image', [PICTURE, PICTURE[:, :, 0]], ids=['color', 'gray'])
def test_jpeg_and_sixteen_bit_png_match_opencv(image):
    jpeg = encode('.jpg', image)
    np.testing.assert_array_equal(decode_image(jpeg),
                                  cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR))
    deep = encode('.png', image.astype(np.uint16) * 257 + 3)
    np.testing.assert_array_equal(decode_image(deep),
                                  cv2.imdecode(np.frombuffer(deep, np.uint8), cv2.IMREAD_COLOR))


def test_palette_and_alpha_images_become_bgr():
    rgba = Image.fromarray(cv2.cvtColor(PICTURE, cv2.COLOR_BGR2RGBA))
    for image in (rgba, rgba.convert('P')):
        buffer = io.BytesIO()
        image.save(buffer, format='PNG')
        out = decode_image(buffer.getvalue())
        assert out.shape == PICTURE.shape and out.dtype == np.uint8


def test_declared_size_is_read_without_decoding():
    assert declared_size(encode('.jpg')) == ('JPEG', 80, 60)
    assert declared_size(jpeg_declaring(65500, 65500)) == ('JPEG', 65500, 65500)
    assert declared_size(b'not an image') is None


def test_the_pixel_limit_is_exact():
    data = encode('.png')
    assert decode_image(data, max_pixels=80 * 60).shape == (60, 80, 3)
    with pytest.raises(ImageDecodeError, match='80x60 = 4800 pixels, more than the limit of '
                       '4799 .max_image_pixels.; refused before decoding'):
        decode_image(data, max_pixels=80 * 60 - 1)
    assert DEFAULT_MAX_PIXELS > 7680 * 4320  # well above 8K


@pytest.mark.parametrize('bomb,declared', [
    (jpeg_declaring(65500, 65500), '65500x65500'),    # OpenCV raises on it (> 2**30 pixels)
    (png_bomb(20000, 20000), '20000x20000'),          # cv2.imdecode: 2.3 GB peak
    (jpeg_declaring(20000, 20000), '20000x20000'),    # cv2.imdecode: 2.3 GB peak
], ids=['jpeg-65500', 'png-20000', 'jpeg-20000'])
def test_decompression_bombs_are_refused_before_any_pixel_is_decoded(bomb, declared):
    assert len(bomb) < 400_000
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB
    with pytest.raises(ImageDecodeError, match=f'declares {declared} = .*max_image_pixels'):
        decode_image(bomb, what='compressed image')
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before) / 1024
    assert grown_mib < 100, f'peak RSS grew by {grown_mib:.0f} MiB decoding a refused bomb'


def _damaged():
    png = encode('.png')
    jpeg = encode('.jpg', RNG.integers(0, 255, (120, 160, 3), dtype=np.uint8))
    bad_crc = bytearray(png)
    bad_crc[29] ^= 0xff  # the IHDR CRC: libpng prints 'libpng error: IHDR: CRC error'
    flipped_jpeg = bytearray(jpeg)
    for i in np.random.default_rng(1).integers(300, len(jpeg), 10):
        flipped_jpeg[i] ^= 0xff  # libjpeg: 'Corrupt JPEG data: ... extraneous bytes'
    bad_filter = bytearray(png_bomb(64, 8))
    return {
        'png-ihdr-crc': bytes(bad_crc),
        'png-truncated': png[:len(png) // 2],
        'png-bad-idat': bytes(bad_filter[:40]) + b'\x00' * 20 + bytes(bad_filter[60:]),
        'jpeg-flipped': bytes(flipped_jpeg),
        'jpeg-truncated-with-eoi': jpeg[:len(jpeg) // 2] + b'\xff\xd9',
        'jpeg-header-only': jpeg[:200],
        'garbage': b'\x89PNG\r\n\x1a\n' + bytes(RNG.integers(0, 255, 300, dtype=np.uint8)),
        'text': b'not an image at all',
        'empty': b'',
    }


def test_damaged_images_are_refused_or_decoded_and_nothing_reaches_stderr(capfd):
    outcomes = {}
    for name, data in _damaged().items():
        try:
            outcomes[name] = decode_image(data).shape
        except ImageDecodeError as exc:
            outcomes[name] = 'refused'
            assert '\n' not in str(exc) and str(exc), name
    captured = capfd.readouterr()
    assert captured.err == '' and captured.out == '', captured.err
    for name in ('png-ihdr-crc', 'png-truncated', 'png-bad-idat', 'jpeg-header-only',
                 'garbage', 'text', 'empty'):
        assert outcomes[name] == 'refused', (name, outcomes[name])
    # libjpeg recovers from damaged entropy data (gray blocks), as OpenCV would, silently.
    assert outcomes['jpeg-flipped'] in ('refused', (120, 160, 3))
    # What OpenCV itself does with the same data: libpng and libjpeg write to stderr.
    for name in ('png-ihdr-crc', 'jpeg-flipped'):
        cv2.imdecode(np.frombuffer(_damaged()[name], np.uint8), cv2.IMREAD_COLOR)
    noise = capfd.readouterr().err
    assert 'libpng error' in noise and 'Corrupt JPEG data' in noise, noise


def test_image_files_follow_their_exif_orientation(tmp_path):
    path = tmp_path / 'portrait.jpg'
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    Image.fromarray(PICTURE[:, :, ::-1]).save(path, exif=exif)
    source = ImageSource(path)
    source.open()
    assert source.read().image.shape == (80, 60, 3)  # as cv2.imread shows it
    source.close()


def test_image_file_bomb_is_a_source_error(tmp_path):
    path = tmp_path / 'bomb.png'
    path.write_bytes(png_bomb(20000, 20000, rows=100))
    with pytest.raises(SourceError, match='bomb.png: .*20000x20000.*max_image_pixels'):
        ImageSource(path).open()
    small = ImageSource(path, max_pixels=10)
    with pytest.raises(SourceError, match='limit of 10'):
        small.open()
