"""pxos.lib.ternary.words_rows: encode_rows41 and decode_rows41 (int64 to and from the
API's (n, 41) trits through a shared-memory transpose) against Python ints and the
one-number-a-thread kernels, in both launch shapes, and the dispatch of T.encode and
T.decode on cuda."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pxos.ternary as T
from pxos.errors import PxRuntimeError
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


# interp runs one partial tile (the edges); opencl and webgpu are left out for CI time (a
# build takes seconds each; planes.encode, not T.encode, is what runs there)
@for_each_backend(argname="device", exclude=("opencl", "webgpu"))
def test_encode_rows41_equals_python_ints(device):
    count = 184 if device == "interp" else 2 * WR.GROUP * WR.ROWS_BLOCK + 184   # partial tiles
    x = numbers(count, 11)
    want = T.encode(x, 41, "c")
    assert want[:40].tolist() == [python_trits(int(v)) for v in x[:40]]
    for per_sm in (0, 1)[device == "interp":]:    # a block a tile; one block looping
        threads, stride = WR.rows_launch(x.size, per_sm, 1)
        t = np.full((x.size, 41), 9, np.int8)
        WR.encode_rows41(x, t.reshape(-1).view(np.uint64), stride, device=device,
                         threads=threads)
        assert np.array_equal(t, want)


@for_each_backend(argname="device", exclude=("opencl", "webgpu"))
def test_decode_rows41_round_trips_and_flags_overflow(device):
    count = 184 if device == "interp" else 2 * WR.GROUP * WR.DECODE_BLOCK + 184
    x = numbers(count, 12)
    t = T.encode(x, 41, "c")
    for per_sm in (0, 1)[device == "interp":]:
        threads, stride = WR.rows_launch(x.size, per_sm, 1, WR.DECODE_BLOCK)
        back, flags = np.full(x.size, 7, np.int64), np.full(x.size, 9, np.int8)
        WR.decode_rows41(t.reshape(-1).view(np.uint64), back, flags, stride, device=device,
                         threads=threads)
        assert np.array_equal(back, x) and not flags.any()
    # just inside and just outside int64 (41 trits reach (3**41 - 1) / 2), against Python
    near = [2**63 - 1, -(2**63), 2**63, -(2**63) - 1, 2**63 + 3**19, -(2**63) - 3**19,
            (3**41 - 1) // 2, -(3**41 - 1) // 2, 7 * 3**38, -7 * 3**38,
            -(WR.Q19 + 1) * 3**19 + WR.LOW19]
    near += [e + d for e in (2**63, -(2**63), WR.Q19 * 3**19) for d in range(-4, 5)]
    near = near[:len(near) // 8 * 8]
    t = np.ascontiguousarray(T.encode(np.array(near + [None], object)[:-1], 41))
    threads, stride = WR.rows_launch(len(near), block=WR.DECODE_BLOCK)
    back, flags = np.empty(len(near), np.int64), np.full(len(near), 9, np.int8)
    WR.decode_rows41(t.reshape(-1).view(np.uint64), back, flags, stride, device=device,
                     threads=threads)
    fits = [-(2**63) <= v < 2**63 for v in near]
    assert flags.tolist() == [int(not f) for f in fits]
    assert [int(v) for v, f in zip(back, fits) if f] == [v for v, f in zip(near, fits) if f]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(-2**63, 2**63 - 1), min_size=1, max_size=20))
def test_rows41_round_trip_any_int64(xs):
    x = np.array(xs + [0] * (-len(xs) % 8), np.int64)
    threads, stride = WR.rows_launch(x.size)
    t = np.full((x.size, 41), 9, np.int8)
    WR.encode_rows41(x, t.reshape(-1).view(np.uint64), stride, device="c", threads=threads)
    assert t.tolist() == [python_trits(v) for v in x.tolist()]
    back, flags = np.empty(x.size, np.int64), np.full(x.size, 9, np.int8)
    threads, stride = WR.rows_launch(x.size, block=WR.DECODE_BLOCK)
    WR.decode_rows41(t.reshape(-1).view(np.uint64), back, flags, stride, device="c",
                     threads=threads)
    assert back.tolist() == x.tolist() and not flags.any()


def test_rows_applies_only_to_41_trits_in_whole_words():
    assert WR.rows_applies(8, 41) and WR.rows_applies(4096, 41)
    assert not WR.rows_applies(12, 41) and not WR.rows_applies(8, 42)
    assert not WR.rows_applies(0, 41) and not WR.rows_applies(8, 40)
    assert WR.rows_applies(8 * 52_377_649, 41) and not WR.rows_applies(8 * 52_377_650, 41)
    blocks = -(-4097 // (4 * WR.ROWS_BLOCK))
    assert WR.rows_launch(4097) == (blocks * WR.ROWS_BLOCK, blocks * WR.ROWS_BLOCK)
    assert WR.rows_launch(10**6, 4, 132) == (528 * WR.ROWS_BLOCK, 528 * WR.ROWS_BLOCK)


@pytest.mark.parametrize("shape", [(8,), (2, 12), (3, 5)])
def test_cuda_takes_the_rows41_kernels_where_they_apply(shape, monkeypatch):
    # the dispatch alone (no GPU here): T.encode and T.decode send cuda batches of 41
    # trits and whole words to encode_rows41 / decode_rows41 (stood in for by the same
    # kernels on interp), with the API's shapes; others to the one-number kernels
    calls = []

    def on_interp(kernel):
        def run(*args, stride, device, threads):
            calls.append((kernel.__name__, args[0].size, stride, device, threads))
            kernel(*args, stride, device="interp", threads=threads)
        return lambda *args, device, threads: run(*args[:-1], stride=args[-1],
                                                   device=device, threads=threads)
    monkeypatch.setattr(WR, "encode_rows41", on_interp(WR.encode_rows41))
    monkeypatch.setattr(WR, "decode_rows41", on_interp(WR.decode_rows41))
    x = np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape) * 3**30 - 3
    if x.size % 8:
        t = T.encode(x, 41, "interp")
        assert t.shape == shape + (41,) and (T.decode(t, "interp") == x).all() and not calls
        return
    t = T.encode(x, 41, "cuda")
    assert t.shape == shape + (41,) and np.array_equal(t, T.encode(x, 41, "interp"))
    assert (T.decode(t, "cuda") == x).all()
    threads, stride = WR.rows_launch(x.size)
    d_threads, d_stride = WR.rows_launch(x.size, block=WR.DECODE_BLOCK)
    assert calls == [("encode_rows41", x.size, stride, "cuda", threads),
                     ("decode_rows41", x.size * 41 // 8, d_stride, "cuda", d_threads)]
    big = t.copy()
    big[0] = 1                                     # (3**41 - 1) / 2: past int64
    with pytest.raises(PxRuntimeError, match=r"number \[0(, 0)?\] .* does not fit int64"):
        T.decode(big, "cuda")


def test_rows41_kernels_compile_for_cuda():
    from pxos.codegen.cuda import render_cuda
    from tests.codegen.test_cuda_codegen import nvrtc

    compile_cubin = nvrtc()
    x, t, f = np.zeros(8, np.int64), np.zeros(41, np.uint64), np.zeros(8, np.int8)
    for kernel, args, block in ((WR.encode_rows41, (x, t, 256), WR.ROWS_BLOCK),
                                (WR.decode_rows41, (t, x, f, 256), WR.DECODE_BLOCK)):
        path, _ = compile_cubin(render_cuda(kernel.ir(*args, threads=(block,))), "90")
        assert path.read_bytes()[:4] == b"\x7fELF"
