"""Calibration's probe builds (issue 14, "Calibration"): balanced groups, one compiler run
per group, and GPU probes built into the disk cache without loading them."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from pxos import backends
from pxos.backends.base import make_launch
from pxos.backends.c import CBackend
from pxos.ir import nodes as ir
from pxos.planner import probe_source
from pxos.planner.probe_builds import ProbeBuilds, balanced
from pxos.planner.probes import kernels_for, probe_kernels

pytestmark = pytest.mark.skipif("c" not in backends.available(), reason="no C compiler")


def _cost(k) -> int:
    return 4 + sum(1 for _ in ir.walk(k.body))


@pytest.mark.parametrize("count", [1, 2, 3, 5, 8])
def test_balanced_groups_hold_every_probe_once_within_graham_bound(count):
    kernels = list(probe_kernels().values())
    groups = balanced(kernels, count)
    assert sorted(k.name for g in groups for k in g) == sorted(k.name for k in kernels)
    assert len(groups) == min(count, len(kernels))
    # the best split, by brute force over every assignment to `count` groups
    costs = [_cost(k) for k in kernels]
    best = min(max(sum(c for c, g in zip(costs, assign) if g == i) for i in range(count))
               for assign in itertools.product(range(count), repeat=len(kernels)))
    worst = max(sum(_cost(k) for k in g) for g in groups)
    assert worst <= best * (4 / 3 - 1 / (3 * count)) + 1e-9  # Graham 1969, LPT


def test_builds_leave_every_probe_cached_and_runnable(tmp_path, monkeypatch):
    monkeypatch.setenv("PXOS_CACHE_DIR", str(tmp_path))
    c = CBackend()
    kernels = kernels_for(c)
    # probe_vector is probe_ops's code on c (interchanged loops): not built
    assert sorted(k.name for k in kernels) == sorted(set(probe_kernels()) - {"probe_vector"})
    early = probe_source.start()  # the shipped unit, compiled before the builds start
    built = ProbeBuilds(2, early).start({"c": c}).wait()
    assert built["c"] > 0 and early.seconds is not None  # its library was the one used
    assert all(c.is_cached(k) for k in kernels)
    fresh = CBackend()  # another process's view: from the disk cache
    assert all(fresh.compile(k).cache_hit for k in kernels)
    stream = probe_kernels()["probe_stream"]
    x, y = np.arange(64, dtype=np.float32), np.ones(64, np.float32)
    fresh.launch(fresh.compile(stream), [np.float32(3), x, y], make_launch(stream, (64,)))
    np.testing.assert_array_equal(y, 3 * np.arange(64, dtype=np.float32) + 1)
    again = probe_source.start()  # calibrating again: all cached, its compiler stopped
    assert ProbeBuilds(2, again).start({"c": CBackend()}).wait() == {}
    assert again.over


def test_prebuild_stores_without_loading(tmp_path, monkeypatch):
    monkeypatch.setenv("PXOS_CACHE_DIR", str(tmp_path))
    c = CBackend()
    k = probe_kernels()["probe_atomic"]
    loaded = []
    monkeypatch.setattr(c, "load", lambda *a: loaded.append(a))
    assert c.prebuild(k) and not loaded and c.is_cached(k)
    assert not c.prebuild(k)  # cached: nothing to do
    fresh = CBackend()
    compiled = fresh.compile(k)
    assert compiled.cache_hit
    hist = np.zeros(256, np.uint32)
    fresh.launch(compiled, [np.int32(1000), hist], make_launch(k, (1000,)))
    i = np.arange(1000)
    np.testing.assert_array_equal(hist, np.bincount(((i * 97) ^ (i >> 5)) & 255,
                                                    minlength=256))


@pytest.mark.parametrize("times, best, launches", [
    ([0.0050], 0.0050, 1),                       # idle: the next launch agrees
    ([0.0060], 0.0050, 1),                       # slower: the first was undisturbed
    ([0.0040, 0.0039], 0.0039, 2),               # a disturbed first launch: once more
    ([0.0085, 0.007, 0.006, 0.005, 0.001], 0.005, 4),  # at most 5 launches in all
])
def test_the_last_size_is_timed_until_a_launch_no_longer_gains(monkeypatch, times, best,
                                                              launches):
    from pxos.planner import probes

    given = iter(times)
    calls = []
    monkeypatch.setattr(probes, "best_time", lambda run, repeats, warm: calls.append(
        (repeats, warm)) or next(given))
    assert probes._settled(lambda: None, 0.005 if len(times) == 1 else 0.010) == \
        pytest.approx(min(best, 0.005 if len(times) == 1 else 0.010))
    assert calls == [(1, False)] * launches
