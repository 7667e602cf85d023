"""What the advisor's fixes are worth: each bad/fixed pair of ``tests/ir/lint_cases/`` (the
``barrier`` pair aside: its bad case does not run), timed on every backend present.

    python3 benchmarks/lint.py [--quick] [--out FILE] [--repeat 5] [--backends c,cuda]

Each case's program is run as written with its ``SET n = …`` line rewritten to the
benchmark's size (4096 for the 2-D cases, a 4096 × 4096 transpose and a 4096 × 4104 blur;
2²⁴ elements for the 1-D ones; ``--quick``: 512 and 2²⁰), which compiles the kernel and
launches it once (the warm-up) and checks that bad and fixed give the same arrays. Then the
case's kernel is launched again ``--repeat`` times with the same arguments and the best time
is kept: wall-clock around launch and synchronize, by CUDA events on ``cuda``.

Backends: every one present except ``interp`` (NumPy in lock step; name it with
``--backends`` to include it). Output: JSON, to ``--out`` or standard output, with the
machine and, per case and backend, ``{device, backend, case, size, bad_s, fixed_s,
speedup, same_result}``; ``speedup`` is bad ÷ fixed (> 1: the fix is faster). The fixes are
GPU advice: on a CPU backend a shared-memory tile and its barriers cost time, and ``stride``
and ``divergence`` cost little, so speedups below 1 there are expected.
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from pxos import backends  # noqa: E402
from pxos.backends.base import HOST, make_launch  # noqa: E402
from pxos.host.program import ProgramRun  # noqa: E402
from pxos.ir import nodes as ir  # noqa: E402
from pxos.ir.analysis.features import launch_threads  # noqa: E402
from pxos.ir.check_host import check_program  # noqa: E402
from pxos.ir.typecheck import convert_value  # noqa: E402
from pxos.ir.types import Array  # noqa: E402
from pxos.lang.px.parser import parse_program  # noqa: E402
from pxos.planner.calibration import cpu_model  # noqa: E402
from pxos.planner.probes import best_time as probe_best_time  # noqa: E402

CASES_DIR = ROOT / "tests" / "ir" / "lint_cases"
CASES = {"stride": 2, "reuse": 2, "block": 1, "divergence": 1, "contention": 1}  # launch dims
SIZES = {False: {2: 4096, 1: 2**24}, True: {2: 512, 1: 2**20}}  # by --quick, then dims


def program_of(case: str, variant: str, n: int) -> ir.Program:
    """The checked program of ``<case>_<variant>.px`` with ``SET n = <n>``."""
    path = CASES_DIR / f"{case}_{variant}.px"
    text, count = re.subn(r"(?m)^SET n = .*$", f"SET n = {n}", path.read_text())
    if count != 1:
        raise SystemExit(f"{path}: expected one 'SET n = …' line")
    return check_program(parse_program(text, str(path)))


def launcher(run: ProgramRun, stmt: ir.Run, name: str):
    """A function that launches ``stmt``'s kernel once more on backend ``name`` with the
    arrays where ``run`` left them, and waits for it (as ``ProgramRun`` does for RUN)."""
    kernel = run.program.kernel(stmt.kernel)
    backend = backends.get(name)
    compiled = backend.compile(kernel)
    values = [run.values[a.name] if isinstance(p.type, Array) else
              p.type.dtype.type(convert_value(np.asarray(run.evaluate(a)).item(), p.type))
              for a, p in zip(stmt.args, kernel.params)]
    threads = launch_threads(kernel, {p.name: v for p, v in zip(kernel.params, values)})
    launch = make_launch(kernel, threads)
    placed = [(run.residency.on_host(a.name) if backend.memory == HOST
               else run.residency.on_device(backend.memory, a.name))
              if isinstance(p.type, Array) else v
              for a, v, p in zip(stmt.args, values, kernel.params)]

    def go():
        backend.launch(compiled, placed, launch)
        backend.synchronize()
    return go


def best_time(fn, name: str, repeat: int) -> float:
    """Seconds of one call of ``fn`` (which waits for its launch): by CUDA events on
    ``cuda`` (the median, as benchmarks/gpu.py times), else the best of ``repeat``."""
    if name == "cuda":
        import cupy as cp

        from gpu_timing import event_time
        return event_time(cp, fn, repeat)
    return probe_best_time(fn, repeat)


def arrays(run: ProgramRun) -> dict[str, np.ndarray]:
    return {k: run.residency.on_host(k).copy() for k, v in run.values.items()
            if isinstance(v, np.ndarray)}


def measure(case: str, name: str, n: int, repeat: int) -> dict:
    """Time the bad and the fixed kernel of ``case`` on backend ``name`` at size ``n``."""
    seconds, results = {}, {}
    for variant in ("bad", "fixed"):
        run = ProgramRun(program_of(case, variant, n), device=name, emit=lambda s: None)
        run.run()  # allocates, fills, compiles and launches once: the warm-up
        results[variant] = arrays(run)
        stmt = next(s for s in run.program.statements if isinstance(s, ir.Run))
        seconds[variant] = best_time(launcher(run, stmt, name), name, repeat)
    same = all(np.allclose(results["bad"][k], results["fixed"][k], rtol=1e-5, atol=1e-6)
               for k in results["bad"])
    return {"device": device_name(name), "backend": name, "case": case, "size": n,
            "bad_s": seconds["bad"], "fixed_s": seconds["fixed"],
            "speedup": seconds["bad"] / seconds["fixed"], "same_result": same}


def device_name(name: str) -> str:
    if name in ("cuda", "opencl"):
        return backends.get(name).device_name
    return cpu_model()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=None,
                        help="write the JSON here (default: print it)")
    parser.add_argument("--quick", action="store_true",
                        help="small sizes (512, 2**20), for a CPU-only check")
    parser.add_argument("--repeat", type=int, default=5, help="timed launches per kernel")
    parser.add_argument("--backends", default=None,
                        help="comma-separated backends (default: all present but interp)")
    parser.add_argument("--cases", default=",".join(CASES), help="comma-separated cases")
    args = parser.parse_args()
    names = (args.backends.split(",") if args.backends
             else [b for b in backends.available() if b != "interp"])
    report = {"host": platform.node(), "cpu": cpu_model(), "python": platform.python_version(),
              "quick": args.quick, "repeat": args.repeat, "results": []}
    for name in names:
        for case in args.cases.split(","):
            row = measure(case, name, SIZES[args.quick][CASES[case]], args.repeat)
            report["results"].append(row)
            print(f"{name:7} {case:11} n={row['size']:<9} bad {row['bad_s'] * 1e3:9.3f} ms  "
                  f"fixed {row['fixed_s'] * 1e3:9.3f} ms  speedup {row['speedup']:6.2f}"
                  f"{'' if row['same_result'] else '  RESULTS DIFFER'}",
                  file=sys.stderr, flush=True)
    text = json.dumps(report, indent=2)
    if args.out is None:
        print(text)
    else:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
        print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
