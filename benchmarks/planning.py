"""Planner cost: `pxos run --device auto` against each pinned device on long programs.

    python3 benchmarks/planning.py [--runs 500] [--size 500] [--repeat 3]
                                   [--out benchmarks/results/planning.json] [--devices c,cuda]

Cases (issue 14, "Planner cost"), each a generated Floyd–Warshall program on a
``size × size`` distance matrix:

* ``straight``: ``--runs`` top-level ``RUN fw d k`` statements, k = 0, 1, … (and the same
  program with a quarter and a half as many RUNs, to show how the time grows);
* ``loop``: the same work as one host loop ``FOR k IN 0..runs: RUN fw d k``.

Each program is parsed and checked once, run six times to build its kernels, calibrate
and teach the planner (``<device>_first_runs_s``), then run ``--repeat`` times per device, the devices taking turns (median wall
time of ``ProgramRun.run``, planning included). ``auto`` runs first after the pinned
devices, so its candidates' kernels are all built, as each pinned device's is (the steady
state, as ``benchmarks/placement.py`` times it): timed first, ``auto`` found only the
kernel its first run had built, for whichever device built faster, and a build of 0.1 s on
another device never pays back over a program whose 50 RUNs take a few milliseconds. Goals:
``auto`` at most 1.05 × the best pinned device, and its time linear in the number of RUNs.
``auto_over_best_pinned`` divides the medians; ``auto_over_best_pinned_paired`` is the
median of each round's ratio (``auto`` over the best pinned device's run of the same
round), which a slow spell of a shared machine moves less.
``auto_ran_on`` names the devices the planner chose, and ``auto_over_its_device`` (where it
chose one) isolates the planner's own cost from the quality of its choice;
``<device>_outside_steps_s`` is a run's time outside its statements' own (the planner's
share, without the kernels' noise). Output: JSON with the machine's description, and a
line a case on stdout.
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from pxos import backends  # noqa: E402
from pxos.host.native_call import AFTER_CALLS  # noqa: E402
from pxos.planner.decision import TAUGHT  # noqa: E402
from pxos.host.program import ProgramRun  # noqa: E402
from pxos.ir.check_host import check_program  # noqa: E402
from pxos.lang.px.parser import parse_program  # noqa: E402
from pxos.planner.calibration import cpu_model  # noqa: E402

KERNEL = """GPU_KERNEL fw
    GPU_PARAM d float[,]
    GPU_PARAM k int
GPU_THREAD_CODE:
    THREAD_ID → j, i
    SET via = d[i, k] + d[k, j]
    IF via < d[i, j]:
        STORE via → d[i, j]
GPU_END

