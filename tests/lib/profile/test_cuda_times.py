"""On a CUDA GPU: the profile's kernel times are the device's (CUDA events), on the host's
clock; medians within 5 % of CUDA events recorded here around the same launches (issue
20's goal). Skips without a GPU."""

from __future__ import annotations

import statistics

import numpy as np
import pytest

import pxos
from pxos import backends
from tests.lib.profile.kernels import saxpy

pytestmark = pytest.mark.skipif("cuda" not in backends.available(), reason="no CUDA GPU")


def test_kernel_times_match_cuda_events():
    import cupy

    from pxos.backends.base import make_launch

    n, launches = 1 << 24, 200
    x = cupy.ones(n, np.float32)
    out = cupy.empty_like(x)
    saxpy(np.float32(2.0), x, x, out, device="cuda")
    with pxos.profile(out=None) as p:
        for _ in range(launches):
            saxpy(np.float32(2.0), x, x, out, device="cuda")
    (k,) = p.kernels
    assert k.launches == launches and k.device == "cuda"
    assert all(0 <= e.start <= e.end <= p.wall_s for e in p.recorder.events)
    kernel = saxpy.ir(np.float32(2.0), x, x, out)
    backend = backends.get("cuda")
    compiled = backend.compile(kernel)
    launch = make_launch(kernel, (n,))
    pairs = []
    for _ in range(launches):
        a, b = cupy.cuda.Event(), cupy.cuda.Event()
        a.record()
        backend.launch(compiled, [np.float32(2.0), x, x, out], launch)
        b.record()
        pairs.append((a, b))
    cupy.cuda.Device().synchronize()
    direct = statistics.median(cupy.cuda.get_elapsed_time(a, b) / 1e3 for a, b in pairs)
    profiled = statistics.median(k.times_s)
    assert abs(profiled / direct - 1) <= 0.05, (profiled, direct)
    np.testing.assert_allclose(cupy.asnumpy(out[:10]), 3.0)


def test_short_launches_are_timed_in_part_and_counted_in_full():
    """Back-to-back launches of a small kernel: a launcher's first 8 in the profile are
    timed by CUDA events, then one at most per 2 ms; every launch is counted, its line
    kept (this file's), and the untimed ones count at the timed mean (the device's time,
    not the host's call)."""
    import cupy

    x = cupy.ones(4096, np.float32)
    out = cupy.empty_like(x)
    saxpy(np.float32(2.0), x, x, out, device="cuda")
    saxpy(np.float32(2.0), x, x, out, device="cuda")
    with pxos.profile(out=None) as p:
        for _ in range(2000):
            saxpy(np.float32(2.0), x, x, out, device="cuda")
    (k,) = p.kernels
    timed = [e for e in p.recorder.events if e.kind == "launch" and e.timed]
    assert k.launches == 2000 and 8 <= k.timed == len(timed) < 2000
    assert k.timed <= 8 + p.wall_s / 2e-3 + 1
    assert k.total_s == pytest.approx(k.mean_s * 2000)
    assert all(e.line and e.file == __file__ for e in p.recorder.events
               if e.kind == "launch")
    np.testing.assert_allclose(cupy.asnumpy(out[:10]), 3.0)
