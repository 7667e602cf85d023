"""Start-up costs of pxos, each measured in fresh Python processes (issue 14, "Start-up").

    python3 benchmarks/startup.py [--out benchmarks/results/startup.json] [--repeat 7]
                                  [--no-calibrate | --only-calibrate]
                                  [--calibrate-repeat 1] [--timeline] [--bytecode]

Cases (each the median of ``--repeat`` fresh processes):
* ``python3 -c pass``: the interpreter's own start, for scale;
* ``import numpy`` alone: wall time of the process and its peak RSS (``ru_maxrss``);
* ``import numpy; import pxos``: the same, and the difference to the line above
  (goal: at most 100 ms and 10 MB more);
* ``pxos --help`` (``python3 -m pxos.cli.main --help``): wall time (goal: at most 300 ms),
  beside ``python3 -c pass`` and ``python3 -S -c pass`` in the same rounds (what the
  interpreter and its ``site`` take alone);
* parsing a first `.px` file (``examples/edges.px``'s text) in a fresh process, after the
  parser module is imported: the time of ``parse_program`` minus the time of reading the
  file (goal: at most 20 ms), in wall and in CPU time (steadier on a loaded machine); the
  grammar cache is warmed by one run first, as after the first use on a machine (the
  tables ship with pxos: ``lang/px/tables``); beside it, the time of importing the parser
  and whether parsing loaded Lark (a file of well-formed lines parses without it:
  ``lang/px/fast_parse``);
* ``pxos calibrate`` in a fresh, empty cache folder (goal: at most 1 s on a CPU-only
  machine, 3 s on a GPU machine); one run, as calibration runs once per machine, or the
  median of ``--calibrate-repeat`` runs, each in empty folders of its own (pxos's and
  CuPy's caches).

Each process runs with this tree's ``src`` first on ``PYTHONPATH`` and its own cache folder.
Output: JSON with the machine's description; times in seconds, memory in MB.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_RSS = "import resource; print('RSS', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
# `pxos calibrate`'s steps as they happen, in its order: wall and CPU seconds (this process;
# compilers)
_TIMELINE = """
import resource, time
t0 = time.perf_counter()
def say(step):
    me, kids = (resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    print(f"{time.perf_counter() - t0:6.3f} s  cpu {me.ru_utime + me.ru_stime:6.3f} + "
          f"{kids.ru_utime + kids.ru_stime:6.3f} s  {step}", flush=True)
import pxos.cli.main, pxos.cli.planner; say("import pxos.cli")
from pxos.planner.probe_source import start; early = start(); say("started gcc on probes.c")
import numpy; say("import numpy")
from pxos.planner.calibration import calibrate; say("import calibration")
found = calibrate(progress=say, early=early); say("stored")
"""
_PARSE = """
import sys, time, pathlib
t, c = time.perf_counter(), time.process_time()
from pxos.lang.px.parser import parse_program
t0, c0 = time.perf_counter(), time.process_time()
text = pathlib.Path({path!r}).read_text(encoding='utf-8')
t1, c1 = time.perf_counter(), time.process_time()
parse_program(text, {path!r})
t2, c2 = time.perf_counter(), time.process_time()
print('READ', t1 - t0); print('PARSE', t2 - t1)
print('READCPU', c1 - c0); print('PARSECPU', c2 - c1)
print('IMPORT', t0 - t); print('LARK', int('lark' in sys.modules))
"""


_SRC = [ROOT / "src"]  # where the processes import pxos from (--bytecode: a copy)


def _env(cache: Path) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(_SRC[0]) + os.pathsep + env.get("PYTHONPATH", "")
    env["PXOS_CACHE_DIR"] = str(cache)
    return env


def precompile(folder: Path) -> None:
    """Copy pxos's package into ``folder`` and compile its modules there (``compileall``:
    ``__pycache__`` beside the sources), and import pxos from that copy in every case:
    pxos as ``pip install`` leaves it. Without it, where ``PYTHONDONTWRITEBYTECODE`` is
    set (as on the 2-core development machine), every fresh process compiles each pxos
    module it imports from source (NumPy and the other installed packages have theirs)."""
    shutil.copytree(ROOT / "src" / "pxos", folder / "pxos",
                    ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([sys.executable, "-m", "compileall", "-q", "-j", "0",
                    str(folder / "pxos")], check=True)
    _SRC[:] = [folder]


def _run(args: list[str], env: dict) -> tuple[float, dict]:
    """Wall time of one fresh process and the ``KEY value`` lines it printed."""
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True,
                          check=True)
    seconds = time.perf_counter() - t0
    values = {}
    for line in done.stdout.splitlines():
        key, _, value = line.partition(" ")
        if key.isupper() and value:
            try:
                values[key] = float(value)
            except ValueError:
                pass
    return seconds, values


def _median_runs(args: list[str], env: dict, repeat: int) -> dict:
    runs = [_run(args, env) for _ in range(repeat)]
    out = {"wall_s": statistics.median(r[0] for r in runs)}
    for key in runs[0][1]:
        out[key.lower()] = statistics.median(r[1][key] for r in runs)
    return out


def bench_import(env: dict, repeat: int) -> dict:
    cases = {"python": ["-c", "pass"], "numpy": ["-c", "import numpy; " + _RSS],
             "both": ["-c", "import numpy; import pxos; " + _RSS]}
    runs: dict[str, list] = {name: [] for name in cases}
    for _ in range(repeat):  # interleaved, so a busy moment weighs on every case alike
        for name, args in cases.items():
            runs[name].append(_run(args, env))
    wall = {name: statistics.median(r[0] for r in got) for name, got in runs.items()}
    rss = {name: statistics.median(r[1]["RSS"] for r in runs[name]) / 1024
           for name in ("numpy", "both")}
    return {"python_s": wall["python"], "numpy_s": wall["numpy"],
            "numpy_rss_mb": rss["numpy"], "numpy_pxos_s": wall["both"],
            "numpy_pxos_rss_mb": rss["both"], "pxos_adds_s": wall["both"] - wall["numpy"],
            "pxos_adds_rss_mb": rss["both"] - rss["numpy"],
            "goal": "adds <= 0.100 s and <= 10 MB"}


def bench_help(env: dict, repeat: int) -> dict:
    """``pxos --help``, interleaved with the bare interpreter (``python3 -c pass``, which
    runs ``site`` and whatever ``.pth`` files import: on some machines ``certifi``) and
    with ``python3 -S -c pass`` (no ``site``), so the figure can be read against both."""
    cases = {"help": ["-m", "pxos.cli.main", "--help"], "python": ["-c", "pass"],
             "python_no_site": ["-S", "-c", "pass"]}
    runs: dict[str, list] = {name: [] for name in cases}
    for _ in range(repeat):
        for name, args in cases.items():
            runs[name].append(_run(args, env)[0])
    wall = {name: statistics.median(got) for name, got in runs.items()}
    return {"wall_s": wall["help"], "python_s": wall["python"],
            "python_no_site_s": wall["python_no_site"],
            "help_over_python_s": wall["help"] - wall["python"], "goal": "<= 0.300 s"}


def bench_parse(env: dict, repeat: int) -> dict:
    path = str(ROOT / "examples" / "edges.px")
    _run(["-c", _PARSE.format(path=path)], env)  # warms the grammar cache
    run = _median_runs(["-c", _PARSE.format(path=path)], env, repeat)
    return {"file": "examples/edges.px", "read_s": run["read"], "parse_s": run["parse"],
            "parse_over_read_s": run["parse"] - run["read"],
            "parse_over_read_cpu_s": run["parsecpu"] - run["readcpu"],  # steadier, loaded
            "import_parser_s": run["import"], "lark_loaded": bool(run["lark"]),
            "goal": "<= 0.020 s over reading"}


def bench_calibrate(root: Path, repeat: int = 1) -> dict:
    """``pxos calibrate`` in an empty cache folder, ``repeat`` times (each in a fresh one):
    wall time, and the CPU time of the process and its children (the compilers), steadier
    on a loaded machine; medians, and the single runs. ``in_process_s``: the time
    calibration itself reports (``Machine.seconds``: from the first build to the figures
    stored, without Python's start and the imports). Each run has its own ``PXOS_CACHE_DIR``
    and ``CUPY_CACHE_DIR`` (CuPy's kernel cache), both empty: a fresh machine's."""
    runs = []
    for i in range(repeat):
        env = _env(root / f"calibrate-cache-{i}")
        env["CUPY_CACHE_DIR"] = str(root / f"cupy-cache-{i}")
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        seconds, _ = _run(["-m", "pxos.cli.main", "calibrate"], env)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        stored = json.loads(next((root / f"calibrate-cache-{i}" / "calibration").glob(
            "*.json")).read_text())
        runs.append({"wall_s": seconds, "cpu_s": cpu, "in_process_s": stored["seconds"],
                     "pending": stored["pending"], "hybrid": stored["hybrid"],
                     "devices": {name: _figures(d) for name, d in stored["devices"].items()}})
    out = {key: statistics.median(r[key] for r in runs)
           for key in ("wall_s", "cpu_s", "in_process_s")}
    return {**out, "min_wall_s": min(r["wall_s"] for r in runs), "runs": runs,
            "goal": "<= 1 s CPU-only, <= 3 s with a GPU"}


def timeline(root: Path) -> None:
    """Print one fresh calibration's steps with their wall and CPU times (empty caches)."""
    env = _env(root / "timeline-cache")
    env["CUPY_CACHE_DIR"] = str(root / "timeline-cupy-cache")
    subprocess.run([sys.executable, "-c", _TIMELINE], env=env, check=True)


def _figures(d: dict) -> dict:
    """A device's main calibrated figures, rounded: µs, GB/s, G operations/s, ms."""
    out = {"launch_us": d["launch_s"] * 1e6, "bandwidth_GBps": d["bandwidth"] / 1e9,
           "ops_G": d["ops_rate"] / 1e9, "vector_G": d["vector_rate"] / 1e9,
           "serial_G": d["serial_rate"] / 1e9, "compile_ms": d["compile_s"] * 1e3}
    if d.get("upload"):
        out.update(up_GBps=d["upload"] / 1e9, down_GBps=d["download"] / 1e9)
    return {k: round(v, 3) for k, v in out.items()}


def machine() -> dict:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from pxos.planner.calibration import cpu_model  # after the timed fresh processes

    cpu = cpu_model()  # /proc/cpuinfo's model name
    return {"device": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "host": platform.node()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/startup.json")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--no-calibrate", action="store_true",
                        help="Skip the `pxos calibrate` case.")
    parser.add_argument("--bytecode", action="store_true",
                        help="Precompile pxos's modules first, as `pip install` does "
                             "(see precompile).")
    parser.add_argument("--timeline", action="store_true",
                        help="First print one fresh calibration's steps as they happen.")
    parser.add_argument("--only-calibrate", action="store_true",
                        help="Only the `pxos calibrate` case.")
    parser.add_argument("--calibrate-repeat", type=int, default=1,
                        help="Fresh `pxos calibrate` runs (default 1: it runs once per "
                             "machine; more for a median on a busy machine).")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pxos-startup-") as tmp:
        if args.bytecode:
            precompile(Path(tmp) / "src")
        if args.timeline:
            timeline(Path(tmp))
        env = _env(Path(tmp) / "cache")
        result = {"benchmark": "startup", "machine": machine(), "repeat": args.repeat,
                  "bytecode": "precompiled" if args.bytecode else dict(
                      os.environ).get("PYTHONDONTWRITEBYTECODE") and "compiled per process"
                  or "written by the first process"}
        if not args.only_calibrate:
            result.update({"import": bench_import(env, args.repeat),
                           "help": bench_help(env, args.repeat),
                           "parse": bench_parse(env, args.repeat)})
        if not args.no_calibrate:
            result["calibrate"] = bench_calibrate(Path(tmp), args.calibrate_repeat)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
