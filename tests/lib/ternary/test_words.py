"""pxos.lib.ternary.words: the device conversion kernels (4 numbers a thread) against
Python ints and the trits kernels, on every backend, under both launch shapes (a thread a
word, and a grid-stride loop); their fixed-point constants checked exhaustively."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pxos.ternary as T
from pxos.lib.ternary import words as W
from pxos.lib.ternary import words_wide as WW
from pxos.testing import for_each_backend

ENCODERS = [W.encode_words]
DECODERS = [W.decode_words]
EDGES = [0, 1, -1, 2**63 - 1, -(2**63), -(2**63) + 1, 2**63 - 2, 3**19, -(3**19), 3**19 - 1,
         3**8, 3**8 - 1, 3**16, -(3**16), 3**27, 3**35 - 1, 3**38, -(3**38), 3**38 - 1,
         (3**39 - 1) // 2, -(3**39 - 1) // 2, (3**40 - 1) // 2, -(3**40 - 1) // 2]


def values(t: np.ndarray) -> list[int]:
    """Python ints of int8 planes (width, n): the reference, written here."""
    weights = [3**k for k in range(t.shape[0])]
    return [sum(int(d) * w for d, w in zip(col, weights)) for col in t.T]


def numbers(count: int, seed: int) -> np.ndarray:
    """The edges (and ±(3^k ± 1)/2 for every k that fits), then random int64, ``count``
    in all (a multiple of 4)."""
    edge = set(EDGES)
    for k in range(1, 41):
        for v in ((3**k - 1) // 2, (3**k + 1) // 2):
            edge |= {v, -v} if v < 2**63 else set()
    edge = sorted(edge)
    rng = np.random.default_rng(seed)
    rest = rng.integers(-2**63, 2**63 - 1, count - len(edge), dtype=np.int64)
    return np.concatenate([np.array(edge, np.int64), rest])


def launches(words: int) -> list[tuple[int, int]]:
    """A thread a word, and a grid of one block whose threads loop (stride < words)."""
    return [W.launch_threads(words), W.launch_threads(words, 1, 1)]


@for_each_backend(argname="device")
@pytest.mark.parametrize("encoder", ENCODERS, ids=lambda k: k.__name__)
def test_encoders_equal_the_trits_kernels(device, encoder):
    x = numbers(2 * W.WORDS_BLOCK * 4 + 8, 5)       # more words than one block's threads
    want = T.encode(x, 43, "c").T
    for threads, stride in launches(x.size // 4):
        t = np.full((43, x.size), 9, np.int8)       # rows past 41 must be written 0
        encoder(x, t.view(np.uint32), stride, device=device, threads=threads)
        assert np.array_equal(t, want)
    assert values(want[:, :64]) == x[:64].tolist()


# planes.encode takes encode_wide on cuda only; c checks its arithmetic there too (opencl
# and webgpu gave the same trits when tried; left out for CI time: each build takes seconds)
@for_each_backend(argname="device", exclude=("interp", "opencl", "webgpu"))
def test_encode_wide_equals_the_trits_kernels(device):
    x = numbers(2 * W.WORDS_BLOCK * WW.WIDE + 16, 7)   # more words than one block's threads
    want = T.encode(x, 42, "c").T
    for threads, stride in launches(x.size // WW.WIDE):
        t = np.full((42, x.size), 9, np.int8)       # the row past 41 must be written 0
        WW.encode_wide(x, t.view(np.uint64), stride, device=device, threads=threads)
        assert np.array_equal(t, want)
    assert values(want[:, -64:]) == x[-64:].tolist()


@for_each_backend(argname="device")
@pytest.mark.parametrize("decoder", DECODERS, ids=lambda k: k.__name__)
def test_decoders_round_trip(device, decoder):
    x = numbers(2 * W.WORDS_BLOCK * 4 + 8, 6)
    t = np.ascontiguousarray(T.encode(x, 42, "c").T)
    for threads, stride in launches(x.size // 4):
        back, flags = np.empty(x.size, np.int64), np.full(x.size, 9, np.int8)
        decoder(t.view(np.uint32), back, flags, stride, device=device, threads=threads)
        assert np.array_equal(back, x) and not flags.any()


@for_each_backend(argname="device")
@pytest.mark.parametrize("decoder", DECODERS, ids=lambda k: k.__name__)
def test_decoders_find_every_overflow(device, decoder):
    # just inside and just outside int64, and digits past the 41st, against Python ints
    near = [2**63 - 1, -(2**63), 2**63, -(2**63) - 1, 2**63 + 3**19, -(2**63) - 3**19,
            (3**41 - 1) // 2, -(3**41 - 1) // 2, 3**41, -(3**42), 7 * 3**38, -7 * 3**38,
            -(7935711798 + 1) * 3**19 + 340173325]
    near += [e + d for e in (2**63, -(2**63), 7935711798 * 3**19) for d in range(-4, 5)]
    near = near[:len(near) // 4 * 4]
    t = np.ascontiguousarray(T.encode(np.array(near + [None], object)[:-1], 44).T)
    threads, stride = W.launch_threads(len(near) // 4)
    x, flags = np.empty(len(near), np.int64), np.full(len(near), 9, np.int8)
    decoder(t.view(np.uint32), x, flags, stride, device=device, threads=threads)
    fits = [-(2**63) <= v < 2**63 for v in near]
    assert flags.tolist() == [int(not f) for f in fits]
    assert [int(v) for v, f in zip(x, fits) if f] == [v for v, f in zip(near, fits) if f]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(-2**63, 2**63 - 1), min_size=1, max_size=12))
def test_round_trip_any_int64(xs):
    x = np.array(xs + [0] * (-len(xs) % 4), np.int64)
    threads, stride = W.launch_threads(x.size // 4)
    for encoder in ENCODERS:
        t = np.full((41, x.size), 9, np.int8)
        encoder(x, t.view(np.uint32), stride, device="c", threads=threads)
        assert values(t) == x.tolist() and np.abs(t).max() <= 1
        for decoder in DECODERS:
            back, flags = np.empty(x.size, np.int64), np.full(x.size, 9, np.int8)
            decoder(t.view(np.uint32), back, flags, stride, device="c", threads=threads)
            assert back.tolist() == x.tolist() and not flags.any()


@pytest.mark.parametrize("count,make", [
    (8, lambda p: ((p * W.M8) >> 13) + 1), (3, lambda p: p * W.M3),
    (6, lambda p: ((p * W.M6) >> 5) + 1)])
def test_lane_fractions_give_every_part_exactly(count, make):
    # every part of encode_words' 14-bit fractions, exhaustively, and no lane overflow
    parts = np.arange(3**count, dtype=np.int64)
    f = make(parts)
    assert f.max() < 2**14
    got = np.zeros_like(parts)
    for _ in range(count):
        f = f * 3
        got = got * 3 + (f >> 14)
        f &= 2**14 - 1
    assert np.array_equal(got, parts)


@pytest.mark.parametrize("kernel", ENCODERS + DECODERS + [WW.encode_wide],
                         ids=lambda k: k.__name__)
def test_kernels_compile_for_cuda(kernel):
    from pxos.codegen.cuda import render_cuda
    from tests.codegen.test_cuda_codegen import nvrtc

    compile_cubin = nvrtc()
    x, t, f = np.zeros(8, np.int64), np.zeros((41, 2), np.uint32), np.zeros(8, np.int8)
    args = ((x, t, 256) if kernel in ENCODERS else (x, t.view(np.uint64), 256)
            if kernel is WW.encode_wide else (t, x, f, 256))
    path, _ = compile_cubin(render_cuda(kernel.ir(*args, threads=(256,))), "90")
    assert path.read_bytes()[:4] == b"\x7fELF"
