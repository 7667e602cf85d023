"""The speed suite: pxos Python kernels on the ``c`` backend against NumPy and Numba.

    python3 benchmarks/suite.py [--out benchmarks/results/suite.json] [--repeat 5]
                                [--quick] [--only jacobi2d,gemm] [--settle 0.25] [--passive]
                                [--modes default,one-thread,passive] [--rounds]

Each case (``benchmarks/suite_kernels.py``: PolyBench-style stencils with host time loops,
gemm, matrix–vector, covariance, 2-D/3-D convolutions, Floyd–Warshall) runs pxos
(``@pxos.kernel``, pinned to ``device="c"``), Numba ``@njit(parallel=True)`` and NumPy on
the same inputs; the results of pxos and Numba are checked against NumPy's first, then
each side runs three more times untimed (the warm-up). Timing is interleaved (pxos, Numba,
NumPy, then Numba, NumPy, pxos, …: each side follows each other side) and each figure is
the median of ``--repeat`` runs, in seconds. Between two timed calls the process sleeps
``--settle`` seconds (default 0.25), so that the thread pool of the side before has gone
idle: OpenBLAS's workers (NumPy's ``@``/``dot``) spin for 2²⁸ time-stamp ticks (about
0.1 s) after a call, libgomp's (pxos, Numba's ``omp`` layer: two pools) for a while too,
and on a machine with as many threads as cores a side timed in that window shares every
core with them (gemv, 2 cores: 16 ms alone, 34 ms right after ``np.dot``, for pxos and
Numba alike). The suite runs twice, in two child processes: with the default threads, and
with one thread (``OMP_NUM_THREADS=1``, ``numba.set_num_threads(1)``); with ``--passive``,
a third time with the default threads and ``OMP_WAIT_POLICY=passive`` (idle OpenMP
threads sleep: a shared, loaded machine; short kernels in host loops); ``--modes`` picks
the passes.
It prints a table of c ÷ Numba (below 1: pxos is faster) with the geometric mean, and
writes JSON with the machine's name, core count and load. Each case also records the
median CPU time of the process (every thread, spinning ones too; ``cpu_c_over_numba``),
less disturbed by other users of a shared machine than the wall clock, and the spread of
pxos's times (range ÷ median) and the ratio of the best times (``min_c_over_numba``), and
is printed (stderr) as it ends, with the load. ``rounds`` keeps every timed call of each
side (``ROUND_FIELDS``: its milliseconds, the process's involuntary and voluntary context
switches and page faults during it, the machine's steal ticks and the tasks runnable just
before it), printed with ``--rounds``: a stalled round shows what came with it.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import suite_kernels as K  # noqa: E402
from pxos.planner.calibration import cpu_model  # noqa: E402


def _stencil(px, nb, ref, shape, steps, dtype=np.float64, swap=True):
    """A case of ``steps`` time steps, each ``f(a, b); f(b, a)`` (``swap``: a stencil whose
    weights sum to 1), or ``f(a, b)`` twice (a filter, whose repeated use would make the
    values denormal or infinite, and the times depend on them)."""
    def inputs(rng):
        a = rng.random(shape).astype(dtype)
        return a, a.copy()

    def loop(fn):
        def run(a, b):
            for _ in range(steps):
                fn(a, b)
                fn(b, a) if swap else fn(a, b)
        return run
    return inputs, loop(px), loop(nb), loop(ref), lambda arrs: arrs[0 if swap else 1]


def _floyd(n):
    def inputs(rng):
        p = (rng.random((n, n)) * 100 + 1).astype(np.float32)
        np.fill_diagonal(p, 0)
        return (p,)

    def loop(fn):
        def run(p):
            for k in range(n):
                fn(p, k)
        return run
    return inputs, loop(K.floyd_step), lambda p: loop(NB["floyd_step"])(p), K.np_floyd, \
        lambda arrs: arrs[0]


def _gemm(n):
    def inputs(rng):
        return rng.random((n, n)), rng.random((n, n)), rng.random((n, n))
    return (inputs, lambda a, b, c: K.gemm(1.5, 1.2, a, b, c),
            lambda a, b, c: NB["gemm"](1.5, 1.2, a, b, c),
            lambda a, b, c: np.add(1.2 * c, 1.5 * (a @ b), out=c), lambda arrs: arrs[2])


def _gemv(n, transposed):
    def inputs(rng):
        return rng.random((n, n)), rng.random(n), np.zeros(n)
    name = "gemv_t" if transposed else "gemv"
    ref = (lambda a, x, y: np.dot(x, a, out=y)) if transposed else \
        (lambda a, x, y: np.dot(a, x, out=y))
    return inputs, getattr(K, name), lambda *a: NB[name](*a), ref, lambda arrs: arrs[2]


def _covariance(n, m):
    def inputs(rng):
        return rng.random((n, m)), np.zeros(m), np.zeros((n, m)), np.zeros((m, m))

    def px(data, mean, d, cov):
        K.col_mean(data, mean)
        K.center(data, mean, d)
        K.covariance(d, cov)

    def ref(data, mean, d, cov):
        cov[...] = K.np_covariance(data)
    return inputs, px, lambda *a: NB["covariance"](*a), ref, lambda arrs: arrs[3]


def cases(quick: bool) -> dict:
    """name → (inputs(rng), pxos run, Numba run, NumPy run, result(arrays))."""
    s = 2 if quick else 1
    nb = lambda name: (lambda *a: NB[name](*a))  # noqa: E731
    return {
        "jacobi1d": _stencil(K.jacobi1d, nb("jacobi1d"), K.np_jacobi1d, (2_000_000 // s,), 10),
        "jacobi2d": _stencil(K.jacobi2d, nb("jacobi2d"), K.np_jacobi2d, (1000 // s, 1000), 10),
        "heat3d": _stencil(K.heat3d, nb("heat3d"), K.np_heat3d, (120 // s, 120, 120), 5),
        "gemm": _gemm(500 // s),
        "gemv": _gemv(3000 // s, False),
        "gemv_t": _gemv(3000 // s, True),
        "covariance": _covariance(600 // s, 400 // s),
        "conv2d": _stencil(K.conv2d, nb("conv2d"), K.np_conv2d, (2000 // s, 2000), 2,
                           np.float32, swap=False),
        "conv3d": _stencil(K.conv3d, nb("conv3d"), K.np_conv3d, (160 // s, 160, 160), 1,
                           np.float32, swap=False),
        "floyd": _floyd(500 // s),
    }


NB: dict = {}
# untimed calls after the checked one: a kernel's first calls go through Python, and the
# third sets up its native launcher (host/native_call), tens of milliseconds once
WARM_UP = 3


def run_case(case, repeat: int, settle: float = 0.25) -> dict:
    """Check pxos and Numba against NumPy, then time the three interleaved, each call
    ``settle`` seconds after the one before (see the module docstring)."""
    inputs, px, nb, ref, result = case
    rng = np.random.default_rng(0)
    first = inputs(rng)
    sides = {"c": px, "numba": nb, "numpy": ref}
    arrays = {side: tuple(x.copy() for x in first) for side in sides}
    for side, fn in sides.items():
        fn(*arrays[side])  # also the warm-up (compiles)
    want = result(arrays["numpy"])
    for side in ("c", "numba"):
        np.testing.assert_allclose(result(arrays[side]), want, rtol=1e-5, atol=1e-6,
                                   err_msg=f"{side} differs from NumPy")
    for side, fn in sides.items():  # pxos's native launcher takes over at the third call
        for _ in range(WARM_UP):
            fn(*arrays[side])
    times: dict = {side: [] for side in sides}
    cpu: dict = {side: [] for side in sides}
    rounds: dict = {side: [] for side in sides}
    order = list(sides)
    for n in range(repeat):
        for side in order[n % 3:] + order[:n % 3]:
            fn = sides[side]
            time.sleep(settle)
            before = round_state()
            c0, t0 = time.process_time(), time.perf_counter()
            fn(*arrays[side])
            times[side].append(time.perf_counter() - t0)
            cpu[side].append(time.process_time() - c0)
            rounds[side].append([n, round(times[side][-1] * 1e3, 3)] +
                                [b - a for a, b in zip(before[1:], round_state()[1:])] +
                                [before[0]])
    out = {f"{side}_s": statistics.median(t) for side, t in times.items()}
    # CPU time of the whole process (every thread, spinning ones too): less sensitive to
    # other users of a shared machine than the wall clock
    out |= {f"{side}_cpu_s": statistics.median(t) for side, t in cpu.items()}
    out["c_over_numba"] = out["c_s"] / out["numba_s"]
    out["cpu_c_over_numba"] = out["c_cpu_s"] / out["numba_cpu_s"]
    out["spread_c"] = (max(times["c"]) - min(times["c"])) / out["c_s"]  # noise: range/median
    # best of the repeats: noise (a preempted thread, a team slow to wake) only adds time
    out["min_c_over_numba"] = min(times["c"]) / min(times["numba"])
    out["rounds"] = rounds  # per side: ROUND_FIELDS of each timed call, in order
    return out


ROUND_FIELDS = ("round", "ms", "involuntary_switches", "voluntary_switches", "minor_faults",
                "steal_ticks", "runnable_before")


def round_state() -> tuple:
    """(tasks runnable on the machine, this process's involuntary and voluntary context
    switches and minor page faults, all threads, from ``getrusage``; the machine's steal
    time in clock ticks, ``/proc/stat``'s eighth ``cpu`` field: time a hypervisor ran
    something else on a virtual CPU that wanted to run; 0 where it cannot be read)."""
    use = resource.getrusage(resource.RUSAGE_SELF)
    steal = running = 0
    try:
        for line in Path("/proc/stat").read_text().splitlines():
            if line.startswith("cpu "):
                steal = int(line.split()[8])
            elif line.startswith("procs_running"):
                running = int(line.split()[1])
    except (OSError, IndexError, ValueError):
        pass
    return running, use.ru_nivcsw, use.ru_nvcsw, use.ru_minflt, steal


def machine() -> dict:
    cpu = cpu_model()  # /proc/cpuinfo's model name (planner/calibration)
    return {"node": platform.node(), "cpu": cpu, "cores": os.cpu_count(),
            "load": os.getloadavg()[0],
            "python": platform.python_version(), "numpy": np.__version__}


def child(args) -> dict:
    """One pass over the cases in this process (its threads set by the parent)."""
    NB.update(K.numba_kernels())
    if not NB:
        sys.exit("the suite needs Numba: pip install numba (the 'bench' extra)")
    if args.one_thread:
        NB["set_threads"](1)
    chosen = cases(args.quick)
    names = args.only.split(",") if args.only else list(chosen)
    out = {}
    for name in names:  # each case on stderr as it ends: a run cut short shows the others
        out[name] = run_case(chosen[name], args.repeat, args.settle)
        r = out[name]
        print(f"{name}: c/numba {r['c_over_numba']:.3f} (CPU time {r['cpu_c_over_numba']:.3f},"
              f" best {r['min_c_over_numba']:.3f}),"
              f" c {r['c_s']:.4f} s, numba {r['numba_s']:.4f} s, load "
              f"{os.getloadavg()[0]:.1f}", file=sys.stderr, flush=True)
        if args.rounds:
            print_rounds(r["rounds"])
    return out


def print_rounds(rounds: dict) -> None:
    """Each side's timed calls (stderr), one line a side: ms, and where any happened,
    ``/i<involuntary switches>/f<page faults>/s<steal ticks>/r<runnable before>``."""
    for side, calls in rounds.items():
        print(f"  {side:<6}" + " ".join(
            f"{c[1]:.2f}" + (f"/i{c[2]}/f{c[4]}/s{c[5]}/r{c[6]}" if c[2] or c[4] or c[5]
                             else f"/r{c[6]}") for c in calls), file=sys.stderr, flush=True)


def table(results: dict) -> str:
    modes = list(results)
    names = list(results[modes[0]])
    lines = [f"{'case':<12}" + "".join(f"{m + ' c/numba':>18}{'c s':>10}" for m in modes)]
    for name in names:
        lines.append(f"{name:<12}" + "".join(
            f"{results[m][name]['c_over_numba']:>17.2f}x{results[m][name]['c_s']:>10.4f}"
            for m in modes))
    lines.append(f"{'geomean':<12}" + "".join(
        f"{geomean([r['c_over_numba'] for r in results[m].values()]):>17.2f}x{'':>10}"
        for m in modes))
    return "\n".join(lines)


def write_json(path: Path, report: dict) -> None:
    """Write ``report`` to ``path`` atomically (a temporary file renamed over it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(report, indent=2))
    os.replace(tmp, path)


