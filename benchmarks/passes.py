"""The C target with the uniform-values pass (``ir/passes/uniform``), against the same
kernels written without block-uniform variables, in one run.

    python3 benchmarks/passes.py [--out benchmarks/results/passes.json] [--repeat 7]

Cases, each a pair of kernels with the same results:
* ``stencil``: a 4-point average over a 4096 × 4096 f32 image whose bounds test reads
  ``SET w = COLS(a) - 1`` and ``SET h = ROWS(a) - 1`` (uniform: computed once per block,
  so the thread loop's bounds take the test, ``codegen/thread_bounds``); peer: the test
  written with the extents inline (``x < COLS(a) - 1``).
* ``reverse``: a per-block reversal through shared memory with a barrier, 2²⁴ floats,
  whose block base ``SET base = b * bs`` crosses the barrier (kept once per block instead
  of in a per-thread array); peer: ``b * bs`` written at each use.

Times are medians over ``--repeat`` launches after one warm-up, the two forms in turn, in
seconds; ``ratio`` is
peer time ÷ pass time (≥ 1: the uniform form costs nothing). On a shared machine wall
times are noisy: compare ratios from one run. Output: JSON with the machine's description.
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

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from pxos.backends.base import make_launch  # noqa: E402
from pxos.backends.c import CBackend, compiler_identity  # noqa: E402
from pxos.ir.check_host import check_program  # noqa: E402
from pxos.lang.px.parser import parse_program  # noqa: E402
from pxos.planner.calibration import cpu_model  # noqa: E402

STENCIL = """GPU_KERNEL smooth
    GPU_PARAM a float[,]
    GPU_PARAM out float[,]
GPU_THREAD_CODE:
    THREAD_ID → x, y
{setup}    IF x >= 1 AND x < {w} AND y >= 1 AND y < {h}:
        STORE (a[y, x - 1] + a[y, x + 1] + a[y - 1, x] + a[y + 1, x]) * 0.25 → out[y, x]
GPU_END
"""
REVERSE = """GPU_KERNEL rev
    GPU_PARAM a float[]
    GPU_PARAM out float[]
    GPU_SHARED_MEM tile float 256
    GPU_BLOCK 256
GPU_THREAD_CODE:
    LOCAL_ID → l
    BLOCK_ID → b
    BLOCK_SIZE → bs
{setup}    STORE a[{base} + l] → tile[l]
    SYNC_THREADS
    STORE tile[bs - 1 - l] → out[{base} + l]
GPU_END
"""
PAIRS = {
    "stencil": (STENCIL.format(setup="    SET w = COLS(a) - 1\n    SET h = ROWS(a) - 1\n",
                               w="w", h="h"),
                STENCIL.format(setup="", w="COLS(a) - 1", h="ROWS(a) - 1")),
    "reverse": (REVERSE.format(setup="    SET base = b * bs\n", base="base"),
                REVERSE.format(setup="", base="b * bs")),
}


def interleaved_medians(fns, repeat: int) -> list[float]:
    """Median wall time of each of ``fns``, run in turn ``repeat`` times after one warm-up
    each (interleaved, so that a change in the machine's load hits both alike)."""
    for fn in fns:
        fn()
    times = [[] for _ in fns]
    for _ in range(repeat):
        for fn, out in zip(fns, times):
            t0 = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t0)
    return [statistics.median(t) for t in times]


def case_args(name: str):
    rng = np.random.default_rng(0)
    if name == "stencil":
        a = rng.random((4096, 4096), np.float32)
        return [a, np.zeros_like(a)], (4096, 4096)
    a = rng.random(1 << 24, np.float32)
    return [a, np.zeros_like(a)], (1 << 24,)


def bench(c: CBackend, name: str, repeat: int) -> dict:
    args, threads = case_args(name)
    runs, outs = [], []
    for src in PAIRS[name]:
        k = check_program(parse_program(src, f"{name}.px")).kernels[0]
        compiled, launch = c.compile(k), make_launch(k, threads)
        out = np.zeros_like(args[1])
        runs.append(lambda compiled=compiled, launch=launch, out=out:
                    c.launch(compiled, [args[0], out], launch))
        outs.append(out)
    times = interleaved_medians(runs, repeat)
    if not np.array_equal(outs[0], outs[1]):
        raise SystemExit(f"{name}: the two forms disagree")
    return {"uniform_s": times[0], "peer_inline_s": times[1], "ratio": times[1] / times[0]}


def machine() -> dict:
    return {"device": cpu_model(), "cores": os.cpu_count(),
            "python": platform.python_version(), "numpy": np.__version__,
            "compiler": compiler_identity(CBackend().cc).split("\n")[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/passes.json")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    c = CBackend()
    result = {"benchmark": "passes", "machine": machine(),
              "cases": {name: bench(c, name, args.repeat) for name in PAIRS}}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=2))
    os.replace(tmp, args.out)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
