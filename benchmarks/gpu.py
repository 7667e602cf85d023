"""GPU benchmark of the ``cuda`` (and ``opencl``) backends against CuPy and cuda-core, in one
process.

    python3 benchmarks/gpu.py [--out benchmarks/results/gpu.json] [--repeat 21]
        [--cases launch,call,time,add,blur,sum,stencil,opencl]

Cases (issue "CUDA and OpenCL from the same renderer", item 8):
* Launch overhead of a 3-argument kernel (a float scalar and two float arrays; one block of
  32 threads): seconds per launch over 20 000 back-to-back launches, best of 5, for pxos's
  ``CudaBackend.launch``, CuPy's ``RawKernel`` call and cuda-core's ``launch`` of the same
  kind of kernel.
* Vector add on 2²⁸ floats (3 × 1 GiB moved): pxos against ``cupy.add(x, y, out=z)``,
  GB/s = bytes read and written ÷ median kernel time (CUDA events).
* 5 × 5 binomial blur of a 4K (3840 × 2160) f32 image with clamped borders:
  ``examples/edges.px``'s ``blur5``, against ``cupyx.scipy.ndimage.convolve`` (mode
  ``nearest``).
* Sum of 2²⁸ f32 (issue 15): ``REDUCE SUM`` and ``examples/grid_sum.px``'s block
  reduction (then ``REDUCE SUM`` of its partial sums) against ``cupy.sum``, with the
  results on the host and on the device, and the GPU's time alone (:func:`reduction`).
* ``examples/heat3d.px``'s 7-point 3-D stencil on 512³ f32 against the same update written
  as CuPy array expressions.
* Call overhead of a 3-argument ``@pxos.kernel`` Python function on CuPy arrays (issue
  "Kernels as Python loops"; issue 14's goal: at most 1.0x), against a CuPy ``RawKernel``
  call of the same kind of kernel: placed by the planner, pinned with ``device="cuda"``,
  and with a Python float scalar; the four take turns (20 000 calls each per round, best
  of 7 rounds), so that load on the host touches them alike.
* Kernel time: ``CudaBackend.launch_timed`` against CUDA events around the same launch.
* The ``opencl`` backend on the same cases where an OpenCL GPU device is present
  (``PXOS_OPENCL_DEVICE`` picks it, e.g. ``NVIDIA``).

Ratios are peer time ÷ pxos time (> 1: pxos is faster). Output: JSON with the device name.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from pxos import backends  # noqa: E402
from pxos.backends.base import make_launch  # noqa: E402
from pxos.ir.check_host import check_program  # noqa: E402
from pxos.lang.px.parser import parse_file, parse_program  # noqa: E402

from gpu_timing import (event_time, event_times, host_time,  # noqa: E402  (benchmarks/)
                        interleaved, per_launch)

AXPY = """\
GPU_KERNEL axpy
    GPU_PARAM a float
    GPU_PARAM x float[]
    GPU_PARAM y float[]
GPU_THREAD_CODE:
    THREAD_ID → i
    STORE a * x[i] + y[i] → y[i]
GPU_END
"""
ADD = """\
GPU_KERNEL add
    GPU_PARAM x float[]
    GPU_PARAM y float[]
    GPU_PARAM out float[]
GPU_THREAD_CODE:
    THREAD_ID → i
    STORE x[i] + y[i] → out[i]
