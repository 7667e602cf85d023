"""The time of one call of each transcendental function on a backend, in a dependent chain.

    python3 benchmarks/transcendental_costs.py [--device c] [--threads 65536]

For each function of ``ir.TRANSCENDENTAL``, a kernel applies it 64 times in a chain per
thread (``a = f(a) * 0.5 + 0.75``) over ``--threads`` threads; the fastest of five launches
after one untimed, divided by the calls, is printed in ns per call, with its ratio to the
mean of ``sin`` and ``exp`` (what calibration's ``probe_transcendental`` times), which
``ir/analysis/features.CALL_COST`` holds. Run with ``OMP_NUM_THREADS=1`` for one core.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from pxos import backends  # noqa: E402
from pxos.backends.base import make_launch  # noqa: E402
from pxos.ir import nodes as ir  # noqa: E402
from pxos.ir.check_host import check_program  # noqa: E402
from pxos.lang.px.parser import parse_program  # noqa: E402

KERNEL = """GPU_KERNEL chain_{name}
    GPU_PARAM out float[]
GPU_THREAD_CODE:
    THREAD_ID → i
    SET a = f32(i & 1023) * 0.001 + 0.5
    FOR k IN 0..64:
        SET a = {call} * 0.5 + 0.75
    STORE a → out[i]
GPU_END
"""


def per_call(backend, name: str, n: int) -> float:
    """Seconds per call of function ``name`` in the chain kernel on ``backend``."""
    call = "pow(a, 1.5)" if name == "pow" else f"{name}(a)"
    kernel = check_program(parse_program(KERNEL.format(name=name, call=call))).kernels[0]
    compiled = backend.compile(kernel)
    out = backend.to_device(np.zeros(n, np.float32)) if backend.memory != "host" else \
        np.zeros(n, np.float32)
    launch = make_launch(kernel, (n,))
    best = float("inf")
    for i in range(6):
        t0 = time.perf_counter()
        backend.launch(compiled, [out], launch)
        backend.synchronize()
        if i:
            best = min(best, time.perf_counter() - t0)
    return best / (n * 64)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default="c")
    ap.add_argument("--threads", type=int, default=1 << 16)
    args = ap.parse_args()
    backend = backends.get(args.device)
    ns = {f: per_call(backend, f, args.threads) * 1e9 for f in ir.TRANSCENDENTAL}
    probe = (ns["sin"] + ns["exp"]) / 2
    print(json.dumps({"device": args.device, "ns_per_call": {k: round(v, 3) for k, v in ns.items()},
                      "relative_to_probe": {k: round(v / probe, 2) for k, v in ns.items()}}))


if __name__ == "__main__":
    main()
