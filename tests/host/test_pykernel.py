"""Calling @pxos.kernel functions: NumPy, CuPy, PyTorch and pxos arrays; one compilation per
argument signature; copies only where the data is not where the kernel runs (counted);
async launches and streams."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

import pxos
from pxos import backends
from tests.conftest import BACKENDS


@pxos.kernel
def saxpy(a: pxos.f32, x: pxos.Array[pxos.f32, 1], y: pxos.Array[pxos.f32, 1],
          out: pxos.Array[pxos.f32, 1]):
    for i in pxos.parallel(len(x)):
        out[i] = a * x[i] + y[i]


@pxos.kernel
def scale(x, k, out):  # no annotations: types from the first call's arguments
    for i in pxos.parallel(len(x)):
        out[i] = x[i] * k


def inputs(n=10_000):
    rng = np.random.default_rng(7)
    return rng.random(n, dtype=np.float32), rng.random(n, dtype=np.float32)


def test_numpy_arrays_on_every_backend(backend):
    x, y = inputs()
    out = np.zeros_like(x)
    saxpy(2.0, x, y, out, device=backend)
    np.testing.assert_array_equal(out, np.float32(2.0) * x + y)


def test_one_compilation_per_argument_signature(backend):
    x = np.arange(100, dtype=np.int32)
    out = np.zeros_like(x)
    scale(x, 3, out, device=backend)
    scale(x, 5, out, device=backend)
    np.testing.assert_array_equal(out, x * 5)
    assert str(scale.ir(x, 3, out).param("k").type) == "i32"  # Python int → i32
    xf = np.arange(100, dtype=np.float64)
    outf = np.zeros_like(xf)
    scale(xf, 0.5, outf, device=backend)
    np.testing.assert_array_equal(outf, xf * np.float32(0.5))
    signatures = {k for k in scale._plans if k[0] == backend}
    assert len(signatures) == 2 and len(scale._checked) == 2


def test_pxos_arrays_stay_on_the_device(backend):
    x, y = inputs()
    ax, ay, aout = (pxos.asarray(v.copy()) for v in (x, y, np.zeros_like(x)))  # shared
    before = pxos.transfers()
    saxpy(2.0, ax, ay, aout, device=backend)
    saxpy(3.0, ax, aout, ay, device=backend)  # ay = 3x + (2x + y), all on the device
    moved = pxos.transfers()
    on_device = backends.get(backend).memory != "host"
    assert moved.to_device - before.to_device == (3 if on_device else 0)
    assert moved.to_host == before.to_host  # nothing came back yet
    np.testing.assert_allclose(ay.numpy(), np.float32(3) * x + (np.float32(2) * x + y),
                               rtol=1e-6)
    assert pxos.transfers().to_host - moved.to_host == (1 if on_device else 0)


def test_bad_arguments_are_clear_errors():
    x = np.zeros(10, np.float32)
    with pytest.raises(pxos.PxError, match=r"argument 'x': expected f32\[\], got f64\[\]"):
        saxpy(1.0, x.astype(np.float64), x, x)
    with pytest.raises(pxos.PxError, match="takes 4 arguments, got 3"):
        saxpy(1.0, x, x)
    with pytest.raises(pxos.PxError, match="C-contiguous"):
        saxpy(1.0, np.zeros(20, np.float32)[::2], x, x, device="c" if "c" in BACKENDS
              else "interp")


def test_torch_cpu_tensors_are_used_in_place():
    torch = pytest.importorskip("torch")
    x = torch.arange(50, dtype=torch.float32)
    out = torch.zeros(50, dtype=torch.float32)
    before = pxos.transfers()
    saxpy(2.0, x, x, out)
    assert torch.equal(out, 3 * x) and pxos.transfers().to_device == before.to_device


def test_launch_async_lets_the_event_loop_run(backend):
    x, y = inputs()
    out = np.zeros_like(x)

    async def main():
        ticks = []

        async def ticker():
            for _ in range(3):
                ticks.append(1)
                await asyncio.sleep(0)
        await asyncio.gather(saxpy.launch_async(2.0, x, y, out, device=backend), ticker())
        return ticks
    assert asyncio.run(main()) == [1, 1, 1]
    np.testing.assert_array_equal(out, np.float32(2.0) * x + y)


# ---- CUDA: CuPy and PyTorch device arrays, streams
def cuda_or_skip():
    if "cuda" not in BACKENDS:
        pytest.skip("no cuda backend here")
    return pytest.importorskip("cupy")


def test_cupy_arrays_make_no_host_copy():
    cp = cuda_or_skip()
    x, y = (cp.asarray(v) for v in inputs())
    out = cp.zeros_like(x)
    pointers = [a.data.ptr for a in (x, y, out)]
    before = pxos.transfers()
    saxpy(2.0, x, y, out)  # placed on cuda because the arrays are there
    after = pxos.transfers()
    assert (after.to_device, after.to_host) == (before.to_device, before.to_host)
    assert [a.data.ptr for a in (x, y, out)] == pointers
    cp.testing.assert_array_equal(out, cp.float32(2.0) * x + y)


def test_torch_cuda_tensors_make_no_host_copy():
    cuda_or_skip()
    torch = pytest.importorskip("torch")
    x = torch.arange(1000, dtype=torch.float32, device="cuda")
    out = torch.zeros_like(x)
    before = pxos.transfers()
    saxpy(2.0, x, x, out)
    after = pxos.transfers()
    assert (after.to_device, after.to_host) == (before.to_device, before.to_host)
    assert torch.equal(out, 3 * x)


@pxos.kernel
def spin(out: pxos.Array[pxos.f32, 1], n: pxos.i32):
    for i in pxos.parallel(len(out)):
        acc = 0.0
        for _k in range(n):
            acc = acc * 0.999 + 1.0
        out[i] = acc


def test_two_streams_overlap_kernels_and_copies():
    """A timeline from CUDA events: a kernel on one stream runs while the other stream
    copies from pinned memory and runs its own kernel."""
    cp = cuda_or_skip()
    a, b = cp.zeros(4096, cp.float32), cp.zeros(4096, cp.float32)
    host = cp.cuda.alloc_pinned_memory(256 << 20)
    src = np.frombuffer(host, np.float32, (256 << 20) // 4)
    big = cp.empty(src.size, cp.float32)
    spin(a, 10, device="cuda")  # compile and warm up before timing
    pxos.synchronize()
    s1, s2 = pxos.stream(), pxos.stream()
    with s1:
        start1 = s1.record()
        spin(a, 2_000_000)
        end1 = s1.record()
    with s2:
        start2 = s2.record()
        big.set(src, stream=s2.cupy_stream)  # host → device, asynchronous (pinned)
        copied = s2.record()
        spin(b, 2_000_000)
        end2 = s2.record()
    asyncio.run(s2.wait())
    s1.synchronize()
    t = cp.cuda.get_elapsed_time
    k1 = (0.0, t(start1, end1))
    copy = (t(start1, start2), t(start1, copied))
    k2 = (t(start1, copied), t(start1, end2))
    assert k1[1] > 2 and copy[1] - copy[0] > 1, (k1, copy, k2)  # each takes milliseconds
    assert copy[0] < k1[1] and k2[0] < k1[1], f"no overlap: {k1}, {copy}, {k2}"
    np.testing.assert_allclose(cp.asnumpy(a), cp.asnumpy(b))


def test_unpinned_calls_are_placed_by_the_planner():
    x, y = inputs(1000)
    out = np.zeros_like(x)
    saxpy.decision = None
    saxpy(np.float32(2), x, y, out)
    d = saxpy.decision
    assert d is not None and d.device in d.predicted and d.reason
    assert d.predicted[d.device] == min(d.predicted.values())
    assert d.features["threads"] == 1000
    shown = repr(d).split("\n")  # as `pxos explain` prints it
    assert shown[0] == f"<Decision line {d.line} `saxpy(…)` on {d.device}"
    assert shown[1].startswith(f"  predicted: {d.device} ") and shown[2] == f"  → {d.reason}>"
    np.testing.assert_allclose(out, 2 * x + y, rtol=1e-6)
    saxpy.decision = None
    saxpy(np.float32(2), x, y, out, device=BACKENDS[0])  # pinned: no decision made
    assert saxpy.decision is None
