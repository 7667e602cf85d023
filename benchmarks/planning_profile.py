"""Where ``--device auto`` spends its time over a pinned device on ``planning.py``'s
program, function by function: cProfile of the same runs under both, the functions whose
own time differs most, per run.

    python3 benchmarks/planning_profile.py [--runs 50] [--size 200] [--repeat 200]
                                           [--device c] [--top 12]

Each program is warmed up (its RUNs launch natively), then run ``--repeat`` times under
``auto`` and pinned to ``--device``, the two taking turns, each profiled. Output: text.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from planning import program_text  # noqa: E402

from pxos.host.native_call import AFTER_CALLS  # noqa: E402
from pxos.host.program import ProgramRun  # noqa: E402
from pxos.ir.check_host import check_program  # noqa: E402
from pxos.lang.px.parser import parse_program  # noqa: E402


def own_times(stats: pstats.Stats) -> dict:
    """(file:line function) -> (calls, own seconds)."""
    return {f"{Path(k[0]).name}:{k[1]} {k[2]}": (v[1], v[2]) for k, v in stats.stats.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--size", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=200)
    ap.add_argument("--device", default="c")
    ap.add_argument("--top", type=int, default=12)
    ap.add_argument("--loop", action="store_true", help="the host-loop form")
    args = ap.parse_args()
    os.environ.setdefault("PXOS_CACHE_DIR", tempfile.mkdtemp(prefix="pxos-profile-"))
    text = program_text(args.runs, args.size, args.loop)
    devices = [args.device, "auto"]
    programs = {d: check_program(parse_program(text, "<profile>")) for d in devices}
    profiles = {d: cProfile.Profile() for d in devices}
    for d in devices:
        for _ in range(AFTER_CALLS + 1):
            ProgramRun(programs[d], device=d, emit=lambda s: None).run()
    for _ in range(args.repeat):
        for d in devices:
            ProgramRun(programs[d], device=d, emit=lambda s: None).run()
            profiles[d].enable()
            ProgramRun(programs[d], device=d, emit=lambda s: None).run()
            profiles[d].disable()
    own = {d: own_times(pstats.Stats(profiles[d])) for d in devices}
    total = {d: sum(t for _, t in own[d].values()) / args.repeat for d in devices}
    print(f"per run, profiled: {args.device} {total[args.device] * 1e6:.1f} µs, auto "
          f"{total['auto'] * 1e6:.1f} µs")
    names = set(own["auto"]) | set(own[args.device])
    diff = sorted(names, key=lambda n: own["auto"].get(n, (0, 0))[1]
                  - own[args.device].get(n, (0, 0))[1], reverse=True)
    print("auto's own time over the pinned device's, per run (calls a run):")
    for name in diff[:args.top]:
        (ca, ta), (cp, tp) = own["auto"].get(name, (0, 0)), own[args.device].get(name, (0, 0))
        print(f"  {(ta - tp) / args.repeat * 1e6:+8.2f} µs  calls {ca / args.repeat:6.1f} "
              f"against {cp / args.repeat:6.1f}  {name}")


if __name__ == "__main__":
    main()
