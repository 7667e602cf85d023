"""A histogram of few bins on ``c``: pxos's atomics on owned copies against Numba.

    python3 benchmarks/histogram_bins.py [--n 16777216] [--bins 16,256] [--repeat 9]
                                         [--out histogram_bins.json]

A Python kernel adds 1 to bin ``v[i] >> shift`` of an ``i32`` array for each byte of
``v`` (``pxos.atomic_add``), for 16 and for 256 bins. On ``c`` each piece of blocks
updates a copy of its own (``codegen/own_atomics``), without locks since this session.
The peer is Numba's ``@njit`` loop over the bytes (serial: Numba has no atomics, and its
``prange`` would race on the bins). Times are the best of ``--repeat`` calls after one
untimed (``planner/probes.best_time``); each result is checked against
``numpy.bincount``. Output: a line a case, and JSON with the machine's name.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import pxos  # noqa: E402
from pxos.planner.calibration import cpu_model  # noqa: E402
from pxos.planner.probes import best_time  # noqa: E402


def kernel(shift: int):
    """The histogram kernel for bins ``v >> shift`` (``shift`` a constant of the kernel)."""
    @pxos.kernel
    def histogram(v: pxos.Array[pxos.u8, 1], h: pxos.Array[pxos.i32, 1]):
        for i in pxos.parallel(len(v)):
            pxos.atomic_add(h, v[i] >> shift, 1)
    return histogram


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=1 << 24, help="bytes")
    ap.add_argument("--bins", default="16,256")
    ap.add_argument("--repeat", type=int, default=9)
    ap.add_argument("--out", type=Path)
    opts = ap.parse_args()
    try:
        import numba
    except ImportError:
        numba = None
    v = np.random.default_rng(0).integers(0, 256, opts.n, dtype=np.uint8)
    cases = []
    for bins in (int(b) for b in opts.bins.split(",")):
        shift = 8 - int(np.log2(bins))
        h = np.zeros(bins, np.int32)
        run = kernel(shift)
        seconds = best_time(lambda: run(v, h, device="c"), opts.repeat)
        h[:] = 0
        run(v, h, device="c")
        case = {"bins": bins, "bytes": opts.n, "pxos_c_s": seconds,
                "right": bool(np.array_equal(h, np.bincount(v >> shift, minlength=bins)))}
        if numba is not None:
            @numba.njit
            def serial(v, h):
                for i in range(v.shape[0]):
                    h[v[i] >> shift] += 1
            h64 = np.zeros(bins, np.int64)
            case["numba_njit_s"] = best_time(lambda: serial(v, h64), opts.repeat)
            case["pxos_over_numba"] = seconds / case["numba_njit_s"]
        cases.append(case)
        peer = (f", Numba @njit {case['numba_njit_s'] * 1e3:.2f} ms, ratio "
                f"{case['pxos_over_numba']:.2f}" if numba is not None else "")
        print(f"{bins:4} bins of {opts.n} bytes: pxos c {seconds * 1e3:.2f} ms{peer}; "
              f"right: {case['right']}", flush=True)
    result = {"benchmark": "histogram_bins", "machine": {
        "device": cpu_model(), "python": platform.python_version(), "host": platform.node()},
        "cases": cases}
    if opts.out:
        opts.out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
