"""The cost model's error per device: predicted against measured time of each kernel alone.

    python3 benchmarks/model_error.py [--only block_sum,option_price] [--sizes 6,7,8]
                                      [--out model_error.json]

For every kernel of ``benchmarks/placement.py`` (or ``--only``) at sizes 10^k, with its
data already on each device (no copies) and its kernel built, the launch is timed alone
(fastest of three after a warm-up) and set against the model's work estimate
(``planner/model.predict_launch`` with no history), with what bounds it (``memory``,
``compute`` …). Then the host↔device copies: pageable uploads and downloads of 4 MiB to
400 MB against the calibrated rates. It prints the machine's calibrated figures first,
so that a planner mistake in ``placement.py`` can be traced to one figure. JSON: the
machine, the figures, and one row per case with ``measured_s``, ``predicted_s`` and
their ratio.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from placement import KERNELS, best_time, load_kernels
from pxos import backends
from pxos.backends.base import make_launch
from pxos.ir.analysis.features import launch_threads, launch_work
from pxos.planner.calibration import complete, machine as this_machine
from pxos.planner.model import Copies, predict_launch


def kernel_rows(machine, names, sizes) -> list[dict]:
    """Predicted and measured seconds of each kernel alone, per device and size."""
    kernels, rng, rows = load_kernels(), np.random.default_rng(7), []
    devices = [d for d in machine.devices if d != "interp"]
    for name in names:
        cap, make = KERNELS[name]
        for n in (10**k for k in sizes):
            if n > cap:
                continue
            kernel, values = kernels[name], make(n, rng)
            threads = launch_threads(kernel, values)
            work = launch_work(kernel, values, threads)
            for device in devices:
                backend = backends.get(device)
                compiled = backend.compile(kernel)
                args = [backend.to_device(v) if isinstance(v, np.ndarray)
                        and backend.memory != "host" else v for v in
                        (values[p.name] for p in kernel.params)]
                launch = make_launch(kernel, threads)

                def once():
                    backend.launch(compiled, args, launch)
                    backend.synchronize()
                once()
                measured = best_time(once)
                est = predict_launch(machine, device, work, Copies(), True)
                rows.append({"kernel": name, "size": n, "device": device,
                             "measured_s": measured, "predicted_s": est.seconds,
                             "ratio": measured / est.seconds, "bound": est.bound,
                             "memory_s": est.memory_s, "compute_s": est.compute_s})
                print(f"{name:<13} {n:>8.0e} {device:<7} measured {measured * 1e3:9.3f} ms"
                      f"  predicted {est.seconds * 1e3:9.3f} ms  ×{measured / est.seconds:5.2f}"
                      f"  ({est.bound})", flush=True)
    return rows


def copy_rows(machine) -> list[dict]:
    """Pageable upload and download times on each device with its own memory."""
    rows = []
    for device, fig in machine.devices.items():
        if not fig.upload:
            continue
        backend = backends.get(device)
        for nbytes in (4 << 20, 64 << 20, 400_000_000):
            host = np.random.default_rng(1).random(nbytes // 4, dtype=np.float32)
            dev = backend.to_device(host)
            up = best_time(lambda: (backend.to_device(host), backend.synchronize()))
            down = best_time(lambda: backend.to_host(dev, host))
            rows.append({"device": device, "bytes": nbytes, "upload_s": up,
                         "download_s": down, "upload_predicted_s": nbytes / fig.upload,
                         "download_predicted_s": nbytes / fig.download})
            print(f"copies {device:<7} {nbytes / 1e6:7.1f} MB  up {nbytes / up / 1e9:6.2f} GB/s"
                  f" (calibrated {fig.upload / 1e9:6.2f})  down {nbytes / down / 1e9:6.2f}"
                  f" GB/s (calibrated {fig.download / 1e9:6.2f})", flush=True)
            del dev
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", help="comma-separated kernels (default: all of placement.py)")
    ap.add_argument("--sizes", default="5,6,7,8", help="powers of ten")
    ap.add_argument("--out", type=Path)
    opts = ap.parse_args()
    machine = this_machine()
    complete(machine)
    for name, fig in machine.devices.items():
        print(name, {k: v for k, v in asdict(fig).items() if isinstance(v, (int, float))},
              flush=True)
    t0 = time.perf_counter()
    names = opts.only.split(",") if opts.only else list(KERNELS)
    result = {"benchmark": "model_error", "host": platform.node(), "cpu": machine.cpu,
              "cores": machine.cores,
              "figures": {d: asdict(f) for d, f in machine.devices.items()},
              "kernels": kernel_rows(machine, names, [int(s) for s in opts.sizes.split(",")]),
              "copies": copy_rows(machine), "seconds": time.perf_counter() - t0}
    if opts.out:
        opts.out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
