"""Kernel times per launch (``Backend.launch_timed``) on every backend present, and the one
build-and-cache path (``Backend.compile``, ``Backend.is_cached``) every backend shares."""

from __future__ import annotations

import time

import numpy as np
import pytest

from pxos import backends, registry
from pxos.backends.base import Backend, make_launch
from pxos.errors import PxBoundsError
from pxos.ir.check_host import check_program
from pxos.lang.px.parser import parse_program

SPIN = """\
GPU_KERNEL spin
    GPU_PARAM n int
    GPU_PARAM x float[]
GPU_THREAD_CODE:
    THREAD_ID → i
    SET v = x[i]
    FOR k IN 0..n:
        SET v = v * 0.999 + 1.0
    STORE v → x[i]
GPU_END
"""
OOB = """\
GPU_KERNEL oob
    GPU_PARAM k int
    GPU_PARAM x float[]
GPU_THREAD_CODE:
    THREAD_ID → i
    STORE 1.0 → x[i + k]
GPU_END
"""


def kernel(src: str, name: str = "t.px"):
    return check_program(parse_program(src, name)).kernels[0]


def expected(x: np.ndarray, n: int) -> np.ndarray:
    v = x.astype(np.float32)
    for _ in range(n):
        v = v * np.float32(0.999) + np.float32(1.0)
    return v


def to_backend(b, host: np.ndarray):
    return host.copy() if b.memory == "host" else b.to_device(host)


def to_numpy(b, a) -> np.ndarray:
    if b.memory == "host":
        return a
    out = np.empty(a.shape, a.dtype)
    b.to_host(a, out)
    return out


def test_every_registered_backend_is_built_through_the_base(backend):
    assert isinstance(backends.get(backend), Backend)
    assert backends.get(backend).memory == registry.memory_of(backend)


def test_launch_timed_returns_the_kernel_time_and_runs_it(backend):
    b = backends.get(backend)
    k = kernel(SPIN)
    compiled = b.compile(k)
    n, iterations = 2048, 1000 if backend == registry.interpreter() else 20000
    host = np.random.default_rng(1).random(n, dtype=np.float32)
    x = to_backend(b, host)
    # a first launch may finish the driver's build (lavapipe compiles at first dispatch)
    b.launch(compiled, [np.int32(1), to_backend(b, host)], make_launch(k, (n,)))
    b.synchronize()
    wall = time.perf_counter()
    seconds = b.launch_timed(compiled, [np.int32(iterations), x], make_launch(k, (n,)))
    wall = time.perf_counter() - wall
    # the kernel's own time: within the wall time around the call, and most of it for a
    # kernel this long (both windows stretch alike when a busy machine pauses the run)
    assert isinstance(seconds, float) and 0.3 * wall < seconds <= wall
    np.testing.assert_allclose(to_numpy(b, x), expected(host, iterations), rtol=1e-4)


def test_launch_timed_of_an_empty_launch_is_zero_or_tiny(backend):
    b = backends.get(backend)
    k = kernel(SPIN)
    x = to_backend(b, np.zeros(4, np.float32))
    assert 0 <= b.launch_timed(b.compile(k), [np.int32(1), x], make_launch(k, (0,))) < 0.05


def test_a_checked_timed_launch_still_reports_the_violation(backend):
    b = backends.get(backend)
    k = kernel(OOB)
    x = to_backend(b, np.zeros(8, np.float32))
    with pytest.raises(PxBoundsError):
        b.launch_timed(b.compile(k, checked=True), [np.int32(5), x], make_launch(k, (8,)))


def test_is_cached_before_and_after_compile(backend, tmp_path, monkeypatch):
    monkeypatch.setenv("PXOS_CACHE_DIR", str(tmp_path))
    b = backends.get(backend)
    k = kernel(SPIN.replace("spin", f"spin_{backend}_{time.time_ns()}"))
    builds = registry.compiles(backend)
    assert b.is_cached(k) is not builds  # nothing to build for the interpreter
    assert not (tmp_path / backend).exists() or not builds  # asking makes no folder
    compiled = b.compile(k)
    assert b.is_cached(k) and b.compile(k) is compiled
    if builds and b.suffix is not None:  # a disk cache entry (webgpu keeps none)
        assert len(list((tmp_path / backend).iterdir())) == 1