ALLOC d float SIZE {n}, {n}
RANDOM d SEED 7 RANGE 1.0 100.0
"""


def program_text(runs: int, size: int, loop: bool) -> str:
    """A Floyd–Warshall program of the first ``runs`` relaxation steps (``runs <= size``)."""
    text = KERNEL.format(n=size)
    if loop:
        text += f"FOR k IN 0..{runs}:\n    RUN fw d k\n"
    else:
        text += "".join(f"RUN fw d {k}\n" for k in range(runs))
    return text + "REDUCE MIN d → shortest\nPRINT shortest\n"


def time_programs(text: str, devices: list[str], repeat: int) -> dict:
    """Per device of ``devices``: (median seconds of a run, median CPU seconds of this
    process during a run, the devices its RUNs ran on in the last run, median seconds of a
    run outside its steps: planning, and the interpreter between statements). Each device's
    program is run first until its RUNs launch natively and ``auto``'s decisions have
    settled (:data:`AFTER_CALLS <pxos.host.native_call.AFTER_CALLS>` runs: builds,
    calibrates; then :data:`TAUGHT <pxos.planner.decision.TAUGHT>` runs that teach the
    planner; in ``devices``' order; these runs' times are kept, as ``first_runs_s``),
    then the devices take turns, ``repeat`` rounds, so that a slow spell of a shared machine
    falls on all of them alike; in a round, a device's timed run comes right after an
    untimed run of its own (on the H200 machine, timed right after a ``cuda`` run, ``auto``
    on ``c`` took 1.1-1.56x the time of ``c`` in the same CPU time: likely its OpenMP
    threads asleep). The CPU time is steadier on a machine shared with other work (it misses
    a device's own time, and OpenMP threads spinning count)."""
    programs = {d: check_program(parse_program(text, "<planning>")) for d in devices}
    first = {d: [] for d in devices}
    for device in devices:  # until each RUN launches natively (host/native_call)
        for _ in range(AFTER_CALLS + TAUGHT):  # ... and auto's decisions settle
            t0 = time.perf_counter()
            ProgramRun(programs[device], device=device, emit=lambda s: None).run()
            first[device].append(time.perf_counter() - t0)
    times = {d: [] for d in devices}
    cpu = {d: [] for d in devices}
    outside = {d: [] for d in devices}
    runs = {}
    for _ in range(repeat):
        for device in devices:  # each timed run right after an untimed one of its own
            ProgramRun(programs[device], device=device, emit=lambda s: None).run()
            t0, c0 = time.perf_counter(), time.process_time()
            runs[device] = ProgramRun(programs[device], device=device,
                                      emit=lambda s: None).run()
            times[device].append(time.perf_counter() - t0)
            cpu[device].append(time.process_time() - c0)
            outside[device].append(times[device][-1] - sum(
                s.seconds for s in runs[device].steps))
    return {d: (statistics.median(times[d]), statistics.median(cpu[d]),
                sorted({s.device for s in runs[d].steps if s.what == "RUN"}),
                statistics.median(outside[d]), times[d], first[d])
            for d in devices}


def bench_case(runs: int, size: int, loop: bool, devices: list[str], repeat: int) -> dict:
    text = program_text(runs, size, loop)
    out = {"runs": runs, "size": size, "form": "loop" if loop else "straight"}
    timed = time_programs(text, [*devices, "auto"], repeat)
    for device, (wall, cpu, used, outside, rounds, first) in timed.items():
        out[f"{device}_s"], out[f"{device}_cpu_s"] = wall, cpu
        out[f"{device}_rounds_s"], out[f"{device}_first_runs_s"] = rounds, first
        out[f"{device}_outside_steps_s"] = outside
        if device == "auto":
            out["auto_ran_on"] = used
        print(f"  {out['form']:8} {runs:4} RUNs  {device:6} {wall:.4f} s", file=sys.stderr)
    best = min(out[f"{d}_s"] for d in devices)
    out["auto_over_best_pinned"] = out["auto_s"] / best
    # the same per round, auto against the pinned device best in that round: a slow spell
    # of a shared machine falls on both sides of each ratio
    out["auto_over_best_pinned_paired"] = statistics.median(
        a / min(timed[d][4][i] for d in devices) for i, a in enumerate(timed["auto"][4]))
    out["auto_over_best_pinned_cpu"] = out["auto_cpu_s"] / min(out[f"{d}_cpu_s"]
                                                               for d in devices)
    if len(out["auto_ran_on"]) == 1:  # the planner's own cost: auto ÷ the device it chose
        out["auto_over_its_device"] = out["auto_s"] / out[f"{out['auto_ran_on'][0]}_s"]
        out["auto_over_its_device_cpu"] = (out["auto_cpu_s"]
                                           / out[f"{out['auto_ran_on'][0]}_cpu_s"])
    print(f"  {out['form']:8} {runs:4} RUNs  auto ÷ best pinned "
          f"{out['auto_over_best_pinned']:.3f}", file=sys.stderr)
    return out


def machine() -> dict:
    cpu = cpu_model()  # /proc/cpuinfo's model name (planner/calibration)
    return {"device": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "host": platform.node(), "backends": backends.available()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--size", type=int, default=500, help="at least --runs")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/planning.json")
    parser.add_argument("--devices", help="comma-separated pinned devices to compare "
                        "(default: every backend present but interp)")
    args = parser.parse_args()
    devices = args.devices.split(",") if args.devices else \
        [d for d in backends.available() if d != "interp"]
    os.environ.setdefault("PXOS_CACHE_DIR", tempfile.mkdtemp(prefix="pxos-planning-"))
    cases = [bench_case(max(1, args.runs * f // 4), args.size, False, devices, args.repeat)
             for f in (1, 2, 4)]
    cases.append(bench_case(args.runs, args.size, True, devices, args.repeat))
    result = {"benchmark": "planning", "machine": machine(), "repeat": args.repeat,
              "goal": "auto <= 1.05 x the best pinned device; linear in RUNs",
              "cases": cases}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    for case in cases:  # one line a case: the full figures are in the JSON
        print(f"{case['form']:8} {case['runs']:4} RUNs  " + "  ".join(
            f"{d} {case[f'{d}_s'] * 1e3:.3f} ms" for d in [*devices, "auto"])
            + f"  auto ran on {','.join(case['auto_ran_on'])}, ÷ best pinned "
            f"{case['auto_over_best_pinned']:.3f} (paired by round "
            f"{case['auto_over_best_pinned_paired']:.3f}); outside its steps "
            f"{case['auto_outside_steps_s'] * 1e3:.3f} ms (best pinned's "
            f"{min(case[f'{d}_outside_steps_s'] for d in devices) * 1e3:.3f})")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