GPU_END
"""
RAW_AXPY = r"""extern "C" __global__ void axpy(float a, const float *x, float *y)
{ int i = blockIdx.x * blockDim.x + threadIdx.x; if (i < 32) y[i] = a * x[i] + y[i]; }"""


def kernel(src: str):
    return check_program(parse_program(src, "bench.px")).kernels[0]


def launch_overhead(cp) -> dict:
    cuda = backends.get("cuda")
    k = kernel(AXPY)
    compiled = cuda.compile(k)
    x = cp.ones(32, cp.float32)
    y = cp.zeros(32, cp.float32)
    a = np.float32(2.0)
    launch = make_launch(k, (32,))
    sync = cp.cuda.Device().synchronize
    pxos_s = per_launch(lambda: cuda.launch(compiled, (a, x, y), launch), sync)

    raw = cp.RawKernel(RAW_AXPY, "axpy")
    cupy_s = per_launch(lambda: raw((1,), (32,), (a, x, y)), sync)

    from cuda.core import Device, LaunchConfig, Program, ProgramOptions, launch as cc_launch
    dev = Device()
    dev.set_current()
    mod = Program(RAW_AXPY, code_type="c++",
                  options=ProgramOptions(arch=f"sm_{dev.arch}")).compile("cubin")
    ck = mod.get_kernel("axpy")
    stream = dev.create_stream()
    config = LaunchConfig(grid=1, block=32)
    px, py = x.data.ptr, y.data.ptr
    core_s = per_launch(lambda: cc_launch(stream, config, ck, a, px, py), stream.sync)
    return {"pxos_us": pxos_s * 1e6, "cupy_rawkernel_us": cupy_s * 1e6,
            "cuda_core_us": core_s * 1e6, "cupy_over_pxos": cupy_s / pxos_s,
            "cuda_core_over_pxos": core_s / pxos_s}


def python_call_overhead(cp) -> dict:
    import pxos

    @pxos.kernel
    def axpy(a: pxos.f32, x: pxos.Array[pxos.f32, 1], y: pxos.Array[pxos.f32, 1]):
        for i in pxos.parallel(len(x)):
            y[i] = a * x[i] + y[i]

    x = cp.ones(32, cp.float32)
    y = cp.zeros(32, cp.float32)
    a = np.float32(2.0)
    sync = cp.cuda.Device().synchronize
    raw = cp.RawKernel(RAW_AXPY, "axpy")
    times = interleaved({
        "pxos": lambda: axpy(a, x, y),
        "pinned": lambda: axpy(a, x, y, device="cuda"),
        "float": lambda: axpy(2.0, x, y),  # a Python float, converted
        "cupy": lambda: raw((1,), (32,), (a, x, y))}, sync)
    pxos_s, pinned_s, float_s, cupy_s = (times[k] for k in ("pxos", "pinned", "float",
                                                            "cupy"))
    axpy(a, x, y)
    decision = axpy.decision  # where the planner put the unpinned calls, and why
    y[...] = 0
    axpy(a, x, y)
    assert bool((y == 2).all())
    return {"pxos_python_us": pxos_s * 1e6, "pxos_python_pinned_us": pinned_s * 1e6,
            "pxos_python_float_us": float_s * 1e6, "cupy_rawkernel_us": cupy_s * 1e6,
            "pxos_over_cupy": pxos_s / cupy_s, "pinned_over_cupy": pinned_s / cupy_s,
            "unpinned_device": decision.device, "unpinned_predicted_s": decision.predicted,
            "unpinned_estimates": {d: e.as_dict() for d, e in decision.estimates.items()}}


def kernel_time(cp, repeat: int) -> dict:
    """``CudaBackend.launch_timed`` (the backends' kernel-time interface) against CUDA
    events recorded here around the same launch: the two should agree."""
    n = 2**26
    b = backends.get("cuda")
    k = kernel(ADD)
    compiled = b.compile(k)
    launch = make_launch(k, (n,))
    x, y, out = (cp.ones(n, cp.float32) for _ in range(3))
    run = lambda: b.launch(compiled, (x, y, out), launch)  # noqa: E731
    timed = statistics.median(b.launch_timed(compiled, (x, y, out), launch)
                              for _ in range(repeat))
    events = event_time(cp, run, repeat)
    return {"n": n, "launch_timed_ms": timed * 1e3, "events_ms": events * 1e3,
            "launch_timed_over_events": timed / events}


def vector_add(cp, repeat: int, name: str = "cuda") -> dict:
    n = 2**28
    b = backends.get(name)
    k = kernel(ADD)
    compiled = b.compile(k)
    launch = make_launch(k, (n,))
    if name == "cuda":
        x = cp.random.random(n, dtype=cp.float32)
        y = cp.random.random(n, dtype=cp.float32)
        out = cp.empty_like(x)
        run = lambda: b.launch(compiled, (x, y, out), launch)  # noqa: E731
        pxos_s = event_time(cp, run, repeat)
        assert bool((out == x + y).all())
    else:
        host = np.random.default_rng(0).random((2, n), dtype=np.float32)
        x, y, out = b.to_device(host[0]), b.to_device(host[1]), b.zeros((n,), np.float32)
        pxos_s = host_time(lambda: b.launch(compiled, (x, y, out), launch), b.synchronize,
                           repeat)
    gbytes = 3 * 4 * n / 1e9
    result = {"n": n, "pxos_ms": pxos_s * 1e3, "pxos_GBps": gbytes / pxos_s}
    if name == "cuda":
        cupy_s = event_time(cp, lambda: cp.add(x, y, out=out), repeat)
        result.update(cupy_ms=cupy_s * 1e3, cupy_GBps=gbytes / cupy_s,
                      cupy_over_pxos=cupy_s / pxos_s)
    return result


def blur(cp, repeat: int, name: str = "cuda") -> dict:
    b = backends.get(name)
    k = check_program(parse_file(ROOT / "examples" / "edges.px")).kernel("blur5")
    compiled = b.compile(k)
    h, w = 2160, 3840
    img = np.random.default_rng(1).random((h, w), dtype=np.float32) * 255
    launch = make_launch(k, (w, h))
    src, dst = b.to_device(img), b.zeros((h, w), np.float32)
    run = lambda: b.launch(compiled, (src, dst), launch)  # noqa: E731
    if name == "cuda":
        pxos_s = event_time(cp, run, repeat)
    else:
        pxos_s = host_time(run, b.synchronize, repeat)
    result = {"shape": [h, w], "pxos_ms": pxos_s * 1e3,
              "pxos_GBps": 2 * 4 * h * w / 1e9 / pxos_s}
    if name == "cuda":
        from cupyx.scipy import ndimage
        taps = cp.asarray(np.outer([1, 4, 6, 4, 1], [1, 4, 6, 4, 1]) / 256.0, cp.float32)
        out = cp.empty_like(src)
        peer_s = event_time(cp, lambda: ndimage.convolve(src, taps, output=out,
                                                         mode="nearest"), repeat)
        np.testing.assert_allclose(cp.asnumpy(dst), cp.asnumpy(out), rtol=1e-4, atol=1e-3)
        result.update(cupyx_ndimage_ms=peer_s * 1e3, cupyx_over_pxos=peer_s / pxos_s)
    return result


# blocks per multiprocessor of examples/grid_sum.px's grid here (its partial array's length
# ÷ the SM count): all of them resident at once (8 × 256 threads = 2,048 a multiprocessor)
GRID_BLOCKS_PER_SM = 8


SUM_REPEAT = 15


def reduction(cp, repeat: int) -> dict:
    """Sum of 2²⁸ f32 against ``cupy.sum`` (f32 accumulation, CUB; and f64) in one run:

    * ``REDUCE SUM`` (``backends/library.reduce_array``: one kernel of
      ``backends/cuda_reduce``, f64 accumulation, the result on the host);
    * ``examples/grid_sum.px``: the ``.px`` block reduction as a user writes it (a grid of
      :data:`GRID_BLOCKS_PER_SM` blocks a multiprocessor, each thread striding over the
      array with several loads in flight, a shared-memory tree a block), then ``REDUCE
      SUM`` of its block sums, the result on the host;
    * ``examples/reduce.px``'s ``block_sum`` (one value a thread, a block per 256 values:
      a million blocks of eight barriers), then ``REDUCE SUM``, for reference.

    ``*_ms``: CUDA events around the call from an idle GPU (the host's work before the
    launch counts); ``*_gpu_ms``: the same behind a spin kernel (``busy``): the GPU's time
    alone. The calls take turns, round by round, in a shuffled order, each after a flush
    of the GPU's L2 cache (``gpu_timing.event_times``), and each figure is the median of
    at least :data:`SUM_REPEAT` rounds: a call of 0.3 ms costs little, and a median of
    three (``h200.sh``'s ``--repeat 3``) is one round's noise.
    Ratios are cupy ÷ pxos, like for like: results on the host (``cupy_fetched_over_*``:
    ``float(cupy.sum(x))``), on the device (``cupy_over_*``), and GPU time
    (``cupy_gpu_over_*_gpu``). GB/s = bytes read ÷ time."""
    from pxos.backends.library import reduce_array

    n = 2**28
    x = cp.random.random(n, dtype=cp.float32)
    b = backends.get("cuda")
    sms = cp.cuda.Device().attributes["MultiProcessorCount"]

    def px_sum(file: str, name: str, blocks: int):
        k = check_program(parse_file(ROOT / "examples" / file)).kernel(name)
        compiled, launch = b.compile(k), make_launch(k, (blocks * 256,))
        partial = cp.empty(launch.grid[0], cp.float32)

        def run():
            b.launch(compiled, (x, partial), launch)
            return reduce_array("sum", partial)
        return run
    block_sum = px_sum("reduce.px", "block_sum", n // 256)
    grid_sum = px_sum("grid_sum.px", "grid_sum", sms * GRID_BLOCKS_PER_SM)
    want = float(cp.sum(x, dtype=cp.float64))
    for run in (block_sum, grid_sum):
        assert abs(float(run()) - want) <= 1e-5 * want
    assert abs(float(reduce_array("sum", x)) - want) <= 1e-6 * want
    calls = {"reduce": lambda: reduce_array("sum", x), "grid_sum": grid_sum,
             "block_sum": block_sum, "cupy_sum": lambda: cp.sum(x),
             "cupy_sum_fetched": lambda: float(cp.sum(x)),
             "cupy_sum_f64": lambda: cp.sum(x, dtype=cp.float64)}
    repeat = max(repeat, SUM_REPEAT)
    times = {f"{key}_ms": t for key, t in event_times(cp, calls, repeat).items()}
    busy = {key: calls[key] for key in ("reduce", "grid_sum", "cupy_sum", "cupy_sum_fetched")}
    times |= {f"{key}_gpu_ms": t for key, t in event_times(cp, busy, repeat, True).items()}
    out = {key: t * 1e3 for key, t in times.items()}
    out |= {key.replace("_ms", "_GBps"): 4 * n / 1e9 / t for key, t in times.items()}
    for px in ("reduce", "grid_sum", "block_sum"):
        out[f"cupy_over_{px}"] = times["cupy_sum_ms"] / times[f"{px}_ms"]
        out[f"cupy_fetched_over_{px}"] = times["cupy_sum_fetched_ms"] / times[f"{px}_ms"]
    for px in ("reduce", "grid_sum"):
        out[f"cupy_gpu_over_{px}_gpu"] = times["cupy_sum_gpu_ms"] / times[f"{px}_gpu_ms"]
    return {"n": n, "grid_sum_blocks": sms * GRID_BLOCKS_PER_SM} | out


def stencil3d(cp, repeat: int) -> dict:
    """``examples/heat3d.px``'s 7-point ``heat_step`` on 512³ f32 against the same update
    as CuPy array expressions (slices of the interior, edges copied)."""
    d = 512
    b = backends.get("cuda")
    k = check_program(parse_file(ROOT / "examples" / "heat3d.px")).kernel("heat_step")
    compiled = b.compile(k)
    u = cp.random.random((d, d, d), dtype=cp.float32)
    out, ref = cp.empty_like(u), cp.empty_like(u)
    alpha = np.float32(0.125)
    launch = make_launch(k, (d, d, d))

    def peer():
        ref[...] = u
        c = u[1:-1, 1:-1, 1:-1]
        near = u[1:-1, 1:-1, :-2] + u[1:-1, 1:-1, 2:] + u[1:-1, :-2, 1:-1] + u[1:-1, 2:, 1:-1]
        lap = near + u[:-2, 1:-1, 1:-1] + u[2:, 1:-1, 1:-1] - cp.float32(6.0) * c
        ref[1:-1, 1:-1, 1:-1] = c + alpha * lap
    pxos_s = event_time(cp, lambda: b.launch(compiled, (u, alpha, out), launch), repeat)
    peer_s = event_time(cp, peer, repeat)
    np.testing.assert_allclose(cp.asnumpy(out), cp.asnumpy(ref), rtol=1e-5, atol=1e-5)
    return {"shape": [d, d, d], "pxos_ms": pxos_s * 1e3, "cupy_ms": peer_s * 1e3,
            "pxos_GBps": 2 * 4 * d**3 / 1e9 / pxos_s, "cupy_over_pxos": peer_s / pxos_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/gpu.json")
    parser.add_argument("--repeat", type=int, default=21)
    parser.add_argument("--cases", default="all",
                        help="comma-separated: launch,call,time,add,blur,sum,stencil,opencl")
    args = parser.parse_args()
    cases = set(args.cases.split(","))
    wanted = lambda case: "all" in cases or case in cases  # noqa: E731
    import cupy as cp

    cuda = backends.get("cuda")
    report = {"device": cuda.device_name, "arch": f"sm_{cuda.arch}",
              "host": platform.node(), "python": platform.python_version(),
              "cupy": cp.__version__}
    for case, key, label, fn in (
            ("launch", "launch_overhead", "launch overhead", lambda: launch_overhead(cp)),
            ("call", "python_call_overhead", "python kernel call",
             lambda: python_call_overhead(cp)),
            ("time", "kernel_time", "kernel time", lambda: kernel_time(cp, args.repeat)),
            ("add", "vector_add", "vector add", lambda: vector_add(cp, args.repeat)),
            ("blur", "blur5_4k", "blur5 4K", lambda: blur(cp, args.repeat)),
            ("sum", "reduction", "sum of 2^28 f32", lambda: reduction(cp, args.repeat)),
            ("stencil", "stencil3d", "3-D stencil 512^3",
             lambda: stencil3d(cp, args.repeat))):
        if wanted(case):
            report[key] = fn()
            print(f"{label}:", json.dumps(report[key]), flush=True)
    try:
        if not wanted("opencl"):
            raise LookupError("not asked for (--cases)")
        opencl = backends.get("opencl")
        report["opencl_device"] = opencl.device_name
        report["opencl_vector_add"] = vector_add(cp, args.repeat, "opencl")
        report["opencl_blur5_4k"] = blur(cp, args.repeat, "opencl")
        print("opencl:", report["opencl_device"], json.dumps(report["opencl_vector_add"]),
              json.dumps(report["opencl_blur5_4k"]), flush=True)
    except Exception as e:  # no OpenCL here: say so in the report
        report["opencl"] = f"not measured: {type(e).__name__}: {e}"
        print(report["opencl"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
