"""Overhead of ``pxos profile`` (issue 20's goal: at most 2 % at the default 1 kHz), with
pyinstrument and py-spy measured on the same programs in the same run as anchors.

What the goal measures: the program's run as its user sees it, profiled against not, each
in a fresh process as the user runs it (``wall``: the work section's wall time, median of
repeats). Starting the profiler and writing its files are once per run, reported apart
(``pxos_cli_median_wall_s``). Two steadier views of the same slowdown are reported beside
it, and all three are to be read together: ``wall, paired`` (each round's profiled run over
the unprofiled run of the same round: load that changes between rounds cancels) and ``in
one process`` (sections with and without ``pxos.profile()`` in turn: no process-to-process
differences of memory layout, and the least load change). On a machine shared with other
jobs the three differ by more than the goal (the wait for a core is in every wall time);
the main thread's CPU time (``main thread cpu``) leaves that wait out, and
``profile_costs.py`` measures the pieces. Check the goal on an idle machine.

    python3 benchmarks/profile_overhead.py [--device c] [--repeat 7] [--inner 5]
        [--programs kernel-heavy,host-heavy] [--modes none,pxos,...] [--out FILE.json]
    python3 benchmarks/profile_overhead.py --device cuda --only-cuda-events

Two programs, each run in a fresh process per measurement, which times its own work
section ``--inner`` times with ``time.perf_counter`` (a run's figure: the median of its
sections, the first of which pays for cold caches; start-up, imports and writing the outputs are not the
overhead asked about; the total wall time of ``pxos profile`` with its outputs is reported
beside it):

* ``kernel-heavy``: 4000 back-to-back launches of a SAXPY ``@pxos.kernel`` on 4096 floats
  (a short launch: the per-launch cost of the events dominates);
* ``host-heavy``: a NumPy-and-Python loop (the kind of loop the issue's anchor table was
  measured on) with a kernel launch every 1000 iterations.

The timed section is inside each profiler's block (starting a profile, and summarising
it at the end, are once per run, not a slowdown of the program).

Both the work section's wall time and its CPU time (``time.process_time``: every thread of
the process, the sampler's too; not py-spy's, which runs in a process of its own) are
reported: on a machine shared with other jobs the wall time mostly measures the wait for a
core, and the CPU time is the steadier figure.

Modes: ``none``; ``pxos`` (``with pxos.profile(out=None)``, default rate); ``pxos-cli``
(``pxos profile script.py``: the work section, and the process's whole wall time with the
four files written); ``pyinstrument`` (its ``Profiler(interval=0.001)``); ``py-spy``
(``py-spy record --rate 1000``, and ``--nonblocking``) when installed and allowed to
attach. Runs are interleaved round-robin; each mode's figure is the median of its
repeats; overhead = median ÷ median of ``none``; in-process overhead (``paired``): in one
process per round, ``2 × --inner`` pairs of work sections without and with
``pxos.profile()`` (in turn, each first in half of them), the median of the ratios over all
pairs (the steadiest figure on a loaded machine); paired overhead = the median over rounds
of a run's figure ÷ the ``none`` run's of the same round (steadier where the load changes).

With ``--device cuda`` (the H200), the ``cuda-events`` case also compares pxos's per-launch
kernel times with CUDA events recorded directly around the same launches (goal: medians
within 5 %).

Output: JSON with the machine (host name, CPU), the load average at start, every run's
seconds and the overheads.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
THREADS: dict = {}  # OMP_NUM_THREADS for the programs (--omp-threads)
INNER = [5]  # work sections per process (--inner)
LAUNCHES = {"kernel-heavy": 4000, "host-heavy": 6}  # kernel launches in each program
sys.path.insert(0, str(ROOT / "src"))

PROGRAM = '''\
import os, sys, time
import numpy as np
import pxos

@pxos.kernel
def saxpy(a: pxos.f32, x: pxos.Array[pxos.f32, 1], y: pxos.Array[pxos.f32, 1],
          out: pxos.Array[pxos.f32, 1]):
    for i in pxos.parallel(len(x)):
        out[i] = a * x[i] + y[i]

DEVICE = os.environ["BENCH_DEVICE"]
xp = np
if DEVICE == "cuda":
    import cupy as xp

def kernel_heavy():
    x = xp.ones(4096, np.float32); out = xp.empty_like(x)
    for _ in range(4000):
        saxpy(np.float32(2.0), x, x, out, device=DEVICE)
    if DEVICE == "cuda":
        xp.cuda.Device().synchronize()

def host_heavy():
    x = xp.ones(4096, np.float32); out = xp.empty_like(x)
    rng = np.random.default_rng(0)
    acc = 0.0
    for i in range(6000):
        a = rng.random(256)
        acc += float(np.sort(a)[128]) + sum(int(v * 10) for v in a[:16])
        if i % 1000 == 0:
            saxpy(np.float32(2.0), x, x, out, device=DEVICE)
    return acc

work = {"kernel-heavy": kernel_heavy, "host-heavy": host_heavy}[sys.argv[1]]
saxpy(np.float32(2.0), np.ones(8, np.float32), np.ones(8, np.float32),
      np.ones(8, np.float32), device=DEVICE)  # compiled before the timing
mode = os.environ.get("BENCH_MODE", "none")
INNER = int(os.environ.get("BENCH_INNER", "1"))


def sections():
    """The work section INNER times: its wall, process CPU and main thread CPU seconds."""
    for _ in range(INNER):
        t, c, m = time.perf_counter(), time.process_time(), time.thread_time()
        work()
        print("WORK", time.perf_counter() - t, time.process_time() - c,
              time.thread_time() - m)


if mode == "paired":  # in one process: unprofiled and profiled sections, in turn
    for i in range(2 * INNER):
        times = {}
        for profiled in ((False, True) if i % 2 else (True, False)):
            if profiled:
                with pxos.profile(out=None):
                    t = time.perf_counter()
                    work()
                    times[True] = time.perf_counter() - t
            else:
                t = time.perf_counter()
                work()
                times[False] = time.perf_counter() - t
        print("PAIR", times[False], times[True])
elif mode == "pxos":
    with pxos.profile(out=None):
        sections()
elif mode == "pyinstrument":
    from pyinstrument import Profiler
    with Profiler(interval=0.001):
        sections()
else:
    sections()
'''


def _run(script: Path, program: str, mode: str, device: str, folder: Path) -> dict:
    env = dict(os.environ, BENCH_DEVICE=device, BENCH_MODE=mode, **THREADS,
               PYTHONPATH=os.pathsep.join([str(ROOT / "src"),
                                           os.environ.get("PYTHONPATH", "")]))
    cmd = [sys.executable, str(script), program]
    if mode == "pxos-cli":
        env["BENCH_MODE"] = "none"
        cmd = [sys.executable, "-m", "pxos.cli.main", "profile", str(script), program,
               "-o", str(folder / "out")]
    elif mode.startswith("py-spy"):
        env["BENCH_MODE"] = "none"
        flags = ["--nonblocking"] if mode.endswith("nonblocking") else []
        cmd = ["py-spy", "record", "--rate", "1000", *flags, "-o",
               str(folder / "spy.txt"), "-f", "raw", "--", *cmd]
    env["BENCH_INNER"] = str(INNER[0])
    t = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    wall = time.perf_counter() - t
    pairs = [x.split() for x in done.stdout.splitlines() if x.startswith("PAIR ")]
    if pairs and done.returncode == 0:  # mode "paired": profiled ÷ unprofiled, per pair
        return {"ratios": [float(b) / float(a) for _, a, b in pairs], "wall_s": wall}
    lines = [x.split() for x in done.stdout.splitlines() if x.startswith("WORK ")]
    if done.returncode != 0 or not lines:
        return {"error": (done.stderr or done.stdout)[-400:]}
    # the median of the process's sections (the first pays for cold caches)
    return {"work_s": statistics.median(float(x[1]) for x in lines),
            "cpu_s": statistics.median(float(x[2]) for x in lines),
            "main_cpu_s": statistics.median(float(x[3]) for x in lines), "wall_s": wall,
            "sections_work_s": [float(x[1]) for x in lines]}


def _py_spy_works(folder: Path) -> bool:
    if shutil.which("py-spy") is None:
        return False
    done = subprocess.run(["py-spy", "record", "-o", str(folder / "probe.txt"), "-f", "raw",
                           "--", sys.executable, "-c", "pass"], capture_output=True)
    return done.returncode == 0


def overheads(device: str, repeat: int, programs=("kernel-heavy", "host-heavy"),
              only=None) -> dict:
    """Per program and mode: every run's figures, the medians and the overheads
    (``only``: these modes, ``none`` always among them)."""
    folder = Path(tempfile.mkdtemp(prefix="pxos-overhead-"))
    script = folder / "program.py"
    script.write_text(PROGRAM)
    modes = ["none", "pxos", "pxos-cli", "paired"]
    try:
        import pyinstrument  # noqa: F401
        modes.append("pyinstrument")
    except ImportError:
        pass
    if _py_spy_works(folder):
        modes += ["py-spy", "py-spy-nonblocking"]
    if only:
        modes = [m for m in modes if m in only or m == "none"]
    out = {}
    for program in programs:
        runs = {m: [] for m in modes}
        for _ in range(repeat):
            for m in modes:  # interleaved: load changes affect every mode alike
                runs[m].append(_run(script, program, m, device, folder))
        ratios = [x for r in runs.pop("paired", ()) for x in r.get("ratios", ())]
        medians = {m: statistics.median(r["work_s"] for r in rs if "work_s" in r)
                   for m, rs in runs.items() if any("work_s" in r for r in rs)}
        cpu = {m: statistics.median(r["cpu_s"] for r in rs if "cpu_s" in r)
               for m, rs in runs.items() if any("cpu_s" in r for r in rs)}
        main = {m: statistics.median(r["main_cpu_s"] for r in rs if "main_cpu_s" in r)
                for m, rs in runs.items() if any("main_cpu_s" in r for r in rs)}
        out[program] = {
            "runs": runs, "median_work_s": medians, "median_cpu_s": cpu,
            "overhead": {m: v / medians["none"] for m, v in medians.items()},
            # per round, the mode's run over the unprofiled run next to it: load that
            # changes between rounds cancels
            "paired_overhead": {m: _paired(runs[m], runs["none"]) for m in medians},
            # pxos.profile() in one process: sections with and without it, in turn
            "in_process_overhead": statistics.median(ratios) if ratios else None,
            "in_process_ratios": ratios,
            "cpu_overhead": {m: v / cpu["none"] for m, v in cpu.items()},
            # the program's own thread: what sampling and records cost it, without the
            # waits for a core that the load adds to the wall time
            "main_cpu_overhead": {m: v / main["none"] for m, v in main.items()},
            # what profiling adds to one launch (kernel-heavy: its work is the launches)
            "added_cpu_us_per_launch": {m: (v - cpu["none"]) / LAUNCHES[program] * 1e6
                                        for m, v in cpu.items() if m != "none"},
            "pxos_cli_median_wall_s": statistics.median(
                [r["wall_s"] for r in runs.get("pxos-cli", ()) if "wall_s" in r] or [0]),
            "none_median_wall_s": statistics.median(
                r["wall_s"] for r in runs["none"] if "wall_s" in r)}
    shutil.rmtree(folder, ignore_errors=True)
    return out


def _paired(runs: list, base: list) -> float | None:
    """The median over rounds of a mode's work time over the unprofiled run's."""
    ratios = [r["work_s"] / b["work_s"] for r, b in zip(runs, base)
              if "work_s" in r and "work_s" in b]
    return statistics.median(ratios) if ratios else None


def cuda_events(launches: int = 2000, n: int = 1 << 24) -> dict:
    """pxos's per-launch kernel times against CUDA events recorded here around the same
    backend launches (median of each), on one kernel of ``n`` floats."""
    import cupy
    import numpy as np

    import pxos
    from pxos import backends
    from pxos.backends.base import make_launch

    @pxos.kernel
    def scale(x: pxos.Array[pxos.f32, 1], out: pxos.Array[pxos.f32, 1]):
        for i in pxos.parallel(len(x)):
            out[i] = 2.0 * x[i] + 1.0

    x = cupy.ones(n, np.float32)
    out = cupy.empty_like(x)
    scale(x, out, device="cuda")
    with pxos.profile(out=None) as p:
        for _ in range(launches):
            scale(x, out, device="cuda")
    profiled = statistics.median(p.kernels[0].times_s)
    kernel = scale.ir(x, out)
    backend = backends.get("cuda")
    compiled = backend.compile(kernel)
    launch = make_launch(kernel, (n,))
    pairs = []
    for _ in range(launches):
        a, b = cupy.cuda.Event(), cupy.cuda.Event()
        a.record()
        backend.launch(compiled, [x, out], launch)
        b.record()
        pairs.append((a, b))
    cupy.cuda.Device().synchronize()
    direct = statistics.median(cupy.cuda.get_elapsed_time(a, b) / 1e3 for a, b in pairs)
    return {"launches": launches, "elements": n, "pxos_median_s": profiled,
            "cuda_events_median_s": direct, "ratio": profiled / direct,
            "within_5_percent": abs(profiled / direct - 1) <= 0.05,
            "short_launches": _cuda_short_launches(scale)}


def _cuda_short_launches(scale, launches: int = 4000, n: int = 4096, pairs: int = 7) -> dict:
    """In one process: ``launches`` back-to-back launches of ``scale`` on ``n`` floats
    (host-bound: the launch path is the time), unprofiled and under ``pxos.profile()`` in
    turn, each first in half of the pairs; wall seconds to the device's end, the median
    ratio of the pairs."""
    import cupy
    import numpy as np

    import pxos

    x = cupy.ones(n, np.float32)
    out = cupy.empty_like(x)

    def work():
        t = time.perf_counter()
        for _ in range(launches):
            scale(x, out, device="cuda")
        cupy.cuda.Device().synchronize()
        return time.perf_counter() - t

    work()
    ratios, plain, profiled_s = [], [], []
    for i in range(pairs):
        times = {}
        for profiled in ((False, True) if i % 2 else (True, False)):
            if profiled:
                with pxos.profile(out=None):
                    times[True] = work()
            else:
                times[False] = work()
        ratios.append(times[True] / times[False])
        plain.append(times[False])
        profiled_s.append(times[True])
    return {"launches": launches, "elements": n, "unprofiled_us_per_launch":
            statistics.median(plain) / launches * 1e6, "profiled_us_per_launch":
            statistics.median(profiled_s) / launches * 1e6, "ratios": ratios,
            "overhead": statistics.median(ratios)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="c")
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--omp-threads", type=int, default=None,
                    help="OpenMP threads of the c backend in the programs (on a machine "
                         "shared with other jobs, 1 keeps the launch times steady)")
    ap.add_argument("--inner", type=int, default=5,
                    help="work sections per process (each run's figure is their median)")
    ap.add_argument("--programs", default="kernel-heavy,host-heavy")
    ap.add_argument("--modes", default=None,
                    help="comma-separated modes to run (default: all available)")
    ap.add_argument("--only-cuda-events", action="store_true",
                    help="only the cuda-events comparison (with --device cuda)")
    ap.add_argument("--no-cuda-events", action="store_true",
                    help="with --device cuda, leave the cuda-events comparison out")
    args = ap.parse_args()
    INNER[0] = args.inner
    if args.omp_threads:
        THREADS["OMP_NUM_THREADS"] = str(args.omp_threads)
    from pxos.planner.calibration import cpu_model

    result = {"benchmark": "profile_overhead", "machine": platform.node(),
              "cpu": cpu_model(), "cores": os.cpu_count(), "device": args.device,
              "load_average_at_start": os.getloadavg(), "repeat": args.repeat,
              "omp_threads": args.omp_threads, "inner": args.inner,
              "programs": {} if args.only_cuda_events else overheads(
                  args.device, args.repeat, args.programs.split(","),
                  args.modes and args.modes.split(","))}
    if args.device == "cuda" and not args.no_cuda_events:
        result["cuda_events"] = cuda_events()
    text = json.dumps(result, indent=1)
    if args.out is not None:
        from pxos.atomic_write import write_atomic

        write_atomic(args.out.resolve(), text.encode())
    for program, r in result["programs"].items():
        print(program, "wall", {m: round(v, 3) for m, v in r["overhead"].items()})
        print(program, "wall, paired", {m: round(v, 3) for m, v in r["paired_overhead"].items()
                                          if v is not None})
        print(program, "cpu ", {m: round(v, 3) for m, v in r["cpu_overhead"].items()})
        print(program, "main thread cpu",
              {m: round(v, 3) for m, v in r["main_cpu_overhead"].items()})
        print(program, "pxos in one process, paired sections:",
              r["in_process_overhead"] and round(r["in_process_overhead"], 4),
              f"({len(r['in_process_ratios'])} pairs)")
        print(program, "cpu µs added per launch",
              {m: round(v, 2) for m, v in r["added_cpu_us_per_launch"].items()})
    if "cuda_events" in result:
        print("cuda events", result["cuda_events"])


if __name__ == "__main__":
    main()
