"""Streamed COMPRESS on nvCOMP (`host/pipeline/nvcomp_stream`): the stream's framing read
back by the CPU decoders whatever the cuts, with a stand-in for nvCOMP's records where no
GPU is (and nvCOMP itself where it is); and `--device auto` placing a streamed COMPRESS on
cuda only when the cost model says so, on a machine of round figures."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

from pxos.errors import PxArgumentError
from pxos.host import pipeline
from pxos.host.pipeline import codec_placement, filters, nvcomp_codec, nvcomp_stream
from pxos.host.program import ProgramRun
from pxos.ir.check_host import check_program
from pxos.lang.px.parser import parse_program
from tests.planner.conftest import make_machine

lz4_frame = pytest.importorskip("lz4.frame")
lz4_block = pytest.importorskip("lz4.block")
zstandard = pytest.importorskip("zstandard")
CHUNK = nvcomp_codec.CHUNK


def standin(piece: np.ndarray, codec: str) -> np.ndarray:
    """nvCOMP's packed records of ``piece`` written from the CPU libraries: per CHUNK an LZ4
    block record (stored where it does not shrink), a zstd frame or a gzip member."""
    out = []
    for lo in range(0, len(piece), CHUNK):
        part = piece[lo:lo + CHUNK].tobytes()
        if codec == "lz4":
            raw = lz4_block.compress(part, store_size=False)
            stored = len(raw) >= len(part)
            out.append(struct.pack("<I", len(part) | 0x80000000 if stored else len(raw))
                       + (part if stored else raw))
        elif codec == "zstd":
            out.append(zstandard.ZstdCompressor().compress(part))
        else:
            out.append(gzip.compress(part, mtime=0))
    return np.frombuffer(b"".join(out), np.uint8)


def sample(n: int) -> np.ndarray:
    """Log lines, then random bytes (blocks that shrink and blocks that are stored)."""
    text = b"".join(b"GET /item/%d 200\n" % (i % 5000) for i in range(n // 17 + 1))[:n // 2]
    rng = np.random.default_rng(7)
    return np.concatenate([np.frombuffer(text, np.uint8),
                           rng.integers(0, 256, n - len(text), dtype=np.uint8)])


def streamed(data: np.ndarray, codec: str, cut: int, records=standin) -> bytes:
    f = nvcomp_stream.NvcompFilter(codec, records=records)
    parts = [f.push(data[lo:lo + cut]) for lo in range(0, len(data), cut)]
    return b"".join(parts) + f.close()


def read_back(out: bytes, codec: str) -> bytes:
    """``out`` decoded by the codec's own library (every frame or member)."""
    if codec == "lz4":
        return lz4_frame.decompress(out)
    if codec == "deflate":
        return gzip.decompress(out)
    got, rest = b"", out
    while rest:
        obj = zstandard.ZstdDecompressor().decompressobj()
        got += obj.decompress(rest)
        rest = obj.unused_data
    return got


@pytest.mark.parametrize("codec", ["lz4", "zstd", "deflate"])
def test_a_streamed_gpu_compress_is_one_standard_stream_whatever_the_cuts(codec):
    data = sample(3 * CHUNK + 5000)
    outs = {cut: streamed(data, codec, cut) for cut in (7000, CHUNK, 100_000, len(data))}
    assert len(set(outs.values())) == 1  # the cuts never change the bytes
    out = outs[7000]
    assert read_back(out, codec) == data.tobytes()
    assert pipeline.decompress(out, codec).tobytes() == data.tobytes()
    f = filters.CodecFilter(codec, True)  # the streamed DECOMPRESS reads it too
    assert b"".join(bytes(f.push(out[lo:lo + 5000])) for lo in range(0, len(out), 5000)) \
        + bytes(f.close()) == data.tobytes()


@pytest.mark.parametrize("codec", ["lz4", "zstd", "deflate"])
def test_an_empty_stream_is_the_codecs_empty_stream(codec):
    out = streamed(np.zeros(0, np.uint8), codec, 10)
    assert read_back(out, codec) == b"" and pipeline.decompress(out, codec).size == 0


def test_nvcomp_has_no_levels():
    with pytest.raises(PxArgumentError, match="nvCOMP has no zstd levels"):
        nvcomp_stream.NvcompFilter("zstd", 9)
    nvcomp_stream.NvcompFilter("zstd", 3)  # the default level is nvCOMP's own


def _auto_run(tmp_path, monkeypatch, cpu_rate: float):
    """A streamed COMPRESS under --device auto with nvCOMP faked present (the stand-in's
    records), a CPU library of ``cpu_rate`` bytes/s and nvCOMP at 100 GB/s."""
    monkeypatch.setattr(nvcomp_codec, "installed", lambda: True)
    real = pipeline.devices
    monkeypatch.setattr(pipeline, "devices",
                        lambda op: ["host", "cuda"] if op == "compress" else real(op))
    monkeypatch.setattr("pxos.planner.calibration.machine", lambda auto=True: make_machine(gpu=True))
    monkeypatch.setattr(codec_placement, "host_rate", lambda d, c, lv: (cpu_rate, 0.25))
    monkeypatch.setattr(codec_placement, "gpu_rate", lambda d, c: 100e9)
    monkeypatch.setattr(nvcomp_stream, "gpu_records", standin)
    data = sample(2 * CHUNK + 99)
    (tmp_path / "in.bin").write_bytes(data.tobytes())
    text = ('READ_FILE "in.bin" INTO x AS u8 CHUNK 50000\nCOMPRESS x WITH lz4 → y\n'
            'WRITE_FILE y TO "out.lz4"\n')
    (tmp_path / "prog.px").write_text(text)
    program = check_program(parse_program(text, str(tmp_path / "prog.px")))
    run = ProgramRun(program, device="auto", explain=True, emit=lambda _: None)
    run.run()
    decision = next(d for d in run.decisions if d.line == 2)
    out = (tmp_path / "out.lz4").read_bytes()
    assert lz4_frame.decompress(out) == data.tobytes()
    return decision, out


def test_auto_puts_a_streamed_compress_on_nvcomp_when_predicted_faster(tmp_path, monkeypatch):
    decision, out = _auto_run(tmp_path, monkeypatch, 0.05e9)
    assert decision.device == "cuda" and "nvCOMP lz4 predicted" in decision.reason
    assert decision.features["bytes"] == 2 * CHUNK + 99  # predicted for the whole file
    assert out[4] & 0x10 == 0  # the GPU's frame: no block checksums


def test_auto_keeps_a_streamed_compress_on_a_faster_cpu(tmp_path, monkeypatch):
    decision, out = _auto_run(tmp_path, monkeypatch, 50e9)
    assert decision.device == "host" and "this CPU beats PCIe" in decision.reason
    assert out[4] & 0x10  # the CPU's frame: a checksum per block


@pytest.mark.skipif(not nvcomp_codec.available(), reason="needs nvCOMP and a CUDA device")
@pytest.mark.parametrize("codec", ["lz4", "zstd"])
def test_nvcomp_streamed_output_is_read_by_the_cpu_decoders(codec):
    data = sample(5 * CHUNK + 17)
    out = streamed(data, codec, 3 * CHUNK + 1, records=None)
    assert read_back(out, codec) == data.tobytes()
