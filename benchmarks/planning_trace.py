"""Where `--device auto`'s time goes on a short Floyd–Warshall program, step by step.

    python3 benchmarks/planning_trace.py [--runs 50] [--size 200] [--repeat 4]
                                         [--devices c,cuda] [--out trace.json] [--profile]

``benchmarks/planning.py`` gives the ratio (``auto`` ÷ the best pinned device); this says
why: for each run of the program (one untimed first run, then ``--repeat``) under ``auto``
and pinned to each device, the wall time, the time of its ``RUN`` steps (median and sum)
and of its other steps, the devices its ``RUN``s ran on, the plans made; for ``auto``,
the predictions of the first ``RUN``'s decision and the launch overheads the history has
learned (``planner/history``), and the calibrated figures the model used. Output: text on
stdout, and JSON with ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from planning import program_text  # noqa: E402

from pxos.host.program import ProgramRun  # noqa: E402
from pxos.ir.check_host import check_program  # noqa: E402
from pxos.lang.px.parser import parse_program  # noqa: E402
from pxos.planner.calibration import machine as this_machine  # noqa: E402
from pxos.planner.history import LAUNCHES, history_for  # noqa: E402


def one_run(program, device: str) -> dict:
    """One run of ``program`` on ``device``: its times and where its RUNs ran."""
    t0 = time.perf_counter()
    run = ProgramRun(program, device=device, emit=lambda s: None).run()
    wall = time.perf_counter() - t0
    runs = [s for s in run.steps if s.what == "RUN"]
    others = [s for s in run.steps if s.what != "RUN"]
    out = {"wall_ms": wall * 1e3,
           "run_median_us": statistics.median(s.seconds for s in runs) * 1e6,
           "run_sum_ms": sum(s.seconds for s in runs) * 1e3,
           "other_ms": {s.what: round(s.seconds * 1e3, 4) for s in others},
           "devices": dict(Counter(s.device for s in run.steps))}
    memo = next(iter(run._memo.plans.values()), None)
    if memo is not None:  # a run contradicted leaves a new follower, no decision kept
        out["plans"], out["decisions_kept"] = memo.follower.plans, len(memo.plans)
    decided = [s.decision for s in runs if s.decision is not None]
    for name, d in zip(("first_run", "second_run"), decided[:2]):
        out[f"{name}_estimates_us"] = {
            dev: {k: round(getattr(e, k) * 1e6, 2) for k in PARTS}
            for dev, e in d.estimates.items()}
        out[f"{name}_measured_us"] = round((d.measured or 0) * 1e6, 2)
        out[f"{name}_reason"] = d.reason
    return out


PARTS = ("seconds", "copies_s", "launch_s", "compile_s", "work_s")


def profiled(program, device: str, top: int = 14, runs: int = 10) -> str:
    """The functions of ``runs`` runs of ``program`` on ``device`` that took the most time
    of their own (cProfile), as text."""
    import cProfile
    import io
    import pstats

    prof = cProfile.Profile()
    prof.enable()
    for _ in range(runs):
        ProgramRun(program, device=device, emit=lambda s: None).run()
    prof.disable()
    text = io.StringIO()
    pstats.Stats(prof, stream=text).sort_stats("tottime").print_stats(top)
    return text.getvalue()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--size", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=4)
    ap.add_argument("--devices", default="c,cuda")
    ap.add_argument("--out", type=Path)
    ap.add_argument("--profile", action="store_true", help="and a cProfile of ten more runs")
    args = ap.parse_args()
    os.environ.setdefault("PXOS_CACHE_DIR", tempfile.mkdtemp(prefix="pxos-trace-"))
    machine = this_machine()
    devices = args.devices.split(",")
    figures = {d: {k: v for k, v in vars(machine.devices[d]).items()
                   if isinstance(v, (int, float)) and not isinstance(v, bool)}
               for d in devices if d in machine.devices}
    print("calibrated:", json.dumps(figures), flush=True)
    result = {"runs": args.runs, "size": args.size, "figures": figures, "devices": {}}
    text = program_text(args.runs, args.size, False)
    for device in ["auto", *devices]:
        program = check_program(parse_program(text, "<trace>"))
        rows = [one_run(program, device) for _ in range(1 + args.repeat)]
        result["devices"][device] = rows
        for i, row in enumerate(rows):
            print(f"{device:5} run {i}: {json.dumps(row)}", flush=True)
        if args.profile:
            print(profiled(program, device), flush=True)
    history = history_for(machine.key)
    result["launch_overheads_us"] = {k: [round(x * 1e6, 2) for x in v] for k, v in
                                     history.data.get(LAUNCHES, {}).items()}
    print("learned launch overheads (µs):", json.dumps(result["launch_overheads_us"]))
    if args.out:
        args.out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
