"""A 2-D stencil on every core of a machine: the C target's build under variants of its
block loop against Numba, timed as ``benchmarks/suite.py`` times it, to find why a case
is slower than Numba on many cores when it is not on two (issue 15).

    python3 benchmarks/stencil_threads.py [--out benchmarks/results/stencil_threads.json]
                                          [--repeat 7] [--settle 0.1] [--budget 50]
                                          [--envs close,spread,active,passive]
                                          [--case jacobi2d|conv2d] [--no-numpy]
                                          [--variants default,openmp]

Each variant is the generated C of the suite's ``--case`` (``jacobi2d``: 1000² f64,
``conv2d``: 2000² f32) with one change:
its 2-D block shape (``codegen/c.CPU_BLOCKS``), the ``schedule`` or ``num_threads`` clause of
its OpenMP loop, the OpenMP loop instead of the block pool (``openmp``;
``backends/block_pool``), no memory-fault guard (``codegen/guard``: the plain OpenMP
loop), or a compiler flag. All are
built at once (one compiler process each, in parallel), checked against NumPy, and
launched through ``CBackend.launch``; ``suite`` is the user's call (``K.jacobi2d(a, b)``,
the native launcher) and ``numba`` the suite's ``@njit(parallel=True)`` kernel
(``numpy``, its reference, takes its turn as in the suite unless ``--no-numpy``). Four
figures per side, all wall time in seconds (medians):

- ``loop``: the suite's measure, ten time steps of two launches each (``a → b``, ``b → a``),
  each timed loop ``--settle`` seconds after the one before (the team asleep);
- ``first``: the loop's first launch alone (waking the team);
- ``hot``: one launch among launches back to back (the team awake);
- ``tiny``: one launch on a 34-row array (16 blocks: the cost of a launch itself).

``ratio`` is the side's ``loop`` ÷ Numba's; each side's loops are also printed round by
round. Then, for each of ``--envs``, a child process
runs the default build and Numba again under an OpenMP environment (``close``:
``OMP_PROC_BIND=close OMP_PLACES=cores``; ``spread``; ``active``/``passive``:
``OMP_WAIT_POLICY``; ``spin 20000``: ``GOMP_SPINCOUNT``). The script stops starting new parts after ``--budget`` seconds.
Output: a table on stdout and JSON (machine, ``lscpu``'s summary, load) written
atomically.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import suite_kernels as K  # noqa: E402
from pxos.backends import c as cbackend  # noqa: E402
from pxos.backends.base import make_launch  # noqa: E402
from pxos.codegen import c as ccode  # noqa: E402

START = time.perf_counter()
LOOP = "#pragma omp parallel for schedule(static)"
# name -> (2-D block shape or None, (old, new) text replacements, extra flags, guarded)
VARIANTS = {
    "default": (None, (), (), True),
    "openmp": (None, (("else if (!pxos_run_blocks(", "else if (1 || !pxos_run_blocks("),),
               (), True),
    "no guard": (None, (), (), False),
    "block 1024x1": ((1024, 1), (), (), True),
    "block 1024x4": ((1024, 4), (), (), True),
    "block 1024x8": ((1024, 8), (), (), True),
    "block 1024x16": ((1024, 16), (), (), True),
    "block 256x8": ((256, 8), (), (), True),
    "static 1": (None, (("schedule(static)", "schedule(static, 1)"),), (), True),
    "dynamic 4": (None, (("schedule(static)", "schedule(dynamic, 4)"),), (), True),
    "guided": (None, (("schedule(static)", "schedule(guided)"),), (), True),
    "proc_bind close": (None, (("#pragma omp parallel num_threads",
                                 "#pragma omp parallel proc_bind(close) num_threads"),), (),
                        True),
    "half the threads": (None, (("omp_get_max_threads()", "(omp_get_max_threads() / 2)"),),
                         (), True),
    "one thread less": (None, (("omp_get_max_threads()", "(omp_get_max_threads() - 1)"),),
                        (), True),
    "vector 512": (None, (), ("-mprefer-vector-width=512",), True),
    "no avx512": (None, (), ("-mno-avx512f",), True),
}
ENVS = {"close": {"OMP_PROC_BIND": "close", "OMP_PLACES": "cores"},
        "spin 20000": {"GOMP_SPINCOUNT": "20000"},
        "spread": {"OMP_PROC_BIND": "spread", "OMP_PLACES": "cores"},
        "active": {"OMP_WAIT_POLICY": "active"}, "passive": {"OMP_WAIT_POLICY": "passive"}}
STEPS = 10
# --case: (array shape, tiny shape, dtype); the kernels are suite_kernels' of that name
CASES = {"jacobi2d": ((1000, 1000), (34, 1000), np.float64),
         "conv2d": ((2000, 2000), (34, 2000), np.float32)}


def source(kernel, variant: str) -> str:
    """The C translation unit of ``kernel`` under ``variant`` (module globals restored)."""
    blocks, edits, _, guarded = VARIANTS[variant]
    saved = dict(ccode.CPU_BLOCKS)
    if blocks is not None:
        ccode.CPU_BLOCKS[2, False] = blocks
    try:
        text = ccode.render_c(kernel, False, guard=guarded, restrict=True).source
    finally:
        ccode.CPU_BLOCKS.clear()
        ccode.CPU_BLOCKS.update(saved)
    for old, new in edits:
        if old not in text:
            raise SystemExit(f"variant {variant!r}: {old!r} is not in the generated C")
        text = text.replace(old, new)
    return text


def build_all(c, kernel, variants: list[str], tmp: Path) -> dict:
    """Every variant compiled at once (one compiler process each), loaded by ``c``."""
    procs = {}
    for v in variants:
        stem = tmp / f"v{len(procs)}"
        stem.with_suffix(".c").write_text(source(kernel, v))
        procs[v] = (stem.with_suffix(".so"), subprocess.Popen(
            [c.cc, *cbackend.FLAGS, *VARIANTS[v][2], str(stem.with_suffix(".c")), "-o",
             str(stem.with_suffix(".so")), "-lm"], stderr=subprocess.PIPE, text=True))
    c.load_guard()
    built = {}
    for v, (so, proc) in procs.items():
        if proc.wait() != 0:
            raise SystemExit(f"variant {v!r} did not compile:\n{proc.stderr.read()[-2000:]}")
        src = ccode.render_c(kernel, False, guard=VARIANTS[v][3], restrict=True)
        built[v] = c.load(src, SimpleNamespace(path=so, hit=False))
    return built


def sides(variants: list[str], tmp: Path, case: str, numpy: bool) -> tuple[dict, dict]:
    """name -> launch(a, b) for the big and the tiny arrays; each checked against NumPy."""
    c = cbackend.CBackend()
    shape, tiny_shape, dtype = CASES[case]
    px, ref = getattr(K, case), getattr(K, "np_" + case)
    a0 = np.random.default_rng(0).random(shape).astype(dtype)
    kernel = px.ir(a0, a0.copy())
    built = build_all(c, kernel, variants, tmp)
    nb = K.numba_kernels()[case]
    big, tiny = make_launch(kernel, shape[::-1]), make_launch(kernel, tiny_shape[::-1])
    out = {"numba": (nb, nb), "suite": (px, px)}
    if numpy:  # in the rotation as in the suite
        out["numpy"] = (ref, ref)
    for v, ck in built.items():
        out[v] = tuple((lambda a, b, ck=ck, n=n: c.launch(ck, [a, b], n)) for n in (big, tiny))
    want = np.zeros_like(a0)
    ref(a0, want)
    for name, (fn, _) in out.items():
        got = np.zeros_like(a0)
        for _ in range(4):  # the user's call goes native at the third
            fn(a0, got)
        if not np.allclose(got[1:-1, 1:-1], want[1:-1, 1:-1], rtol=1e-5, atol=1e-6):
            raise SystemExit(f"{name}: disagrees with NumPy")
    return ({n: f[0] for n, f in out.items()}, {n: f[1] for n, f in out.items()})


def timings(big: dict, tiny: dict, repeat: int, settle: float, case: str) -> dict:
    """loop / hot / tiny medians per side (see the module docstring), rounds rotated."""
    rng = np.random.default_rng(1)
    shape, tiny_shape, dtype = CASES[case]
    a, b = rng.random(shape).astype(dtype), np.zeros(shape, dtype)
    ta, tb = rng.random(tiny_shape).astype(dtype), np.zeros(tiny_shape, dtype)
    names = list(big)
    res = {n: {"loop": [], "first": [], "hot": [], "tiny": []} for n in names}
    for r in range(repeat):
        for n in names[r % len(names):] + names[:r % len(names)]:
            fn = big[n]
            time.sleep(settle)
            t0 = time.perf_counter()
            fn(a, b)
            t1 = time.perf_counter()
            fn(b, a)
            for _ in range(STEPS - 1):
                fn(a, b)
                fn(b, a)
            res[n]["loop"].append(time.perf_counter() - t0)
            res[n]["first"].append(t1 - t0)
            for _ in range(5):
                t0 = time.perf_counter()
                fn(a, b)
                res[n]["hot"].append(time.perf_counter() - t0)
            for _ in range(5):
                t0 = time.perf_counter()
                tiny[n](ta, tb)
                res[n]["tiny"].append(time.perf_counter() - t0)
    med = {n: {k: statistics.median(v) for k, v in d.items()} for n, d in res.items()}
    for n in names:
        med[n]["ratio"] = med[n]["loop"] / med["numba"]["loop"]
        med[n]["spread"] = (max(res[n]["loop"]) - min(res[n]["loop"])) / med[n]["loop"]
        med[n]["loops"] = res[n]["loop"]  # in the order of the rounds
    return med


def print_table(title: str, med: dict) -> None:
    """Print ``med`` (:func:`timings`) as a table: ms for loops, µs for launches."""
    print(f"== {title} (load {os.getloadavg()[0]:.1f}, {time.perf_counter() - START:.1f} s)")
    print(f"{'side':18s} {'loop ms':>9s} {'ratio':>7s} {'spread':>7s} {'first us':>9s} "
          f"{'hot us':>9s} {'tiny us':>9s}  loops (ms, by round)")
    for n, r in med.items():
        print(f"{n:18s} {r['loop'] * 1e3:9.3f} {r['ratio']:7.3f} {r['spread']:7.2f} "
              f"{r['first'] * 1e6:9.1f} {r['hot'] * 1e6:9.1f} {r['tiny'] * 1e6:9.1f}  "
              + " ".join(f"{t * 1e3:.1f}" for t in r["loops"]), flush=True)


def run(variants: list[str], repeat: int, settle: float, case: str = "jacobi2d",
        numpy: bool = True) -> dict:
    """Build, check and time ``variants`` beside the user's call, Numba and NumPy."""
    with tempfile.TemporaryDirectory(prefix="pxos-threads-") as tmp:
        big, tiny = sides(variants, Path(tmp), case, numpy)
        return timings(big, tiny, repeat, settle, case)


