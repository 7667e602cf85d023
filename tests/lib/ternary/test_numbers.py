"""pxos.ternary numbers against Python ints: conversion, arithmetic, strings, packing."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pxos.ternary as T
from pxos.errors import PxArgumentError, PxRuntimeError, PxTypeError
from pxos.testing import for_each_backend

INT64 = st.integers(-2**63, 2**63 - 1)
BIG = st.integers(-(3**200 - 1) // 2, (3**200 - 1) // 2)   # 200-trit numbers


def edges(kmax: int = 40) -> list[int]:
    """0, ±1 and ±(3^k ± 1)/2: where a number gains a trit."""
    out = {0, 1, -1}
    for k in range(1, kmax + 1):
        for v in ((3**k - 1) // 2, (3**k + 1) // 2):
            out |= {v, -v}
    return sorted(out)


def value(t) -> list[int]:
    """The independent reference: sum(t[k] * 3**k) in Python ints, per row."""
    t = np.asarray(t).reshape(-1, np.asarray(t).shape[-1])
    return [sum(int(d) * 3**k for k, d in enumerate(row)) for row in t]


def random_ints(rng, n: int, bits: int) -> np.ndarray:
    return np.array([int(v) for v in rng.integers(-2**bits, 2**bits, n)], np.int64)


@for_each_backend(argname="device")
def test_encode_decode_edges(device):
    x = np.array([v for v in edges(39)] + [2**63 - 1, -2**63], np.int64)
    t = T.encode(x, device=device)
    assert t.dtype == np.int8 and t.shape == (len(x), 41)
    assert value(t) == x.tolist()
    assert T.decode(t, device=device).tolist() == x.tolist()


@for_each_backend(argname="device")
def test_arithmetic_matches_python_ints(device):
    rng = np.random.default_rng(1)
    n = 40 if device == "interp" else 3000
    x = np.concatenate([random_ints(rng, n, 40), np.array(edges(25), np.int64)])
    y = np.concatenate([random_ints(rng, n, 25), np.array(edges(25)[::-1], np.int64)])
    a, b = T.encode(x, device=device), T.encode(y, 30, device)
    xs, ys = x.tolist(), y.tolist()
    assert value(T.add(a, b, device)) == [p + q for p, q in zip(xs, ys)]
    assert value(T.sub(a, b, device)) == [p - q for p, q in zip(xs, ys)]
    assert value(T.mul(a, b, device)) == [p * q for p, q in zip(xs, ys)]
    assert T.compare(a, b, device).tolist() == [(p > q) - (p < q) for p, q in zip(xs, ys)]
    assert T.sign(a, device).tolist() == [(p > 0) - (p < 0) for p in xs]
    assert value(T.neg(a, device)) == [-p for p in xs]
    assert value(T.abs(a, device)) == [builtin_abs(p) for p in xs]
    nz = y != 0
    q, r = T.divmod(a[nz], b[nz], device)
    assert list(zip(value(q), value(r))) == [divmod(p, w) for p, w in zip(x[nz].tolist(),
                                                                          y[nz].tolist())]


builtin_abs = abs


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(BIG, BIG), min_size=1, max_size=6))
def test_200_trit_numbers(pairs):
    xs = [p for p, _ in pairs]
    ys = [q if q else 1 for _, q in pairs]
    a = T.encode(np.array(xs, object), 200)
    b = T.encode(np.array(ys, object), 200)
    assert T.to_ints(a).tolist() == xs
    assert T.to_ints(T.add(a, b, "c")).tolist() == [p + q for p, q in zip(xs, ys)]
    assert T.to_ints(T.sub(a, b, "c")).tolist() == [p - q for p, q in zip(xs, ys)]
    assert T.to_ints(T.mul(a, b, "c")).tolist() == [p * q for p, q in zip(xs, ys)]
    assert T.compare(a, b, "c").tolist() == [(p > q) - (p < q) for p, q in zip(xs, ys)]
    q, r = T.divmod(a, b, "c")
    assert list(zip(T.to_ints(q), T.to_ints(r))) == [divmod(p, w) for p, w in zip(xs, ys)]


@settings(max_examples=200, deadline=None)
@given(INT64, st.integers(0, 45))
def test_python_int_round_trip_and_shifts(n, k):
    t = T.encode(n)
    assert T.decode(t) == n and value(t) == [n]
    assert T.to_int(T.shift_left(t, k)) == n * 3**k
    # balanced rounding: the nearest integer to n / 3**k (never a tie: 3**k is odd)
    assert T.to_int(T.shift_right(t, k)) == (2 * n + 3**k) // (2 * 3**k)
    assert T.to_int(T.from_str(T.to_str(t))) == n


def test_strings():
    assert T.to_str(T.encode(6)) == "1T0" and T.decode(T.from_str("1T0")) == 6
    assert T.to_str(T.encode(0)) == "0" and T.to_str(T.encode(-4)) == "TT"
    assert T.to_str(T.encode(np.array([[1, -1], [2, 3**30]]))).tolist() == [
        ["1", "T"], ["1T", "1" + "0" * 30]]
    with pytest.raises(PxArgumentError, match="character 3 of '1T2' is '2'"):
        T.from_str("1T2")
    with pytest.raises(PxArgumentError, match="empty"):
        T.from_str("")


def test_errors_name_the_position():
    with pytest.raises(PxArgumentError, match=r"t\[1, 2\] = 2 is not a trit"):
        T.decode(np.array([[0, 1, 0], [1, 0, 2]], np.int8))
    with pytest.raises(PxArgumentError, match=r"x\[1\] = 14 does not fit in 3 trits"):
        T.encode(np.array([13, 14]), 3)
    with pytest.raises(PxRuntimeError, match=r"number \[1\] = .* does not fit int64"):
        T.decode(T.encode(np.array([5, 2**64], object)))
    with pytest.raises(PxRuntimeError, match=r"division by zero: b\[2\]"):
        T.divmod(T.encode(np.arange(3)), T.encode(np.array([1, 2, 0])))
    with pytest.raises(PxTypeError):
        T.encode(np.ones(3))
    assert T.decode(T.encode(2**64)) == 2**64          # one number: a Python int


@for_each_backend(argname="device")
def test_int64_overflow_is_an_error_not_a_wrap(device):
    limit = np.array([2**63 - 1, -2**63], np.int64)
    wide = T.encode(limit, 45, device)
    assert T.decode(wide, device=device).tolist() == limit.tolist()
    over = T.add(wide, T.encode(np.array([1, -1]), 45, device), device)
    with pytest.raises(PxRuntimeError, match=r"number \[0\] = 9223372036854775808"):
        T.decode(over, device=device)
    with pytest.raises(PxRuntimeError, match=r"number \[0\] = -9223372036854775809"):
        T.decode(over[::-1].copy(), device=device)


@for_each_backend(argname="device")
def test_pack_five_trits_per_byte(device):
    rng = np.random.default_rng(2)
    t = rng.integers(-1, 2, (7, 23)).astype(np.int8)
    p = T.pack(t, device)
    assert p.dtype == np.uint8 and p.shape == (7, 5)
    expect = [[sum((int(t[i, 5 * j + m]) + 1) * 3**m for m in range(5) if 5 * j + m < 23)
               + sum(3**m for m in range(5) if 5 * j + m >= 23) for j in range(5)]
              for i in range(7)]
    assert p.tolist() == expect
    assert np.array_equal(T.unpack(p, 23, device), t)
    with pytest.raises(PxArgumentError, match=r"p\[0, 0\] = 250"):
        T.unpack(np.full((1, 5), 250, np.uint8), 23)


def test_broadcast_and_fit():
    a = T.encode(np.array([[1, 2, 3]]))
    b = T.encode(np.array([[10], [20]]))
    assert T.decode(T.add(a, b)).tolist() == [[11, 12, 13], [21, 22, 23]]
    assert T.fit(T.encode(np.array([4, -1]), 10)).shape == (2, 2)
