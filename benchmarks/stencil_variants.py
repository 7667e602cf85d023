"""The suite's stencils and convolutions (``benchmarks/suite_kernels.py``: heat3d,
conv2d, jacobi2d, conv3d) under variants of the C target's block shape, OpenMP schedule
and compiler flags, against Numba in the same run: to find what makes a case slower than
Numba on a machine.

    python3 benchmarks/stencil_variants.py [--out benchmarks/results/stencil_variants.json]
                                           [--repeat 7] [--cases heat3d,conv2d]
                                           [--variants default,no avx512,...]
                                           [--threads 1]

``--threads`` OpenMP and Numba threads (default 1; set before either is loaded). Each
variant renders the kernel with its block shape (``codegen/c.CPU_BLOCKS``) and block loop
(``codegen/c._block_loop``) and builds it with its flags (``backends/c.FLAGS``), checks its
output against NumPy's, then every variant and Numba run in turn ``--repeat`` times (the
order rotated each round); each figure is the median CPU time (``time.process_time``: every
thread of the process, spinning ones too) of one call, in seconds, with the median wall
time beside it, and ``ratio`` is the CPU time ÷ Numba's (``wall_ratio`` the wall time's).
The suite's sizes: heat3d 120³ f64, conv2d 2000² f32, jacobi2d 1000² f64, conv3d 160³ f32.
Output: JSON with the machine, its load, the compiler and the CPU flags that
``-march=native`` reads.
"""

from __future__ import annotations

import os
import sys

THREADS = sys.argv[sys.argv.index("--threads") + 1] if "--threads" in sys.argv else "1"
os.environ["OMP_NUM_THREADS"] = THREADS  # before libgomp or Numba's pool is loaded
os.environ["NUMBA_NUM_THREADS"] = THREADS

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import shutil  # noqa: E402
import subprocess  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import suite_kernels as K  # noqa: E402
from pxos.backends import c as cbackend  # noqa: E402
from pxos.backends.base import make_launch  # noqa: E402
from pxos.codegen import c as ccode  # noqa: E402
from pxos.planner.calibration import cpu_model  # noqa: E402

def collapsed_block_loop(kernel) -> list[str]:
    """``codegen/c._block_loop`` with the blocks as ``collapse(n)`` nested loops instead of
    one flat loop whose body finds a block's coordinates by 64-bit division and modulo
    (same order, same static partition): a candidate for CPUs with slow 64-bit division."""
    axes = "xyz"[:kernel.ndim]
    out = flat_block_loop(kernel)
    head = out.index(next(x for x in out if x.startswith("#pragma omp parallel")))
    blocks = "(int64_t)" + " * ".join(f"pxos_g{a}" for a in axes)
    loops = [f"#pragma omp parallel for collapse({kernel.ndim}) schedule(static) "
             f"num_threads(PXOS_TEAM({blocks}))"]
    loops += [f"for (int32_t pxos_b{a} = 0; pxos_b{a} < pxos_g{a}; ++pxos_b{a})"
              + (" {" if a == "x" else "") for a in reversed(axes)]
    return out[:head] + loops if kernel.ndim > 1 else out


def scheduled(clause: str):
    """A block loop renderer: ``codegen/c._block_loop`` with ``schedule(static)`` replaced
    by ``clause`` (``schedule(static, 1)``, ``schedule(dynamic, 8)`` …)."""
    def render(kernel) -> list[str]:
        return [x.replace("schedule(static)", clause) for x in flat_block_loop(kernel)]
    return render


flat_block_loop = ccode._block_loop
# name -> (block shape for the case's rank, extra flags, the block loop's renderer);
# None: the target's own choice
VARIANTS = {
    "default": (None, ()),
    "collapsed blocks": (None, (), collapsed_block_loop),
    "block 128x8x1": ((128, 8, 1), ()),
    "block 256x16x1": ((256, 16, 1), ()),
    "block 32x8x4": ((32, 8, 4), ()),
    "block 1024x1x1": ((1024, 1, 1), ()),
    "block 1024x8x1": ((1024, 8, 1), ()),
    "schedule static 1": (None, (), scheduled("schedule(static, 1)")),
    "schedule static 8": (None, (), scheduled("schedule(static, 8)")),
    "schedule dynamic 8": (None, (), scheduled("schedule(dynamic, 8)")),
    "schedule guided": (None, (), scheduled("schedule(guided)")),
    "vector width 512": (None, ("-mprefer-vector-width=512",)),
    "vector width 256": (None, ("-mprefer-vector-width=256",)),
    "no avx512": (None, ("-mno-avx512f",)),
    "unroll loops": (None, ("-funroll-loops",)),
    "no simd pragma": (None, ("-fno-openmp-simd",)),
}
CONV_BLOCKS = {(32, 8, 4): (256, 8), (128, 8, 1): (128, 8), (256, 16, 1): (256, 16),
               (1024, 1, 1): (1024, 1), (1024, 8, 1): (1024, 8)}
