"""GPU compression (`host/pipeline/nvcomp_codec`): the chunk packing kernel on every backend,
fed with chunks compressed by the CPU libraries as nvCOMP's RAW chunks would be, read
back by `lz4.frame` / `zstandard`; and, where nvCOMP and a GPU are present, nvCOMP's own
output read by the CPU decoders."""

from __future__ import annotations

import gzip
import shutil
import subprocess
import zlib

import numpy as np
import pytest

from pxos.errors import PxArgumentError, PxRuntimeError
from pxos.host import pipeline
from pxos.host.pipeline import filters, gzip_members, lz4_frame, nvcomp_codec
from pxos.host.pipeline.frame_kernel import pack_chunks
from pxos.testing import for_each_backend

lz4_frame_lib = pytest.importorskip("lz4.frame")
lz4_block = pytest.importorskip("lz4.block")
zstandard = pytest.importorskip("zstandard")
CHUNK = 4096  # small chunks: several per test input, quick on the interpreter too


def sample(n: int, seed: int = 0) -> np.ndarray:
    """Random bytes, then text, then a run of zeros: chunks that grow, shrink and vanish."""
    rng = np.random.default_rng(seed)
    text = np.frombuffer(b"".join(b"line %d of the log\n" % i for i in range(n // 18 + 1)),
                         np.uint8)
    parts = [rng.integers(0, 256, n // 3, dtype=np.uint8), text[:n // 3]]
    return np.concatenate(parts + [np.zeros(n - 2 * (n // 3), np.uint8)])


def _raw_deflate(part: bytes) -> bytes:
    """A complete raw deflate stream (RFC 1951), as one nvCOMP deflate chunk is."""
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return c.compress(part) + c.flush()


def packed(data: np.ndarray, codec: str, device: str) -> bytes:
    """``data`` cut into CHUNK-byte chunks, each compressed by the CPU library into a slot
    of a fixed stride (as nvCOMP does), then packed by the kernel on ``device``."""
    n, stride = -(-len(data) // CHUNK), nvcomp_codec._bound(codec, CHUNK) + 16
    slots, sizes = np.zeros(n * stride, np.uint8), np.zeros(n, np.int32)
    for b in range(n):
        part = data[b * CHUNK:(b + 1) * CHUNK].tobytes()
        comp = (lz4_block.compress(part, store_size=False) if codec == "lz4"
                else zstandard.ZstdCompressor().compress(part) if codec == "zstd"
                else _raw_deflate(part))
        slots[b * stride:b * stride + len(comp)] = np.frombuffer(comp, np.uint8)
        sizes[b] = len(comp) if codec != "lz4" or len(comp) < len(part) else -len(part)
    head = nvcomp_codec.HEAD[codec]
    records = np.abs(sizes) + head + nvcomp_codec.TAIL[codec]
    starts = (np.cumsum(records) - records + head).astype(np.int32)
    frame = np.full(int(records.sum()), 0xAA, np.uint8)
    span = max(head, int(np.abs(sizes).max()))
    pack_chunks(slots, data, frame, sizes, starts, stride, CHUNK, head, span, device=device,
                threads=(n * span,))
    if codec == "deflate":
        at, values = gzip_members.member_bytes(data, CHUNK, starts, sizes, device)
        frame[at] = values
    if codec == "lz4":
        return lz4_frame.header(64 << 10, len(data)) + frame.tobytes() + lz4_frame.END_MARK
    return frame.tobytes()


@for_each_backend()
@pytest.mark.parametrize("codec", ["lz4", "zstd", "deflate"])
def test_packed_chunks_are_one_standard_stream(backend, codec):
    data = sample(5 * CHUNK + 123)
    out = packed(data, codec, backend)
    if codec == "lz4":
        assert lz4_frame_lib.decompress(out) == data.tobytes()
    elif codec == "deflate":  # gzip members back to back (RFC 1952)
        assert gzip.decompress(out) == data.tobytes()
    else:  # frames back to back: zstandard reads them one by one
        dec, got, rest = zstandard.ZstdDecompressor(), b"", out
        while rest:
            obj = dec.decompressobj()
            got += obj.decompress(rest)
            rest = obj.unused_data
        assert got == data.tobytes()
    assert pipeline.decompress(out, codec).tobytes() == data.tobytes()
    f = filters.CodecFilter(codec, True)
    cuts = [out[lo:lo + 3000] for lo in range(0, len(out), 3000)]
    assert b"".join(bytes(f.push(c)) for c in cuts) + bytes(f.close()) == data.tobytes()


@pytest.mark.parametrize("n", [1, CHUNK - 1, CHUNK, 3 * CHUNK + 5])
def test_chunk_crcs_equal_zlibs(n):
    data = sample(n, seed=n)
    want = [zlib.crc32(data[lo:lo + CHUNK].tobytes()) for lo in range(0, n, CHUNK)]
    device = "c" if "c" in pipeline.devices("sha256") else "interp"
    assert gzip_members.chunk_crcs(data, CHUNK, device).tolist() == want


def test_a_changed_gzip_member_is_refused():
    out = bytearray(packed(sample(3 * CHUNK), "deflate", "interp"))
    out[-3] ^= 0x01  # the last member's length
    with pytest.raises(PxRuntimeError, match="deflate: the compressed input is corrupt"):
        pipeline.decompress(bytes(out), "deflate")


def test_the_frame_header_matches_lz4s_own():
    ours = lz4_frame.header(64 << 10, None, block_checksum=True)
    theirs = lz4_frame_lib.compress(b"x" * 100, block_size=lz4_frame_lib.BLOCKSIZE_MAX64KB,
                                    block_linked=False, block_checksum=True,
                                    content_checksum=False, store_size=False)
    assert ours == theirs[:7]  # magic, FLG, BD and the XXH32-derived header checksum


def test_a_wrong_content_size_is_found_by_the_reader():
    data = sample(3 * CHUNK)
    body = lz4_frame.block_records(data, 64 << 10) + lz4_frame.END_MARK
    good = lz4_frame.header(64 << 10, len(data), block_checksum=True) + body
    assert lz4_frame_lib.decompress(good) == data.tobytes()
    bad = lz4_frame.header(64 << 10, len(data) + 1, block_checksum=True) + body
    with pytest.raises(PxRuntimeError, match="corrupt or truncated"):
        pipeline.decompress(bad, "lz4")


gpu = pytest.mark.skipif(not nvcomp_codec.available(), reason="no nvCOMP and CUDA GPU here")


@gpu
@pytest.mark.parametrize("n", [0, 1, 65535, 65536, 3 * 65536 + 17, 5_000_000])
@pytest.mark.parametrize("codec", ["lz4", "zstd", "deflate"])
def test_nvcomp_output_is_read_by_the_cpu_decoders(codec, n):
    data = sample(n, seed=n)
    out = pipeline.compress(data, codec, device="cuda")
    assert isinstance(out, np.ndarray) and out.dtype == np.uint8
    reference = (lz4_frame_lib.decompress(out.tobytes()) if codec == "lz4"
                 else gzip.decompress(out.tobytes()) if codec == "deflate"
                 else pipeline.decompress(out, "zstd").tobytes())
    assert reference == data.tobytes()
    if n > 65536:
        assert len(out) < n  # a third of it is text, a third zeros


@gpu
def test_nvcomp_lz4_is_read_by_the_lz4_command(tmp_path):
    if shutil.which("lz4") is None:
        pytest.skip("no lz4 command here")
    data = sample(1 << 20)
    (tmp_path / "x.lz4").write_bytes(pipeline.compress(data, "lz4", device="cuda").tobytes())
    subprocess.run(["lz4", "-d", "-q", str(tmp_path / "x.lz4"), str(tmp_path / "x")],
                   check=True)
    assert (tmp_path / "x").read_bytes() == data.tobytes()


@gpu
def test_device_data_stay_on_the_gpu():
    import cupy as cp

    data = sample(1 << 20)
    out = pipeline.compress(cp.asarray(data), "lz4", device="cuda")
    assert isinstance(out, cp.ndarray)
    assert lz4_frame_lib.decompress(out.get().tobytes()) == data.tobytes()


@gpu
def test_nvcomp_refuses_levels():
    with pytest.raises(PxArgumentError, match="no zstd levels"):
        pipeline.compress(b"abc", "zstd", 9, device="cuda")
