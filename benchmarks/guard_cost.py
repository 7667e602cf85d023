"""The memory-fault guard's cost on the ``c`` backend: ``benchmarks/cpu.py``'s kernels
(SAXPY on 10⁷ floats, the 5 × 5 blur of a 4K image) built with and without the guard
(``codegen/guard``) and launched alternately in one process.

    OMP_NUM_THREADS=1 python3 benchmarks/guard_cost.py [--rounds 30]

Times are the launching thread's CPU time (``time.thread_time``), so other processes on
a shared machine do not count; run with ``OMP_NUM_THREADS=1`` so that the whole launch
runs on that thread. Prints the medians and guarded ÷ unguarded.
"""

from __future__ import annotations

import argparse
import ctypes
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from cpu import kernel  # noqa: E402
from pxos.backends.base import make_launch  # noqa: E402
from pxos.backends.c import CBackend, CKernel, _argtypes  # noqa: E402
from pxos.codegen.c import render_c  # noqa: E402


def build(c: CBackend, k, guard: bool, folder: Path) -> CKernel:
    """``k`` built with or without the guard, loaded (the guard library first)."""
    c.compile(k)  # loads the guard library, which guarded kernels link against
    src = render_c(k, False, guard=guard)
    lib = folder / f"{k.name}_{guard}.so"
    c._build(src, lib)
    fn = getattr(ctypes.CDLL(str(lib)), src.entry)
    fn.restype, fn.argtypes = None, _argtypes(k, False)
    return CKernel(src, lib, fn, False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=30)
    rounds = parser.parse_args().rounds
    c = CBackend()
    rng = np.random.default_rng(0)
    n = 10_000_000
    x, y = rng.random(n, np.float32), rng.random(n, np.float32)
    src = rng.random((2160, 3840), np.float32) * 255
    cases = {"saxpy": (kernel("saxpy.px", "saxpy"), [np.float32(2.5), x, y,
                                                     np.empty_like(x)], (n,)),
             "blur5": (kernel("edges.px", "blur5"), [src, np.empty_like(src)], (3840, 2160))}
    with tempfile.TemporaryDirectory(prefix="pxos-guard-cost-") as tmp:
        for name, (k, args, threads) in cases.items():
            built = {g: build(c, k, g, Path(tmp)) for g in (False, True)}
            launch = make_launch(k, threads)
            times: dict[bool, list[float]] = {False: [], True: []}
            for r in range(rounds):
                for g in ((False, True) if r % 2 else (True, False)):
                    c.launch(built[g], args, launch)  # warm
                    t0 = time.thread_time()
                    c.launch(built[g], args, launch)
                    times[g].append(time.thread_time() - t0)
            plain, guarded = (statistics.median(times[g]) for g in (False, True))
            print(f"{name}: unguarded {plain * 1e3:.3f} ms, guarded {guarded * 1e3:.3f} ms, "
                  f"guarded/unguarded {guarded / plain:.4f}")


if __name__ == "__main__":
    main()
