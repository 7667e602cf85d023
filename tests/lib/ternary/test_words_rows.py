"""pxos.lib.ternary.words_rows: encode_rows41 (int64 to the API's (n, 41) trits through a
shared-memory transpose) against Python ints and the one-number-a-thread kernel, on the
backends that run blocks with barriers, in both launch shapes, and through T.encode."""

from __future__ import annotations

import numpy as np
import pytest

import pxos.ternary as T
from pxos.lib.ternary import words_rows as WR
from pxos.testing import for_each_backend
from tests.lib.ternary.test_words import numbers


def python_trits(v: int) -> list[int]:
    """The 41 balanced trits of ``v``, least significant first (the reference)."""
    out = []
    for _ in range(41):
        r = v % 3
        r = -1 if r == 2 else r
        out.append(r)
        v = (v - r) // 3
    assert v == 0
    return out


# interp runs one partial tile (the edges); opencl and webgpu are left out for CI time (a build takes
# seconds each; planes.encode, not T.encode, is what runs there)
@for_each_backend(argname="device", exclude=("opencl", "webgpu"))
def test_encode_rows41_equals_python_ints(device):
    count = 184 if device == "interp" else 2 * WR.GROUP * WR.ROWS_BLOCK + 184   # partial tiles
    x = numbers(count, 11)
    want = T.encode(x, 41, "c")
    assert want[:40].tolist() == [python_trits(int(v)) for v in x[:40]]
    for per_sm in (0, 1):                         # a block a tile; one block looping
        threads, stride = WR.rows_launch(x.size, per_sm, 1)
        t = np.full((x.size, 41), 9, np.int8)
        WR.encode_rows41(x, t.reshape(-1).view(np.uint64), stride, device=device,
                         threads=threads)
        assert np.array_equal(t, want)


def test_rows_applies_only_to_41_trits_in_whole_words():
    assert WR.rows_applies(8, 41) and WR.rows_applies(4096, 41)
    assert not WR.rows_applies(12, 41) and not WR.rows_applies(8, 42)
    assert not WR.rows_applies(0, 41) and not WR.rows_applies(8, 40)
    assert WR.rows_applies(8 * 52_377_649, 41) and not WR.rows_applies(8 * 52_377_650, 41)
    assert WR.rows_launch(4097) == (5 * WR.ROWS_BLOCK, 5 * WR.ROWS_BLOCK)
    assert WR.rows_launch(10**6, 4, 132) == (528 * WR.ROWS_BLOCK, 528 * WR.ROWS_BLOCK)


@pytest.mark.parametrize("shape", [(8,), (2, 12), (3, 5)])
def test_encode_on_cuda_takes_rows41_where_it_applies(shape, monkeypatch):
    # the dispatch alone (no GPU here): T.encode sends cuda batches of 41 trits and whole
    # words to encode_rows41, whose result has the API's shape; others to encode_rows
    from pxos.lib.ternary import convert

    calls = []

    def fake(x, t, stride, device, threads):
        calls.append((x.size, t.size, stride, device, threads))
        t[:] = 0
    monkeypatch.setattr(convert.WR, "encode_rows41", fake)
    x = np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape) - 3
    if x.size % 8:
        assert T.encode(x, 41, "interp").shape == shape + (41,) and not calls
        return
    assert T.encode(x, 41, "cuda").shape == shape + (41,)
    threads, stride = WR.rows_launch(x.size)
    assert calls == [(x.size, x.size * 41 // 8, stride, "cuda", threads)]


def test_encode_rows41_compiles_for_cuda():
    from pxos.codegen.cuda import render_cuda
    from tests.codegen.test_cuda_codegen import nvrtc

    compile_cubin = nvrtc()
    x, t = np.zeros(8, np.int64), np.zeros(41, np.uint64)
    path, _ = compile_cubin(render_cuda(WR.encode_rows41.ir(x, t, 256, threads=(256,))), "90")
    assert path.read_bytes()[:4] == b"\x7fELF"
