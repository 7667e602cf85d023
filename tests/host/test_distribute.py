"""devices=: one launch split across several devices along its outer axis, tested with
logical devices (several indices of one CPU backend, and different backends at once):
the result equals NumPy's for elementwise kernels, stencils and reductions."""

from __future__ import annotations

import numpy as np
import pytest

import pxos
from pxos.errors import PxArgumentError
from pxos.planner.distribute import Piece, choose_split, split_rows
from tests.conftest import BACKENDS
from tests.lib.dask import kernels as K

RNG = np.random.default_rng(16)
LOGICAL = [["c:0", "c:1"], ["c:0", "c:1", "c:2", "c:3"], ["c", "interp", "c:1"]]
if "opencl" in BACKENDS:
    LOGICAL.append(["opencl:0", "c:0", "opencl:1"])


def test_rows_are_cut_in_proportion_with_halos_clipped_to_the_array():
    assert split_rows(10, ["a", "b"], 1) == (Piece("a", 0, 5, 0, 6), Piece("b", 5, 10, 4, 10))
    pieces = split_rows(100, ["a", "b", "c"], 2, [1.0, 3.0, 0.0])
    assert [(p.device, p.start, p.stop) for p in pieces] == [("a", 0, 25), ("b", 25, 100)]
    assert (pieces[1].lo, pieces[1].hi) == (23, 100)
    assert [p.stop - p.start for p in split_rows(3, ["a", "b", "c", "d"], 0)] == [1, 1, 1]


def test_auto_keeps_the_count_whose_slowest_piece_ends_first():
    speed = {"fast": 1.0, "slow": 4.0, "slower": 40.0}  # seconds per 1000 rows
    launch = 1e-3  # and a fixed cost per piece

    def predict(device, rows):
        return launch + speed[device] * rows / 1000

    plan = choose_split(1000, ["slower", "slow", "fast"], 1, predict)
    assert [p.device for p in plan.pieces] == ["fast", "slow"]  # the slower one does not pay
    assert plan.pieces[0].stop == 800  # shares in proportion to speed: 4 : 1
    assert min(plan.predicted, key=plan.predicted.get) == 2
    assert "2 of 3 devices" in plan.reason


@pytest.mark.parametrize("devices", LOGICAL, ids=lambda d: "+".join(d))
def test_a_stencil_split_across_logical_devices_equals_numpy(devices):
    a = RNG.random((61, 37), dtype=np.float32)
    b = np.empty_like(a)
    K.diffuse(a, b, 0.2, devices=devices)
    ref = a.copy()
    ref[1:-1, 1:-1] = a[1:-1, 1:-1] + np.float32(0.2) * (
        a[:-2, 1:-1] + a[2:, 1:-1] + a[1:-1, :-2] + a[1:-1, 2:] - 4 * a[1:-1, 1:-1])
    np.testing.assert_allclose(b, ref, rtol=1e-6, atol=1e-6)
    assert [p.device for p in K.diffuse.distribution.pieces] == devices


@pytest.mark.parametrize("devices", LOGICAL[:3], ids=lambda d: "+".join(d))
def test_elementwise_clamped_stencil_and_reductions_split(devices):
    x, y = RNG.random(1001, dtype=np.float32), RNG.random(1001, dtype=np.float32)
    out = np.empty_like(x)
    K.saxpy(1.5, x, y, out, devices=devices)
    np.testing.assert_allclose(out, np.float32(1.5) * x + y, rtol=1e-6)
    K.box5(x, out, devices=devices)
    idx = np.clip(np.arange(1001)[:, None] + np.arange(-2, 3), 0, 1000)
    np.testing.assert_allclose(out, x[idx].mean(axis=1), rtol=1e-5)
    img = RNG.integers(0, 256, (40, 30, 3), dtype=np.uint8)
    hist = np.full(256, 3, np.uint32)  # one launch adds to what is there: so does a split
    K.histogram(img, hist, devices=devices)
    wide = img.astype(np.uint32)
    luma = (77 * wide[..., 0] + 150 * wide[..., 1] + 29 * wide[..., 2]) >> 8
    np.testing.assert_array_equal(hist, 3 + np.bincount(luma.ravel(), minlength=256))
    v = RNG.integers(-999, 999, 500).astype(np.int32)
    low, high = np.array([0], np.int32), np.array([0], np.int32)
    K.extremes(v, low, high, devices=devices)
    assert (low[0], high[0]) == (min(v.min(), 0), max(v.max(), 0))


def test_auto_on_this_machine_runs_and_says_why():
    a = RNG.random((40, 40), dtype=np.float32)
    b = np.empty_like(a)
    K.diffuse(a, b, 0.1, devices="auto")
    plan = K.diffuse.distribution
    assert plan.pieces[0].start == 0 and plan.pieces[-1].stop == 40
    assert "devices: the slowest piece is predicted" in plan.reason


def test_what_cannot_be_split_is_refused():
    x = np.zeros(10, np.float32)
    with pytest.raises(PxArgumentError, match="thread index 'i' as a value"):
        K.ramp(x, devices=["c:0", "c:1"])
    with pytest.raises(PxArgumentError, match="cannot be split"):
        K.shifted(x, 2, x.copy(), devices=["c:0", "c:1"])
    with pytest.raises(pxos.PxError, match="no_such"):
        K.fill(x, 1.0, devices=["no_such:0"])
