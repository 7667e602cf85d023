"""What ``pxos.profile()`` adds to one short kernel launch, by path (issue 20).

In one process, rounds of ``--launches`` back-to-back calls of a SAXPY ``@pxos.kernel`` on
``--n`` floats (host-bound: the launch path is the time), in four variants, their order
rotated each round:

* ``none``: unprofiled (on ``cuda``, the call on CuPy arrays is taken in C);
* ``pxos``: under ``pxos.profile(out=None)``: the call taken in C, recorded there;
* ``pxos-python-path``: under a profile, each call made through ``Kernel._call``, the
  Python frame every profiled call on device arrays ran before it was taken in C (so the
  run shows what that frame cost);
* ``none-python-path``: unprofiled through ``Kernel._call`` (the frame's own cost).

Each variant's figure: the median over rounds of wall µs per launch to the device's end
(and main-thread CPU µs per launch); overhead = a variant's median ÷ ``none``'s; the
fastest round's too (a round preempted by another job waits milliseconds). The
profiled variants' launch counts and source line are checked against the calls made.

    python3 benchmarks/profile_short_launches.py [--device cuda] [--rounds 9]
        [--launches 4000] [--n 4096] [--out FILE.json]

Output: JSON (machine, CPU, load average at start, every round's figures) and a summary
on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import numpy as np  # noqa: E402

import pxos  # noqa: E402

VARIANTS = ("none", "pxos", "pxos-python-path", "none-python-path")


@pxos.kernel
def saxpy(a: pxos.f32, x: pxos.Array[pxos.f32, 1], y: pxos.Array[pxos.f32, 1],
          out: pxos.Array[pxos.f32, 1]):
    for i in pxos.parallel(len(x)):
        out[i] = a * x[i] + y[i]


def _section(call, arrays, launches: int, device: str, sync) -> tuple[float, float]:
    """Wall and main-thread CPU seconds of ``launches`` calls, to the device's end."""
    x, out = arrays
    a = np.float32(2.0)
    t, c = time.perf_counter(), time.thread_time()
    for _ in range(launches):
        call(a, x, x, out, device=device)
    sync()
    return time.perf_counter() - t, time.thread_time() - c


def _variant(name: str, arrays, launches: int, device: str, sync) -> dict:
    call = saxpy._call if name.endswith("python-path") else saxpy
    if not name.startswith("pxos"):
        wall, cpu = _section(call, arrays, launches, device, sync)
        return {"wall_s": wall, "cpu_s": cpu}
    with pxos.profile(out=None) as p:
        wall, cpu = _section(call, arrays, launches, device, sync)
    (k,) = p.kernels
    line = _section.__code__.co_firstlineno + 6  # the call's line in _section
    return {"wall_s": wall, "cpu_s": cpu, "launches": k.launches, "timed": k.timed,
            "line_ok": k.line == line and k.file == __file__}


def measure(device: str, rounds: int, launches: int, n: int) -> dict:
    """Per variant: every round's figures, medians (µs per launch) and overheads."""
    xp, sync = np, (lambda: None)
    if device == "cuda":
        import cupy as xp

        sync = xp.cuda.Device().synchronize
    arrays = (xp.ones(n, np.float32), xp.empty(n, np.float32))
    for _ in range(3):  # compiled, prepared, and taken natively before the timing
        _section(saxpy, arrays, 64, device, sync)
    runs = {v: [] for v in VARIANTS}
    for r in range(rounds):
        for v in VARIANTS[r % len(VARIANTS):] + VARIANTS[:r % len(VARIANTS)]:
            runs[v].append(_variant(v, arrays, launches, device, sync))
    wall = {v: statistics.median(x["wall_s"] for x in rs) / launches * 1e6
            for v, rs in runs.items()}
    fastest = {v: min(x["wall_s"] for x in rs) / launches * 1e6 for v, rs in runs.items()}
    cpu = {v: statistics.median(x["cpu_s"] for x in rs) / launches * 1e6
           for v, rs in runs.items()}
    checks = {v: all(x["launches"] == launches and x["line_ok"] for x in rs)
              for v, rs in runs.items() if v.startswith("pxos")}
    return {"runs": runs, "wall_us_per_launch": wall, "cpu_us_per_launch": cpu,
            "fastest_wall_us_per_launch": fastest,
            "fastest_overhead": {v: w / fastest["none"] for v, w in fastest.items()},
            "overhead": {v: w / wall["none"] for v, w in wall.items()},
            "cpu_overhead": {v: c / cpu["none"] for v, c in cpu.items()},
            "added_wall_us_per_launch": {v: w - wall["none"] for v, w in wall.items()},
            "counts_and_lines_right": checks}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--launches", type=int, default=4000)
    ap.add_argument("--n", type=int, default=4096)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    from pxos.planner.calibration import cpu_model

    result = {"benchmark": "profile_short_launches", "machine": platform.node(),
              "cpu": cpu_model(), "device": args.device,
              "load_average_at_start": os.getloadavg(), "rounds": args.rounds,
              "launches": args.launches, "n": args.n,
              **measure(args.device, args.rounds, args.launches, args.n)}
    if args.out is not None:
        from pxos.atomic_write import write_atomic

        write_atomic(args.out.resolve(), json.dumps(result, indent=1).encode())
    for key in ("wall_us_per_launch", "overhead", "added_wall_us_per_launch",
                "fastest_wall_us_per_launch", "fastest_overhead",
                "cpu_us_per_launch", "cpu_overhead", "counts_and_lines_right"):
        print(key, {v: round(x, 4) if isinstance(x, float) else x
                    for v, x in result[key].items()})


if __name__ == "__main__":
    main()
