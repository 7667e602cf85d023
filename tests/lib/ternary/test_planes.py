"""pxos.ternary.planes (digit-major batches) against Python ints and NumPy, every backend."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pxos.ternary as T
from pxos.errors import PxArgumentError, PxRuntimeError, PxShapeError
from pxos.lib.ternary import columns as C
from pxos.lib.ternary import planes as P
from pxos.lib.ternary import words as W
from pxos.testing import for_each_backend
from tests.lib.ternary.test_numbers import edges


def values(p) -> list[int]:
    """The independent reference: sum(p[k, i] * 3**k) per column, in Python ints."""
    p = np.asarray(p)
    return [sum(int(d) * 3**k for k, d in enumerate(p[:, i])) for i in range(p.shape[1])]


@for_each_backend(argname="device")
def test_arithmetic_matches_python_ints(device):
    # counts past one CPU chunk (and not a multiple of it), edges, widths that differ
    rng = np.random.default_rng(11)
    e = np.array(edges({"c": 20, "interp": 3}.get(device, 6)), np.int64)
    n = {"c": P.CHUNK + 77, "interp": 8}.get(device, 60)     # interp: Python per thread
    x = np.concatenate([e, rng.integers(-2**40, 2**40, n)])
    y = np.concatenate([np.resize(e[::-1], e.size), rng.integers(-2**20, 2**20, n)])
    a, b = P.encode(x, device=device), P.encode(y, device=device)
    assert a.shape[0] != b.shape[0]
    px, py = x.tolist(), y.tolist()
    s = P.add(a, b, device)
    assert s.shape == (max(a.shape[0], b.shape[0]) + 1, x.size)
    assert values(s) == [u + v for u, v in zip(px, py)]
    assert values(P.sub(a, b, device)) == [u - v for u, v in zip(px, py)]
    m = P.mul(a, b, device)
    assert m.shape == (a.shape[0] + b.shape[0], x.size)
    assert values(m) == [u * v for u, v in zip(px, py)]
    assert P.compare(a, b, device).tolist() == [(u > v) - (u < v) for u, v in zip(px, py)]
    assert P.decode(a, device).tolist() == px
    for got in (s, m):                               # every digit a trit
        assert got.min() >= -1 and got.max() <= 1


@for_each_backend(argname="device")
def test_same_results_as_the_number_kernels(device):
    rng = np.random.default_rng(12)
    x, y = rng.integers(-3**12, 3**12, (2, 500 if device == "c" else 40))
    ta, tb = T.encode(x, 13, device), T.encode(y, 13, device)
    a, b = P.to_planes(ta), P.to_planes(tb)
    assert np.array_equal(P.from_planes(P.add(a, b, device)), T.add(ta, tb, device))
    assert np.array_equal(P.from_planes(P.mul(a, b, device)), T.mul(ta, tb, device))
    assert np.array_equal(P.compare(a, b, device), T.compare(ta, tb, device))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(-(3**60), 3**60), st.integers(-(3**45), 3**45)),
                min_size=1, max_size=8))
def test_wide_numbers(pairs):
    # 60- and 45-trit operands: the product's shorter side is past MUL_TRITS (the
    # one-thread-per-number path), sums and comparisons stay on the planes kernels
    x = np.array([p for p, _ in pairs] + [None], object)[:-1]
    y = np.array([q for _, q in pairs] + [None], object)[:-1]
    a, b = P.to_planes(T.encode(x, 70)), P.to_planes(T.encode(y, 50))
    assert values(P.add(a, b, "c")) == [p + q for p, q in pairs]
    assert values(P.mul(a, b, "c")) == [p * q for p, q in pairs]
    assert P.compare(a, b, "c").tolist() == [(p > q) - (p < q) for p, q in pairs]


def test_decode_checks_int64_and_shapes():
    p = P.to_planes(T.encode(np.array([2**62, -(2**63)], np.int64), 41, "c"))
    assert P.decode(p, "c").tolist() == [2**62, -(2**63)]
    big = P.to_planes(T.encode(np.array([3**41, 5], object), 42))
    with pytest.raises(PxRuntimeError, match="does not fit int64"):
        P.decode(big, "c")
    with pytest.raises(PxShapeError, match="planes do not broadcast"):
        P.add(np.zeros((3, 4), np.int8), np.zeros((3, 5), np.int8), "c")
    with pytest.raises(PxShapeError, match="must be planes"):
        P.add(np.zeros(4, np.int8), np.zeros(4, np.int8), "c")
    bad = np.zeros((3, 4), np.int8)
    bad[2, 1] = 3
    with pytest.raises(PxArgumentError, match=r"b\[2, 1\] = 3 is not a trit"):
        P.mul(np.zeros((3, 4), np.int8), bad, "c")
    assert P.from_planes(P.encode(np.arange(6).reshape(2, 3), 3, "c"), (2, 3)).shape == (2, 3, 3)


@for_each_backend(argname="device")
def test_device_encode_splits_int64_exactly(device):
    # the 41-digit path of columns.encode_columns (three 32-bit parts) on every backend,
    # at the edges of the parts and of int64, against the trits kernels on c
    rng = np.random.default_rng(13)
    edge = [0, 1, -1, 2**63 - 1, -(2**63), 3**19, -(3**19), 3**19 - 1, 3**38, -(3**38),
            3**38 - 1, (3**39 - 1) // 2, -(3**39 - 1) // 2, (3**40 - 1) // 2]
    x = np.concatenate([np.array(edge, np.int64),
                        rng.integers(-2**63, 2**63 - 1, 300, dtype=np.int64)])
    for width in (41, 43):
        t, rest = np.empty((width, x.size), np.int8), np.empty(x.size, np.int64)
        C.encode_columns(x, t, rest, device=device)
        assert np.array_equal(t.T, T.encode(x, width, "c")) and not rest.any()
        back, flags = np.empty(x.size, np.int64), np.empty(x.size, np.int8)
        C.decode_columns(t, back, flags, device=device)
        assert np.array_equal(back, x) and not flags.any()
        # 4 numbers a thread (x.size = 314: the last 2 are left to a shorter view)
        words = np.full((width, x.size // 4 * 4), 9, np.int8)
        threads, stride = W.launch_threads(words.shape[1] // 4)
        W.encode_words(x[:words.shape[1]], words.view(np.uint32), stride, device=device,
                       threads=threads)
        assert np.array_equal(words, t[:, :words.shape[1]])
        back, flags = np.empty(words.shape[1], np.int64), np.full(words.shape[1], 9, np.int8)
        W.decode_words(words.view(np.uint32), back, flags, stride, device=device,
                       threads=threads)
        assert np.array_equal(back, x[:words.shape[1]]) and not flags.any()


@for_each_backend(argname="device")
def test_device_decode_finds_every_overflow(device):
    # just inside and just outside int64, and digits past the 41st, against Python ints
    near = [2**63 - 1, -(2**63), 2**63, -(2**63) - 1, 2**63 + 3**19, -(2**63) - 3**19,
            (3**41 - 1) // 2, -(3**41 - 1) // 2, 3**41, -(3**42), 7 * 3**38, -7 * 3**38,
            -(7935711798 + 1) * 3**19 + 340173325]
    near += [e + d for e in (2**63, -(2**63), 7935711798 * 3**19) for d in range(-4, 5)]
    t = P.to_planes(T.encode(np.array(near + [None], object)[:-1], 44))
    x, flags = np.empty(len(near), np.int64), np.empty(len(near), np.int8)
    C.decode_columns(t, x, flags, device=device)
    fits = [-(2**63) <= v < 2**63 for v in near]
    assert flags.tolist() == [int(not f) for f in fits]
    assert [int(v) for v, f in zip(x, fits) if f] == [v for v, f in zip(near, fits) if f]
    n = len(near) // 4 * 4                                   # 4 numbers a thread
    x, flags = np.empty(n, np.int64), np.full(n, 9, np.int8)
    threads, stride = W.launch_threads(n // 4)
    W.decode_words(np.ascontiguousarray(t[:, :n]).view(np.uint32), x, flags, stride,
                   device=device, threads=threads)
    assert flags.tolist() == [int(not f) for f in fits[:n]]
    assert [int(v) for v, f in zip(x, fits) if f] == [v for v, f in zip(near[:n], fits) if f]


def test_cpu_kernels_are_vectorised_by_gcc():
    # the point of the layout: gcc vectorises each kernel's loop over a chunk of numbers
    from pxos.backends.c import compiler
    from pxos.backends.c_report import vector_report

    if compiler() is None:
        pytest.skip("no C compiler")
    t, x, f = np.zeros((3, 8), np.int8), np.zeros(8, np.int64), np.zeros(8, np.int8)
    cases = [(P.add_planes, (t, t, 1, np.zeros((4, 8), np.int8))),
             (P.mul_planes, (t, t, np.zeros((6, 8), np.int8))),
             (P.compare_planes, (t, t, f)), (P.decode_planes, (t, x, f))]
    for kernel, args in cases:
        reports = vector_report(kernel.ir(*args), compiler())
        if not reports:
            pytest.skip(f"{compiler()} gives no vectorisation report")
        assert any(r.vector_bytes >= 16 for r in reports), (kernel.__name__, reports)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.integers(-2**63, 2**63 - 1), min_size=1, max_size=12))
def test_words_kernels_round_trip_any_int64(xs):
    # 4 numbers a thread, on c, against Python ints (the count padded to a multiple of 4)
    x = np.array(xs + [0] * (-len(xs) % 4), np.int64)
    t = np.full((41, x.size), 9, np.int8)
    threads, stride = W.launch_threads(x.size // 4)
    W.encode_words(x, t.view(np.uint32), stride, device="c", threads=threads)
    assert values(t) == x.tolist() and np.abs(t).max() <= 1
    back, flags = np.empty(x.size, np.int64), np.full(x.size, 9, np.int8)
    W.decode_words(t.view(np.uint32), back, flags, stride, device="c", threads=threads)
    assert back.tolist() == x.tolist() and not flags.any()


@for_each_backend(argname="device")
def test_decode_of_four_numbers_a_thread_checks_int64(device):
    # a count that is a multiple of 4 and 41+ digits take the words kernels on a device:
    # an overflow there is an error too, never a wrapped value
    big = P.to_planes(T.encode(np.array([5, -7, 3**41, 2**62], object), 42))
    with pytest.raises(PxRuntimeError, match=r"number \[2\] = .* does not fit int64"):
        P.decode(big, device)
    fits = P.to_planes(T.encode(np.array([5, -7, -(2**63), 2**62], np.int64), 42, "c"))
    assert P.decode(fits, device).tolist() == [5, -7, -(2**63), 2**62]