def machine() -> dict:
    """The CPU as ``lscpu`` sums it up (sockets, cores, threads per core, NUMA nodes,
    caches), the cores this process may use, Numba's threading layer and the load."""
    keep = ("Model name", "Socket(s)", "Core(s) per socket", "Thread(s) per core",
            "NUMA node", "L2 cache", "L3 cache", "CPU(s)")
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    except OSError:
        text = ""
    info = {k.strip(): v.strip() for k, _, v in (ln.partition(":") for ln in text.splitlines())
            if k.strip().startswith(keep)}
    import numba
    return {"lscpu": info, "affinity": len(os.sched_getaffinity(0)),
            "numba": numba.__version__, "numba_threads": numba.config.NUMBA_NUM_THREADS,
            "omp_env": {k: v for k, v in os.environ.items() if k.startswith(("OMP_", "GOMP"))},
            "load": os.getloadavg()[0]}


def write_json(path: Path, report: dict) -> None:
    """Write ``report`` to ``path`` atomically (a temporary file renamed over it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(report, indent=2))
    os.replace(tmp, path)


def main() -> None:
    """Variants in this process, then each OpenMP environment in a child process."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path,
                        default=ROOT / "benchmarks/results/stencil_threads.json")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--settle", type=float, default=0.1)
    parser.add_argument("--budget", type=float, default=50.0,
                        help="seconds after which no further part is started")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--envs", default=",".join(ENVS))
    parser.add_argument("--case", choices=sorted(CASES), default="jacobi2d")
    parser.add_argument("--no-numpy", action="store_true",
                        help="leave NumPy's reference out of the rotation")
    parser.add_argument("--child", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    variants = args.variants.split(",")
    if args.child:  # one OpenMP environment: the default build and Numba
        med = run(["default"], args.repeat, args.settle, args.case, not args.no_numpy)
        print_table(f"env {args.child}", med)
        write_json(args.out, med)
        return
    report = {"benchmark": "stencil_threads", "machine": machine(), "case": args.case,
              "shape": CASES[args.case][0], "steps": STEPS, "settle_s": args.settle}
    print(json.dumps(report["machine"]), flush=True)
    report["variants"] = run(variants, args.repeat, args.settle, args.case, not args.no_numpy)
    print_table("variants", report["variants"])
    write_json(args.out, report)
    report["envs"] = {}
    for name in [e for e in args.envs.split(",") if e]:
        if time.perf_counter() - START > args.budget:
            print(f"env {name}: skipped (budget)", flush=True)
            continue
        child_out = args.out.with_name(args.out.stem + f".{name}.json")
        subprocess.run([sys.executable, __file__, "--child", name, "--out", str(child_out),
                        "--repeat", str(args.repeat), "--settle", str(args.settle),
                        "--case", args.case] + ["--no-numpy"] * args.no_numpy,
                       env=dict(os.environ) | ENVS[name], check=True)
        report["envs"][name] = json.loads(child_out.read_text())
        child_out.unlink()
        write_json(args.out, report)


if __name__ == "__main__":
    main()