# case -> (shape, dtype, pxos kernel, NumPy reference); its Numba kernel has its name
CASES = {"heat3d": ((120, 120, 120), np.float64, K.heat3d, K.np_heat3d),
         "conv2d": ((2000, 2000), np.float32, K.conv2d, K.np_conv2d),
         "jacobi2d": ((1000, 1000), np.float64, K.jacobi2d, K.np_jacobi2d),
         "conv3d": ((160, 160, 160), np.float32, K.conv3d, K.np_conv3d)}


def case(name: str):
    """(pxos kernel IR, its arguments, threads x first, Numba function, NumPy reference)."""
    shape, dtype, px, ref_fn = CASES[name]
    a = np.random.default_rng(0).random(shape).astype(dtype)
    ref = np.zeros_like(a)
    ref_fn(a, ref)
    return px.ir(a, a.copy()), [a, np.zeros_like(a)], shape[::-1], \
        K.numba_kernels()[name], ref


def build(c, kernel, variant: str):
    shape, extra, *loop = VARIANTS[variant]
    blocks, flags = dict(ccode.CPU_BLOCKS), cbackend.FLAGS
    ccode._block_loop = loop[0] if loop else flat_block_loop
    if shape is not None:
        key = (kernel.ndim, False)
        ccode.CPU_BLOCKS[key] = shape if kernel.ndim == 3 else CONV_BLOCKS[shape]
    cbackend.FLAGS = flags + tuple(extra)
    try:
        return c.compile(kernel)
    finally:
        ccode._block_loop = flat_block_loop
        ccode.CPU_BLOCKS.clear()
        ccode.CPU_BLOCKS.update(blocks)
        cbackend.FLAGS = flags


def vector_registers(library: Path) -> dict:
    """How often the built library's code names xmm, ymm and zmm registers (objdump -d):
    which vector width the compiler chose. Empty without objdump."""
    if shutil.which("objdump") is None:
        return {}
    text = subprocess.run(["objdump", "-d", str(library)], capture_output=True,
                          text=True).stdout
    return {r: text.count(f"%{r}") for r in ("xmm", "ymm", "zmm")}


def run_case(name: str, repeat: int, variants: list[str]) -> dict:
    kernel, args, threads, nb, ref = case(name)
    launch = make_launch(kernel, threads)
    runs, registers = {}, {}
    for variant in variants:
        c = cbackend.CBackend()  # its own memo of builds (kept by kernel object)
        compiled = build(c, kernel, variant)
        registers[variant] = vector_registers(compiled.library)
        out = np.zeros_like(args[1])
        c.launch(compiled, [args[0], out], launch)
        if not np.allclose(out, ref, rtol=1e-5, atol=1e-6):
            raise SystemExit(f"{name} / {variant}: disagrees with NumPy")
        runs[variant] = (lambda c=c, compiled=compiled, out=out:
                         c.launch(compiled, [args[0], out], launch))
    out = np.zeros_like(args[1])
    runs["numba"] = lambda: nb(args[0], out)
    times = {v: [] for v in runs}
    walls = {v: [] for v in runs}
    for fn in runs.values():
        fn()
    names = list(runs)
    for n in range(repeat):
        for v in names[n % len(names):] + names[:n % len(names)]:
            t0, w0 = time.process_time(), time.perf_counter()
            runs[v]()
            walls[v].append(time.perf_counter() - w0)
            times[v].append(time.process_time() - t0)
    med = {v: statistics.median(t) for v, t in times.items()}
    wall = {v: statistics.median(t) for v, t in walls.items()}
    return {v: {"s": med[v], "ratio": med[v] / med["numba"], "wall_s": wall[v],
                "wall_ratio": wall[v] / wall["numba"],
                "registers": registers.get(v, {})} for v in runs}


def machine() -> dict:
    flags = ""
    try:
        flags = next((ln.split(":", 1)[1] for ln in Path("/proc/cpuinfo").read_text()
                      .splitlines() if ln.startswith("flags")), "")
    except OSError:
        pass
    return {"device": cpu_model(), "cores": os.cpu_count(), "load": os.getloadavg()[0],
            "threads": int(THREADS),
            "python": platform.python_version(), "numpy": np.__version__,
            "compiler": cbackend.compiler_identity(cbackend.CBackend().cc).split("\n")[0],
            "avx512": "avx512f" in flags.split()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path,
                        default=ROOT / "benchmarks/results/stencil_variants.json")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--cases", default="heat3d,conv2d")
    parser.add_argument("--threads", default="1",
                        help="OpenMP and Numba threads (read before the imports)")
    parser.add_argument("--variants", default=",".join(VARIANTS),
                        help="which of the variants, comma-separated (default: all)")
    args = parser.parse_args()
    result = {"benchmark": "stencil_variants", "machine": machine(),
              "cases": {n: run_case(n, args.repeat, args.variants.split(","))
                        for n in args.cases.split(",")}}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=2))
    os.replace(tmp, args.out)
    print(json.dumps(result["machine"]))
    for n, rows in result["cases"].items():
        for v, r in rows.items():
            print(f"{n:8s} {v:18s} CPU {r['s'] * 1e3:8.2f} ms {r['ratio']:.3f}x numba, "
                  f"wall {r['wall_s'] * 1e3:8.2f} ms {r['wall_ratio']:.3f}x  "
                  f"{r['registers']}")


if __name__ == "__main__":
    main()
