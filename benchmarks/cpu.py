"""CPU benchmark of the ``c`` backend against NumPy and Numba ``prange``, in one run.

    python3 benchmarks/cpu.py [--out benchmarks/results/cpu.json] [--repeat 7]

Cases (issue "The pxos engine on the CPU", item 9):
* SAXPY on 10⁷ floats: ``examples/saxpy.px``'s kernel; NumPy ``a * x + y``; Numba prange.
* 5 × 5 binomial blur of a 4K (3840 × 2160) f32 image with clamped borders:
  ``examples/edges.px``'s ``blur5``; NumPy on an edge-padded copy (25 shifted slices);
  Numba prange over rows with the same loops as the kernel.
* The C backend's compile time with an empty cache (cold), from the disk cache in a new
  backend (as in a new process), and from the in-memory cache.
* Per-call overhead (issue 14), microseconds per call of a 16-element SAXPY, in the same
  run: a ``@pxos.kernel`` call on NumPy arrays (``device="c"`` and the planner's
  ``auto``), Numba's dispatch of an ``@njit`` (serial) function with the same arguments,
  and a `.px` ``RUN`` in a host loop (``FOR k IN 0..N: RUN saxpy …``, on ``c`` and
  ``auto``): the program's run time ÷ N (``px_run_*_us``, with the program's own
  start: its ALLOCs, the first launch), and the time one more RUN of the loop adds
  (``px_run_*_marginal_us``: the program with 2N iterations less the one with N, ÷ N;
  a call's figure is also of calls after the first). Goals: a call ≤ Numba; a RUN ≤ a
  call. ``*_sizes_us``: the same calls on arrays of 16, 17 and 18 elements in turn (so
  each call has new sizes: under ``auto`` the planner's decision is looked up again). These
  are CPU times of this process (``per_call``), steadier than wall times on a shared
  machine; the kernels' own work is 16 elements (``c`` runs it on the calling thread).

Times are medians over ``--repeat`` runs after one warm-up, in seconds; ratios are
peer time ÷ pxos time (> 1: pxos is faster). Output: JSON with the machine's description.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from pxos.backends.base import make_launch  # noqa: E402
from pxos.backends.c import CBackend, compiler_identity  # noqa: E402
from pxos.ir.check_host import check_program  # noqa: E402
from pxos.lang.px.parser import parse_file  # noqa: E402
from pxos.planner.calibration import cpu_model  # noqa: E402


def median_time(fn, repeat: int) -> float:
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def kernel(example: str, name: str):
    return check_program(parse_file(ROOT / "examples" / example)).kernel(name)


def numba_kernels():
    try:
        import numba
    except ImportError:
        return None

    @numba.njit(parallel=True, fastmath=False)
    def saxpy(a, x, y, out):
        for i in numba.prange(x.shape[0]):
            out[i] = a * x[i] + y[i]

    @numba.njit(parallel=True, fastmath=False)
    def blur5(src, dst):
        h, w = src.shape
        for y in numba.prange(h):
            for x in range(w):
                acc = np.float32(0.0)
                for dy in range(-2, 3):
                    yy = min(max(y + dy, 0), h - 1)
                    wy = np.float32(6.0 - 1.5 * abs(dy) - 0.5 * dy * dy)
                    for dx in range(-2, 3):
                        xx = min(max(x + dx, 0), w - 1)
                        wx = np.float32(6.0 - 1.5 * abs(dx) - 0.5 * dx * dx)
                        acc += wy * wx * src[yy, xx]
                dst[y, x] = acc / np.float32(256.0)

    return {"saxpy": saxpy, "blur5": blur5, "version": numba.__version__}


def numpy_blur5(src: np.ndarray) -> np.ndarray:
    w = np.array([1, 4, 6, 4, 1], np.float32)
    pad = np.pad(src, 2, mode="edge")
    h, wd = src.shape
    acc = np.zeros_like(src)
    for dy in range(5):
        for dx in range(5):
            acc += (w[dy] * w[dx]) * pad[dy:dy + h, dx:dx + wd]
    return acc / np.float32(256.0)


def bench_saxpy(c: CBackend, nb, repeat: int) -> dict:
    n = 10_000_000
    rng = np.random.default_rng(0)
    x, y = rng.random(n, np.float32), rng.random(n, np.float32)
    out = np.empty_like(x)
    a = np.float32(2.5)
    k = kernel("saxpy.px", "saxpy")
    ck = c.compile(k)
    launch = make_launch(k, (n,))
    t_c = median_time(lambda: c.launch(ck, [a, x, y, out], launch), repeat)
    np.testing.assert_array_equal(out, a * x + y)
    t_np = median_time(lambda: a * x + y, repeat)
    res = {"elements": n, "bytes_moved": 12 * n, "c_s": t_c, "numpy_s": t_np,
           "c_GBps": 12 * n / t_c / 1e9, "ratio_numpy_over_c": t_np / t_c}
    if nb:
        nb["saxpy"](a, x, y, out)
        t_nb = median_time(lambda: nb["saxpy"](a, x, y, out), repeat)
        res |= {"numba_s": t_nb, "ratio_numba_over_c": t_nb / t_c}
    return res


def bench_blur(c: CBackend, nb, repeat: int) -> dict:
    h, w = 2160, 3840
    src = np.random.default_rng(1).random((h, w), np.float32) * 255
    dst = np.empty_like(src)
    k = kernel("edges.px", "blur5")
    ck = c.compile(k)
    launch = make_launch(k, (w, h))
    t_c = median_time(lambda: c.launch(ck, [src, dst], launch), repeat)
    ref = numpy_blur5(src)
    np.testing.assert_allclose(dst, ref, rtol=1e-5, atol=1e-3)
    t_np = median_time(lambda: numpy_blur5(src), max(3, repeat // 2))
    res = {"shape": [h, w], "c_s": t_c, "numpy_s": t_np, "ratio_numpy_over_c": t_np / t_c,
           "c_Mpixel_per_s": h * w / t_c / 1e6}
    if nb:
        out = np.empty_like(src)
        t_nb = median_time(lambda: nb["blur5"](src, out), repeat)
        np.testing.assert_allclose(out, dst, rtol=1e-5, atol=1e-3)
        res |= {"numba_s": t_nb, "ratio_numba_over_c": t_nb / t_c}
    return res


def bench_compile(repeat: int) -> dict:
    k = kernel("edges.px", "blur5")
    cold = []
    for _ in range(3):
        with tempfile.TemporaryDirectory() as tmp:
            os.environ["PXOS_CACHE_DIR"] = tmp
            t0 = time.perf_counter()
            CBackend().compile(k)
            cold.append(time.perf_counter() - t0)
            disk = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                backend = CBackend()
                backend.compile(k)
                disk.append(time.perf_counter() - t0)
            memory = median_time(lambda: backend.compile(k), repeat)
    return {"kernel": "blur5", "cold_s": statistics.median(cold),
            "disk_hit_s": statistics.median(disk), "memory_hit_s": memory}


def py_saxpy():
    """The SAXPY of ``examples/saxpy.px`` as a Python kernel (defined here: the front-end
    reads a kernel's source from its file)."""
    import pxos

    @pxos.kernel
    def saxpy(a: pxos.f32, x: pxos.Array[pxos.f32, 1], y: pxos.Array[pxos.f32, 1],
              out: pxos.Array[pxos.f32, 1]):
        for i in pxos.parallel(len(x)):
            out[i] = a * x[i] + y[i]
    return saxpy


def per_call(fns: dict, calls: int, repeat: int) -> dict:
    """Seconds per call of each function of ``fns`` (name -> function of no arguments):
    the median over ``repeat`` rounds of the mean of ``calls`` calls, in this process's
    CPU time (``time.process_time``: on a machine shared with other work, wall time
    mostly measures the others; the calls here wait on nothing). Each function is called
    once first (its first calls are not the overhead asked about); the functions take
    turns within each round, each round starting at the next one, so that a change of
    load, or going first, touches them alike."""
    times = {name: [] for name in fns}
    for fn in fns.values():
        fn()
    order = list(fns.items())
    for r in range(repeat):
        for name, fn in order[r % len(order):] + order[:r % len(order)]:
            t0 = time.process_time()
            for _ in range(calls):
                fn()
            times[name].append((time.process_time() - t0) / calls)
    return {name: statistics.median(t) for name, t in times.items()}


def numba_saxpy():
    """Numba's serial ``@njit`` SAXPY (the dispatch peer), or None without Numba."""
    try:
        import numba
    except ImportError:
        return None

    @numba.njit
    def nb_saxpy(a, x, y, out):
        for i in range(x.shape[0]):
            out[i] = a * x[i] + y[i]
    return nb_saxpy


def bench_call_overhead(calls: int, repeat: int) -> dict:
    from pxos.host.program import ProgramRun
    from pxos.lang.px.parser import parse_program

    n = 16
    x, y = np.ones(n, np.float32), np.arange(n, dtype=np.float32)
    out = np.empty_like(x)
    a = np.float32(2.5)
    saxpy, nb_saxpy = py_saxpy(), numba_saxpy()
    fns = {f"pxos_call_{device}_us": (lambda d: lambda: saxpy(a, x, y, out, device=d))(device)
           for device in ("c", "auto")}
    if nb_saxpy is not None:
        fns["numba_njit_us"] = lambda: nb_saxpy(a, x, y, out)
    sized = [tuple(np.ones(m, np.float32) for _ in range(3)) for m in (n, n + 1, n + 2)]
    turns = {f"pxos_call_{d}": (lambda d: lambda x, y, o: saxpy(a, x, y, o, device=d))(d)
             for d in ("c", "auto")}  # three sizes in turn: a size check at every call
    if nb_saxpy is not None:
        turns["numba_njit"] = lambda x, y, o: nb_saxpy(a, x, y, o)
    for name, call in turns.items():
        fns[f"{name}_sizes_us"] = (lambda call: lambda: [call(*s) for s in sized])(call)
    res = {"elements": n, "calls": calls}
    res.update({k: 1e6 * v / (3 if k.endswith("_sizes_us") else 1)
                for k, v in per_call(fns, calls, repeat).items()})
    np.testing.assert_array_equal(out, a * x + y)
    if nb_saxpy is not None:
        res["ratio_pxos_c_over_numba"] = res["pxos_call_c_us"] / res["numba_njit_us"]
    programs = {k: check_program(parse_program(
        (ROOT / "examples" / "saxpy.px").read_text().split("ALLOC")[0]
        + f"ALLOC x float SIZE {n}\nALLOC y LIKE x\nALLOC out LIKE x\n"
        f"FOR k IN 0..{k * calls}:\n    RUN saxpy 2.5 x y out\n", "<overhead>"))
        for k in (1, 2)}
    for device in ("c", "auto"):
        runs = per_call({k: (lambda p: lambda: ProgramRun(
            p, device=device, emit=lambda s: None).run())(p) for k, p in programs.items()},
            1, repeat)
        res[f"px_run_{device}_us"] = 1e6 * runs[1] / calls
        res[f"px_run_{device}_marginal_us"] = 1e6 * (runs[2] - runs[1]) / calls
    res["ratio_run_over_call_c"] = res["px_run_c_us"] / res["pxos_call_c_us"]
    res["ratio_run_marginal_over_call_c"] = (res["px_run_c_marginal_us"]
                                             / res["pxos_call_c_us"])
    return res


def machine() -> dict:
    cpu = cpu_model()  # /proc/cpuinfo's model name (planner/calibration)
    return {"device": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "numpy": np.__version__, "compiler": compiler_identity(CBackend().cc).split("\n")[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/cpu.json")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--only-overhead", action="store_true",
                        help="Only the per-call overhead case (fast).")
    args = parser.parse_args()
    if args.only_overhead:
        result = {"benchmark": "cpu", "machine": machine(),
                  "call_overhead": bench_call_overhead(2000, args.repeat)}
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2))
        print(json.dumps(result, indent=2))
        return
    c = CBackend()
    nb = numba_kernels()
    result = {"benchmark": "cpu", "machine": machine(),
              "numba": nb["version"] if nb else None,
              "saxpy": bench_saxpy(c, nb, args.repeat),
              "blur5_4k": bench_blur(c, nb, args.repeat),
              "compile": bench_compile(args.repeat),
              "call_overhead": bench_call_overhead(2000, args.repeat)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