def geomean(values) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/suite.json")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="half-size problems")
    parser.add_argument("--only", default="", help="comma-separated case names")
    parser.add_argument("--settle", type=float, default=0.25,
                        help="seconds of sleep before each timed call (0: back to back)")
    parser.add_argument("--rounds", action="store_true",
                        help="print each timed call (ms, context switches, faults, steal)")
    parser.add_argument("--one-thread", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--passive", action="store_true",
                        help="also run the default threads with OMP_WAIT_POLICY=passive")
    parser.add_argument("--modes", default="",
                        help="comma-separated passes to run instead: default, one-thread, "
                             "passive")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args)))
        return
    results = {}
    modes = args.modes.split(",") if args.modes else \
        ["default", "one-thread"] + ["passive"] * args.passive
    if not set(modes) <= {"default", "one-thread", "passive"}:
        parser.error(f"--modes {args.modes}: each one of default, one-thread, passive")
    for mode in modes:
        env = dict(os.environ)
        extra = ["--child"]
        if mode == "passive":  # waiting OpenMP threads sleep instead of spinning
            env["OMP_WAIT_POLICY"] = "passive"
        if mode == "one-thread":
            env |= {"OMP_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1"}
            extra.append("--one-thread")
        cmd = [sys.executable, __file__, "--repeat", str(args.repeat),
               "--settle", str(args.settle), *extra] + ["--rounds"] * args.rounds + \
            (["--quick"] if args.quick else []) + (["--only", args.only] if args.only else [])
        print(f"{mode}:", file=sys.stderr, flush=True)
        proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, text=True)
        if proc.returncode != 0:  # the child's traceback went to stderr
            sys.exit(f"the {mode} pass failed (exit status {proc.returncode})")
        results[mode] = json.loads(proc.stdout.strip().splitlines()[-1])
        report = {"benchmark": "suite", "machine": machine(), "settle_s": args.settle,
                  "results": results,
                  "geomean_c_over_numba": {m: geomean([r["c_over_numba"]
                                                       for r in v.values()])
                                           for m, v in results.items()},
                  "geomean_best_c_over_numba": {m: geomean([r["min_c_over_numba"]
                                                            for r in v.values()])
                                                for m, v in results.items()}}
        write_json(args.out, report)  # after each pass: a run cut short keeps the others
    print(f"{report['machine']['cpu']}, {report['machine']['cores']} cores")
    print(table(results))
    print("geomean of the best times' ratios: " + ", ".join(
        f"{m} {g:.2f}x" for m, g in report["geomean_best_c_over_numba"].items()))


if __name__ == "__main__":
    main()
