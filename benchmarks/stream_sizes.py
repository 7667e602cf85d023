"""A launch's time against its size: what the cost model's memory term misses below the
size calibration measures bandwidth at.

    python3 benchmarks/stream_sizes.py [--devices c,cuda] [--out sizes.json]

Calibration (``planner/probes``) times ``y = a*x + y`` (``probe_stream``) at 2²² floats and
more, past the last-level cache, and the model divides every launch's memory traffic by
that bandwidth. A small launch whose arrays stay in a CPU's caches runs faster than that.
For each device this times ``probe_stream`` launched and waited for (the fastest of
seven after one untimed) at 2¹⁰ … 2²⁴ floats, and prints the time, the time less the
calibrated launch latency, and the bandwidth that implies; then the same for one
Floyd–Warshall step at 200 × 200 (``benchmarks/planning.py``'s kernel). Output: text, and
JSON with ``--out``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from planning import program_text  # noqa: E402

from pxos import backends  # noqa: E402
from pxos.backends.base import make_launch  # noqa: E402
from pxos.ir.analysis.features import launch_work  # noqa: E402
from pxos.ir.check_host import check_program  # noqa: E402
from pxos.lang.px.parser import parse_program  # noqa: E402
from pxos.planner.calibration import machine as this_machine  # noqa: E402
from pxos.planner.probes import best_time, probe_kernels  # noqa: E402


def timed(backend, kernel, values: dict, threads) -> tuple[float, object]:
    """(best seconds of a launch and wait, the launch's ``Work``)."""
    compiled = backend.compile(kernel)
    args = [backend.to_device(v) if isinstance(v, np.ndarray) and backend.memory != "host"
            else v for v in values.values()]
    launch = make_launch(kernel, threads)

    def run():
        backend.launch(compiled, args, launch)
        backend.synchronize()
    return best_time(run, 7), launch_work(kernel, values, threads)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--devices", default="c,cuda")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    machine = this_machine()
    stream = probe_kernels()["probe_stream"]
    fw = check_program(parse_program(program_text(1, 200, False))).kernels[0]
    result = {}
    for name in args.devices.split(","):
        if name not in backends.available():
            continue
        backend, fig = backends.get(name), machine.devices.get(name)
        launch_s = fig.launch_s if fig else 0.0
        rows = []
        for e in range(10, 25, 2):
            n = 1 << e
            values = {"a": np.float32(2), "x": np.ones(n, np.float32),
                      "y": np.ones(n, np.float32)}
            sec, work = timed(backend, stream, values, (n,))
            traffic = work.memory_bytes if backend.memory != "host" else work.cpu_memory_bytes
            rows.append({"floats": n, "us": sec * 1e6, "bytes": traffic,
                         "GBps": traffic / max(sec - launch_s, 1e-9) / 1e9})
            print(f"{name:5} stream 2^{e:<2} {sec * 1e6:9.2f} µs  "
                  f"{rows[-1]['GBps']:8.1f} GB/s beyond launch", flush=True)
        d = np.random.default_rng(7).uniform(1, 100, (200, 200)).astype(np.float32)
        sec, work = timed(backend, fw, {"d": d, "k": np.int32(3)}, (200, 200))
        print(f"{name:5} fw 200x200 {sec * 1e6:9.2f} µs (calibrated launch "
              f"{launch_s * 1e6:.2f} µs, bandwidth {fig.bandwidth / 1e9 if fig else 0:.1f} GB/s)",
              flush=True)
        result[name] = {"stream": rows, "fw_us": sec * 1e6, "launch_s": launch_s,
                        "bandwidth": fig.bandwidth if fig else None}
    if args.out:
        args.out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
