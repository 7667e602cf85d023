"""Kernels with barriers on the ``c`` backend (``ir/passes/fission``: a block's threads as
loops between its barriers), against NumPy doing the same work, in one run.

    python3 benchmarks/fission.py [--out benchmarks/results/fission.json] [--repeat 7]

Cases (all f32, results checked against NumPy first):
* ``reverse``: each block of 256 reverses its 256 values through shared memory (2²⁴
  values); NumPy: ``a.reshape(-1, 256)[:, ::-1]`` copied.
* ``block_sum``: ``examples/reduce.px``'s tree reduction, a ``WHILE`` around a barrier
  (2²⁴ values); NumPy: ``a.reshape(-1, 256).sum(1)`` (its pairwise order differs: the
  check is to 1e-4 relative).
* ``tiled_mm``: a 512 × 512 matrix product through 16 × 16 shared tiles, a ``FOR``
  around two barriers whose sum crosses them per thread (a lane array); NumPy: ``a @ b``
  (BLAS: a peer for scale, not a like-for-like).

Each figure is the median CPU time (``time.process_time``, so other processes' load
counts little) of ``--repeat`` launches after one warm-up, pxos and NumPy interleaved;
run it with ``OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1`` for one thread. ``ratio`` is
pxos ÷ NumPy. Output: JSON with the machine's description.
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

REVERSE = """GPU_KERNEL rev
    GPU_PARAM a float[]
    GPU_PARAM out float[]
    GPU_SHARED_MEM tile float 256
    GPU_BLOCK 256
GPU_THREAD_CODE:
    LOCAL_ID → l
    THREAD_ID → i
    BLOCK_SIZE → bs
    STORE a[i] → tile[l]
    SYNC_THREADS
    STORE tile[bs - 1 - l] → out[i]
GPU_END
"""
TILED_MM = """GPU_KERNEL mm
    GPU_PARAM a float[,]
    GPU_PARAM b float[,]
    GPU_PARAM c float[,]
    GPU_SHARED_MEM ta float 16 16
    GPU_SHARED_MEM tb float 16 16
    GPU_THREADS COLS(c), ROWS(c)
    GPU_BLOCK 16, 16
GPU_THREAD_CODE:
    THREAD_ID → x, y
    LOCAL_ID → lx, ly
    SET acc = 0.0
    FOR t IN 0..COLS(a) / 16:
        STORE a[y, t * 16 + lx] → ta[ly, lx]
        STORE b[t * 16 + ly, x] → tb[ly, lx]
        SYNC_THREADS
        FOR k IN 0..16:
            SET acc = acc + ta[ly, k] * tb[k, lx]
        SYNC_THREADS
    STORE acc → c[y, x]
GPU_END
"""
N, MM = 1 << 24, 512


def cases() -> dict:
    """name -> (source, args, threads, NumPy function, check of the output)."""
    rng = np.random.default_rng(0)
    a = rng.random(N, np.float32)
    m, n = rng.random((MM, MM), np.float32), rng.random((MM, MM), np.float32)
    block_sum = (ROOT / "examples/reduce.px").read_text().split("\n\n")[0]
    return {
        "reverse": (REVERSE, [a, np.zeros_like(a)], (N,),
                    lambda: a.reshape(-1, 256)[:, ::-1].copy(),
                    lambda out, ref: np.array_equal(out[1], ref.reshape(-1))),
        "block_sum": (block_sum, [a, np.zeros(N // 256, np.float32)], (N,),
                      lambda: a.reshape(-1, 256).sum(1),
                      lambda out, ref: np.allclose(out[1], ref, rtol=1e-4)),
        "tiled_mm": (TILED_MM, [m, n, np.zeros_like(m)], (MM, MM), lambda: m @ n,
                     lambda out, ref: np.allclose(out[2], ref, rtol=1e-4)),
    }


def cpu_medians(fns, repeat: int) -> list[float]:
    """Median CPU time of each of ``fns``, run in turn ``repeat`` times after a warm-up."""
    for fn in fns:
        fn()
    times = [[] for _ in fns]
    for _ in range(repeat):
        for fn, out in zip(fns, times):
            t0 = time.process_time()
            fn()
            out.append(time.process_time() - t0)
    return [statistics.median(t) for t in times]


def bench(c: CBackend, name: str, spec, repeat: int) -> dict:
    src, args, threads, numpy_fn, ok = spec
    k = check_program(parse_program(src, f"{name}.px")).kernels[0]
    compiled, launch = c.compile(k), make_launch(k, threads)

    def run():
        c.launch(compiled, args, launch)
    run()
    if not ok(args, numpy_fn()):
        raise SystemExit(f"{name}: pxos disagrees with NumPy")
    pxos_s, numpy_s = cpu_medians([run, numpy_fn], repeat)
    return {"pxos_s": pxos_s, "numpy_s": numpy_s, "ratio": pxos_s / numpy_s}


def machine() -> dict:
    return {"device": cpu_model(), "cores": os.cpu_count(),
            "omp_threads": os.environ.get("OMP_NUM_THREADS", "default"),
            "load": os.getloadavg()[0], "python": platform.python_version(),
            "numpy": np.__version__,
            "compiler": compiler_identity(CBackend().cc).split("\n")[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/fission.json")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    c = CBackend()
    result = {"benchmark": "fission", "machine": machine(),
              "cases": {name: bench(c, name, spec, args.repeat)
                        for name, spec in cases().items()}}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=2))
    os.replace(tmp, args.out)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
