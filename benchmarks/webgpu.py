"""The ``webgpu`` backend against ``cuda``, ``opencl`` and ``c`` in one process, and the cost of the
WGSL dialect's guard against fma contraction (``codegen/wgsl``: each float ``+ - * /``
result XORed with a zero the compiler cannot see).

    python3 benchmarks/webgpu.py [--out benchmarks/results/webgpu.json] [--repeat 7]

Cases: launch overhead (a 3-argument kernel on 32 threads: seconds per launch over 200
back-to-back launches and one wait, best of ``repeat``); vector add ``y = a * x + y`` on 2²²
floats (median seconds per launch and wait); ``examples/mandelbrot.px`` 768 × 512 with 256
iterations on ``webgpu`` with the guard and without it (the guard's cost, compute-bound);
``q = x / y; s = sqrt(x)`` on 2²² floats with the correctly rounded helpers of
``codegen/wgsl_exact.wgsl`` and with the driver's own ``/`` and ``sqrt`` (the helpers' cost).
Ratios are peer time ÷ webgpu time (> 1: webgpu is faster). Output: JSON with the adapter
and CPU names. On lavapipe (Vulkan on the CPU) webgpu shares the CPU with its peers.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path
from unittest import mock

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from pxos import backends  # noqa: E402
from pxos.backends.base import make_launch  # noqa: E402
from pxos.codegen import wgsl  # noqa: E402
from pxos.ir.check_host import check_program  # noqa: E402
from pxos.lang.px.parser import parse_file, parse_program  # noqa: E402

EXACT = wgsl.prelude  # the exact helpers, kept while driver_operators stands in for them

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
DIVIDE = """\
GPU_KERNEL divide
    GPU_PARAM x float[]
    GPU_PARAM y float[]
    GPU_PARAM q float[]
    GPU_PARAM s float[]
GPU_THREAD_CODE:
    THREAD_ID → i
    STORE x[i] / y[i] → q[i]
    STORE sqrt(x[i]) → s[i]
GPU_END
"""


def driver_operators(name: str) -> dict[str, str]:
    """``codegen.wgsl.prelude`` replaced, for DIVIDE: WGSL's own ``/`` and ``sqrt``."""
    if name not in ("pxos_fdiv_f32", "pxos_fsqrt_f32"):
        return EXACT(name)
    params, body = ("a: f32, b: f32", "a / b") if "fdiv" in name else ("a: f32", "sqrt(a)")
    return {name: f"fn {name}({params}) -> f32 {{ return {body}; }}"}


def division_cost(n: int, repeat: int) -> dict:
    """Median seconds of DIVIDE on ``n`` floats on webgpu: exact helpers and driver's."""
    kernel = check_program(parse_program(DIVIDE, "divide.px")).kernels[0]
    rng = np.random.default_rng(1)
    args = [rng.uniform(0, 100, n).astype(np.float32), rng.uniform(1, 100, n).astype(np.float32),
            np.zeros(n, np.float32), np.zeros(n, np.float32)]
    exact = statistics.median(timed(backends.get("webgpu"), kernel, args, (n,), 1, repeat))
    with mock.patch.object(wgsl, "prelude", driver_operators):
        fresh = type(backends.get("webgpu"))()  # its own build cache
        driver = statistics.median(timed(fresh, kernel, args, (n,), 1, repeat))
    return {"exact": exact, "driver": driver, "exact_cost_ratio": exact / driver}


def timed(backend, kernel, host_args, threads, launches: int, repeat: int) -> list[float]:
    """Seconds per launch of ``launches`` back-to-back launches and one wait, ``repeat``
    times (the first build and copies excluded)."""
    compiled = backend.compile(kernel)
    args = [backend.to_device(a) if isinstance(a, np.ndarray) and backend.memory != "host"
            else a for a in host_args]
    launch = make_launch(kernel, threads)
    backend.launch(compiled, args, launch)
    backend.synchronize()
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(launches):
            backend.launch(compiled, args, launch)
        backend.synchronize()
        out.append((time.perf_counter() - start) / launches)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "webgpu.json"))
    parser.add_argument("--repeat", type=int, default=7)
    opts = parser.parse_args()
    present = [b for b in ("webgpu", "cuda", "opencl", "c") if b in backends.available()]
    if "webgpu" not in present:
        sys.exit("no webgpu backend here (wgpu-py and a Vulkan/Metal/D3D12 driver)")
    axpy = check_program(parse_program(AXPY, "axpy.px")).kernels[0]
    n = 1 << 22
    x, y = np.ones(n, np.float32), np.zeros(n, np.float32)
    small = [np.float32(2), x[:32].copy(), y[:32].copy()]
    result = {"machine": platform.node(), "cpu": platform.processor() or platform.machine(),
              "adapter": backends.get("webgpu").device_name, "cases": {}}
    for name in present:
        b = backends.get(name)
        result["cases"][name] = {
            "launch_overhead_s": min(timed(b, axpy, small, (32,), 200, opts.repeat)),
            "vector_add_s": statistics.median(timed(b, axpy, [np.float32(2), x, y], (n,),
                                                    1, opts.repeat))}
    mandel = check_program(parse_file(ROOT / "examples" / "mandelbrot.px")).kernels[0]
    image = [np.zeros((512, 768), np.uint8), np.int32(256)]
    guarded = statistics.median(timed(backends.get("webgpu"), mandel, image, (768, 512), 1,
                                      opts.repeat))
    plain_binary = wgsl.WgslDialect.binary

    def unguarded(self, op, a, b, t, wraps=False):
        return f"({a} {op} {b})" if t.is_float and op in "+-*/" else \
            plain_binary(self, op, a, b, t, wraps)
    with mock.patch.object(wgsl.WgslDialect, "binary", unguarded):
        fresh = type(backends.get("webgpu"))()  # its own build cache
        plain = statistics.median(timed(fresh, mandel, image, (768, 512), 1, opts.repeat))
    result["mandelbrot_webgpu_s"] = {"guarded": guarded, "unguarded": plain,
                                     "guard_cost_ratio": guarded / plain}
    result["divide_sqrt_webgpu_s"] = division_cost(n, opts.repeat)
    web = result["cases"]["webgpu"]
    result["ratios_peer_over_webgpu"] = {
        name: {k: v / web[k] for k, v in case.items()}
        for name, case in result["cases"].items() if name != "webgpu"}
    Path(opts.out).parent.mkdir(parents=True, exist_ok=True)
    Path(opts.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
