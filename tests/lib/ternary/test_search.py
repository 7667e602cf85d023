"""pxos.ternary.search against NumPy's searchsorted and argmax, with comparison counts."""

from __future__ import annotations

import math

import numpy as np
import pytest

import pxos.ternary as T
from pxos.errors import PxArgumentError, PxTypeError
from pxos.testing import for_each_backend


@for_each_backend(argname="device")
@pytest.mark.parametrize("dtype", [np.int64, np.float32])
def test_searchsorted_equals_numpy(device, dtype):
    rng = np.random.default_rng(4)
    n = 1000
    a = np.sort(rng.integers(0, 300, n)).astype(dtype)        # with repeats
    q = rng.integers(-5, 305, 300 if device != "interp" else 40).astype(dtype)
    q[:3] = [a[0], a[-1], a[n // 2]]
    for method in ("ternary", "binary"):
        got, comps = T.search.searchsorted(a, q, method, True, device)
        assert got.tolist() == np.searchsorted(a, q).tolist()
        bound = (2 * math.ceil(math.log(n + 1, 3)) if method == "ternary"
                 else math.ceil(math.log2(n + 1)))
        assert comps.max() <= bound


def test_ternary_search_compares_more_than_binary():
    rng = np.random.default_rng(5)
    a = np.arange(3**10, dtype=np.int64)
    q = rng.integers(0, 3**10, 4000)
    _, ct = T.search.searchsorted(a, q, "ternary", True, "c")
    _, cb = T.search.searchsorted(a, q, "binary", True, "c")
    assert cb.mean() < ct.mean() < 1.3 * cb.mean()
    assert abs(ct.mean() - 5 / 3 * 10) < 0.6      # 5/3 comparisons per ternary level


@for_each_backend(argname="device")
def test_unimodal_peaks(device):
    rng = np.random.default_rng(6)
    rows, n = (20 if device == "interp" else 500), 777
    peaks = rng.integers(0, n, rows)
    peaks[:2] = [0, n - 1]                                    # monotone rows
    x = np.arange(n)
    f = -np.abs(x[None, :] - peaks[:, None]) * rng.uniform(0.5, 2, (rows, 1))
    for method in ("ternary", "binary"):
        got, comps = T.search.argmax_unimodal(f, method, True, device)
        assert got.tolist() == np.argmax(f, axis=1).tolist() == peaks.tolist()
    assert T.search.argmin_unimodal(-f, device=device).tolist() == peaks.tolist()
    assert T.search.argmax_unimodal(np.ones((2, 1)), device=device).tolist() == [0, 0]


def test_errors():
    with pytest.raises(PxArgumentError, match="method"):
        T.search.searchsorted(np.arange(3), np.arange(2), "quaternary")
    with pytest.raises(PxTypeError, match="1-D"):
        T.search.searchsorted(np.ones((2, 2)), np.arange(2))
    with pytest.raises(PxArgumentError, match="non-empty"):
        T.search.searchsorted(np.array([], np.int64), np.arange(2))
