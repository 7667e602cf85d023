"""LZ4 on every core (`lz4_frame.BlockCompressor` behind a streamed COMPRESS WITH lz4): one
standard frame of independent blocks, the same bytes for any cut of the stream and any
number of workers, read by `lz4.frame` and the `lz4` command; and zstd streams of several
frames (as nvCOMP writes) read by the streaming decoder."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pxos.errors import PxRuntimeError
from pxos.host.pipeline import filters, lz4_frame
from pxos.host.pipeline.cores import CorePool

lz4_lib = pytest.importorskip("lz4.frame")
zstandard = pytest.importorskip("zstandard")
BLOCK = 64 << 10  # small blocks: many per test input
RNG = np.random.default_rng(21)
DATA = np.concatenate([np.frombuffer(b"".join(b"GET /%d 200\n" % (i % 997)
                                               for i in range(30_000)), np.uint8),
                       RNG.integers(0, 256, 100_000, dtype=np.uint8)])  # grows: stored


@pytest.fixture(autouse=True)
def small_blocks(monkeypatch):
    monkeypatch.setattr(lz4_frame.BlockCompressor, "BLOCK", BLOCK)


def streamed(f, parts) -> bytes:
    return b"".join(bytes(f.push(p)) for p in parts) + bytes(f.close())


def cut(data: np.ndarray, cuts: list[int]) -> list[np.ndarray]:
    edges = [0] + sorted(c % (len(data) + 1) for c in cuts) + [len(data)]
    return [data[a:b] for a, b in zip(edges, edges[1:])]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cuts=st.lists(st.integers(0, 10 ** 7), max_size=6), workers=st.sampled_from([1, 2, 3]))
def test_any_cut_and_any_workers_give_the_same_standard_frame(cuts, workers):
    with CorePool(workers) as pool:
        ours = streamed(filters.CodecFilter("lz4", False, pool=pool), cut(DATA, cuts))
    assert lz4_lib.decompress(ours) == DATA.tobytes()
    alone = streamed(filters.CodecFilter("lz4", False), [DATA])
    assert ours == alone  # the blocks start at fixed places of the stream


def test_the_lz4_command_reads_it(tmp_path):
    if shutil.which("lz4") is None:
        pytest.skip("no lz4 command here")
    with CorePool(2) as pool:
        packed = streamed(filters.CodecFilter("lz4", False, pool=pool), [DATA])
    (tmp_path / "x.lz4").write_bytes(packed)
    subprocess.run(["lz4", "-d", "-q", str(tmp_path / "x.lz4"), str(tmp_path / "x")],
                   check=True)
    assert (tmp_path / "x").read_bytes() == DATA.tobytes()


def test_a_changed_block_fails_its_checksum():
    packed = bytearray(streamed(filters.CodecFilter("lz4", False), [DATA]))
    packed[len(packed) // 3] ^= 0x01
    with pytest.raises(PxRuntimeError, match="lz4: the compressed input is corrupt"):
        streamed(filters.CodecFilter("lz4", True), [bytes(packed)])


def test_zstd_frames_back_to_back_stream_out_whole():
    raw = DATA.tobytes()
    frames = b"".join(zstandard.ZstdCompressor().compress(raw[lo:lo + 50_000])
                      for lo in range(0, len(raw), 50_000))
    assert streamed(filters.CodecFilter("zstd", True), cut(np.frombuffer(frames, np.uint8),
                                                           [7, 50_001, 123_456])) == raw
    with pytest.raises(PxRuntimeError, match="zstd: the compressed input is corrupt"):
        streamed(filters.CodecFilter("zstd", True), [frames[:-3]])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cuts=st.lists(st.integers(0, 10 ** 7), max_size=6), workers=st.sampled_from([1, 2, 3]),
       sized=st.booleans())
def test_independent_blocks_are_read_on_every_core(cuts, workers, sized):
    raw = DATA.tobytes()
    checked = streamed(filters.CodecFilter("lz4", False), [DATA])  # block checksums
    theirs = lz4_lib.compress(raw, block_size=lz4_lib.BLOCKSIZE_MAX64KB, block_linked=False,
                              content_checksum=False, store_size=sized)  # no checksums
    for packed in (checked, theirs):
        with CorePool(workers) as pool:
            f = filters.CodecFilter("lz4", True, pool=pool)
            assert streamed(f, cut(np.frombuffer(packed, np.uint8), cuts)) == raw


@pytest.mark.parametrize("how", ["cut", "flip", "size", "after", "header"])
def test_a_damaged_frame_is_refused_on_every_core(how):
    packed = bytearray(lz4_lib.compress(DATA.tobytes(), block_size=lz4_lib.BLOCKSIZE_MAX64KB,
                                        block_linked=False, block_checksum=True,
                                        content_checksum=False, store_size=True))
    if how == "cut":
        packed = packed[:len(packed) // 2]
    elif how == "flip":
        packed[len(packed) // 2] ^= 0x01  # the block's XXH32 no longer matches
    elif how == "size":
        packed[6] ^= 0x01  # the content size (and so the header checksum)
        packed[14] = (lz4_frame.xxh32_short(bytes(packed[4:14])) >> 8) & 0xFF
    elif how == "after":
        packed += b"junk"
    else:
        packed[5] ^= 0x10  # the block size code: the header checksum fails
    with CorePool(2) as pool:
        with pytest.raises(PxRuntimeError, match="lz4: the compressed input is corrupt"):
            streamed(filters.CodecFilter("lz4", True, pool=pool), [bytes(packed)])


def test_linked_blocks_and_content_checksums_are_read_by_lz4_itself():
    packed = lz4_lib.compress(DATA.tobytes(), content_checksum=True)  # linked blocks
    with CorePool(2) as pool:
        f = filters.CodecFilter("lz4", True, pool=pool)
        assert streamed(f, cut(np.frombuffer(packed, np.uint8), [5, 70_000])) == DATA.tobytes()


def test_a_frame_with_short_blocks_before_its_last_is_read_on_every_core():
    sizes = [BLOCK, 1000, BLOCK, 7, 5000]  # blocks may be shorter than the frame's largest
    parts = np.split(DATA[:sum(sizes)], np.cumsum(sizes)[:-1])
    records = b"".join(lz4_frame.block_records(p, BLOCK) for p in parts)
    packed = lz4_frame.header(BLOCK, block_checksum=True) + records + lz4_frame.END_MARK
    assert lz4_lib.decompress(packed) == DATA[:sum(sizes)].tobytes()
    with CorePool(2) as pool:
        f = filters.CodecFilter("lz4", True, pool=pool)
        assert streamed(f, [packed]) == DATA[:sum(sizes)].tobytes()


@pytest.mark.parametrize("level", [0, 9])
def test_c_threads_write_the_records_of_the_python_path(level):
    from pxos.host.pipeline import lz4_threads

    if lz4_threads.helper() is None:
        pytest.skip("no C compiler, or an lz4 without the LZ4F functions")
    writer = lz4_threads.BlockWriter(BLOCK, level)  # its slots serve every call
    for data in (DATA, DATA[:BLOCK], DATA[:1]):  # several blocks, one, a stored tail
        got = writer.records(data, 3)
        assert got == lz4_frame.block_records(data, BLOCK, level)
        frame = lz4_frame.header(BLOCK, block_checksum=True) + got + lz4_frame.END_MARK
        assert lz4_lib.decompress(frame) == data.tobytes()


def test_c_threads_decode_into_place_and_name_a_bad_block():
    from pxos.host.pipeline import lz4_threads

    if lz4_threads.helper() is None:
        pytest.skip("no C compiler, or an lz4 without the LZ4F functions")
    records = list(lz4_frame.record_views(DATA, BLOCK))  # the last block is stored
    out = np.empty(len(records) * BLOCK, np.uint8)
    sizes = lz4_threads.unpack(records, out, BLOCK, True, 3)
    assert b"".join(out[k * BLOCK:k * BLOCK + n] for k, n in enumerate(sizes)) == DATA.tobytes()
    changed = [bytearray(r) for r in records]
    changed[2][9] ^= 1
    with pytest.raises(ValueError, match="block 2 of this chunk fails its checksum"):
        lz4_threads.unpack(changed, out, BLOCK, True, 2)
    with pytest.raises(ValueError, match="block 1 of this chunk is corrupt"):
        lz4_threads.unpack([records[0], records[1][:-5]], out, BLOCK, True, 2)
