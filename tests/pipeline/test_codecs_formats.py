"""COMPRESS/DECOMPRESS against zstandard, lz4 and zlib; corrupt and truncated input;
VALIDATE AS npy|png|utf8."""

from __future__ import annotations

import io
import zlib

import numpy as np
import pytest

from tests.conftest import EXAMPLES, needs_extra

lz4 = needs_extra("lz4", "pipelines")
zstandard = needs_extra("zstandard", "pipelines")
needs_extra("lz4.frame", "pipelines")

from pxos.errors import PxArgumentError, PxRuntimeError
from pxos.host import pipeline

IMAGE = (EXAMPLES / "data" / "astronaut.png").read_bytes()
TEXT = b"".join(b"line %d of a repetitive log\n" % (i % 37) for i in range(3000))
RANDOM = np.random.default_rng(3).integers(0, 256, 4096, dtype=np.uint8).tobytes()
READERS = {"zstd": lambda b: zstandard.ZstdDecompressor().decompress(b),
           "lz4": lz4.frame.decompress, "deflate": zlib.decompress}


@pytest.mark.parametrize("codec", pipeline.CODECS)
@pytest.mark.parametrize("data", [b"", b"a", TEXT, RANDOM, IMAGE], ids=["empty", "one", "text", "random", "png"])
def test_round_trip_and_standard_readers(codec, data):
    packed = pipeline.compress(data, codec)
    assert READERS[codec](packed.tobytes()) == data  # the standard decoder reads it
    assert pipeline.decompress(packed, codec).tobytes() == data
    if data is TEXT:
        assert len(packed) < len(data) / 4


@pytest.mark.parametrize("codec", pipeline.CODECS)
def test_truncated_and_corrupt(codec):
    packed = pipeline.compress(TEXT, codec)
    with pytest.raises(PxRuntimeError, match=f"{codec}: the compressed input is corrupt or truncated"):
        pipeline.decompress(packed[: len(packed) // 2], codec)
    bad = packed.copy()
    bad[len(bad) // 2] ^= 0xFF
    bad[-1] ^= 0xFF  # the checksum at the end, in case the middle still decodes
    with pytest.raises(PxRuntimeError, match="corrupt or truncated"):
        pipeline.decompress(bad, codec)
    with pytest.raises(PxRuntimeError):
        pipeline.decompress(b"not compressed at all", codec)


def test_codec_arguments():
    with pytest.raises(PxArgumentError, match="unknown codec 'gzip'"):
        pipeline.compress(b"x", "gzip")
    with pytest.raises(PxArgumentError, match="deflate level must be an integer from 0 to 9"):
        pipeline.compress(b"x", "deflate", 12)
    with pytest.raises(PxArgumentError, match="runs only on the host"):
        pipeline.compress(b"x", "zstd", device="c")
    assert len(pipeline.compress(TEXT, "zstd", 19)) <= len(pipeline.compress(TEXT, "zstd", 1))


def test_validate_good_files():
    buf = io.BytesIO()
    np.save(buf, np.arange(12, dtype=np.float32).reshape(3, 4))
    pipeline.validate(buf.getvalue(), "npy")
    pipeline.validate(IMAGE, "png")
    pipeline.validate("grüße, 世界".encode(), "utf8")


def test_validate_failures():
    buf = io.BytesIO()
    np.save(buf, np.arange(12, dtype=np.float32))
    npy = buf.getvalue()
    with pytest.raises(PxRuntimeError, match="promises 48 data bytes"):
        pipeline.validate(npy[:-1], "npy")
    with pytest.raises(PxRuntimeError, match="not an .npy file"):
        pipeline.validate(b"hello", "npy")
    with pytest.raises(PxRuntimeError, match="signature is missing"):
        pipeline.validate(npy, "png")
    bad = bytearray(IMAGE)
    bad[40] ^= 1
    with pytest.raises(PxRuntimeError, match="wrong CRC"):
        pipeline.validate(bytes(bad), "png")
    with pytest.raises(PxRuntimeError, match="no IEND|runs past the end"):
        pipeline.validate(IMAGE[:-20], "png")
    with pytest.raises(PxRuntimeError, match="not UTF-8: invalid start byte at byte 2"):
        pipeline.validate(b"ab\xffcd", "utf8")
    with pytest.raises(PxArgumentError, match="unknown format 'gif'"):
        pipeline.validate(b"", "gif")
