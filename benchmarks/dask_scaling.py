"""pxos.dask: scaling across Dask workers, its overhead over plain ``map_blocks``, and a
dask-cuda worker on a GPU (issue 22).

    python3 benchmarks/dask_scaling.py [--workers 1 2] [--n 1024] [--steps 8] [--repeat 3]
                                       [--cases scaling overhead cuda] [--out FILE.json]

Each case is timed after one untimed run (compiling and placing the kernel on every
worker); its data are made on the workers (``dask.array.random``), so that only sums come
back to the client.

* ``strong``: a memory-bound stencil (``diffuse``, 5 points) over an n × n grid for
  ``--steps`` steps, and a compute-bound kernel (``orbit``: 400 fused multiply-adds per
  element) over n² floats, on a ``LocalCluster`` of W worker processes of one thread each
  (``OMP_NUM_THREADS=1`` in the workers, so that W workers use W cores); speed-up = t(1) /
  t(W), efficiency = speed-up / W.
* ``weak``: the same stencil with n × n rows per worker (the grid grows with W);
  efficiency = t(1) / t(W).
* ``overhead``: on one worker, ``pxos.dask.map_kernel(saxpy, …)`` against ``map_blocks`` of
  a function that calls the same kernel on each block (pxos.dask's own cost: the goal is
  at most 5 %), and against ``map_blocks`` of the NumPy expression (a peer).
* ``cuda``: dask-cuda's ``LocalCUDACluster`` (one worker per visible GPU), the
  stencil and the compute-bound kernel placed by each worker's planner, and pinned to
  ``cuda``; the device the planner chose is reported. Skipped, with the reason, when
  dask-cuda or a GPU is missing.

Each figure is the median of ``--repeat`` runs. Output: JSON with the machine (host name,
CPU, cores), the load average at the start, every run's seconds and the ratios.
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import dask.array as da  # noqa: E402
import numpy as np  # noqa: E402

import pxos  # noqa: E402
import pxos.dask  # noqa: E402
from dask_kernels import diffuse, orbit, saxpy, saxpy_block, saxpy_numpy  # noqa: E402

def _median_seconds(make, repeat: int) -> tuple[float, list[float]]:
    """Run ``make()`` (a lazy Dask collection) once untimed, then ``repeat`` times."""
    make().compute()
    runs = []
    for _ in range(repeat):
        t = time.perf_counter()
        make().compute()
        runs.append(time.perf_counter() - t)
    return statistics.median(runs), runs


def _stencil(grid, steps: int):
    for _ in range(steps):
        grid = diffuse(grid, da.empty_like(grid), 0.24)
    return grid.sum(dtype=np.float64)


def _cases(n: int, steps: int, rows: int, chunk: int) -> dict:
    """The lazy computations of the scaling cases."""
    def grid(shape, chunks):
        return da.random.default_rng(0).random(shape, dtype=np.float32, chunks=chunks)

    def compute():
        x = grid((n * n,), chunk * n)
        return pxos.dask.map_kernel(orbit, x, da.empty_like(x)).sum()

    return {
        "stencil": lambda: _stencil(grid((n, n), (chunk, n)), steps),
        "compute": compute,
        "weak": lambda: _stencil(grid((rows, n), (chunk, n)), steps),
    }


def _worker_env() -> dict:
    """One core per worker, and this benchmark's kernels importable there."""
    paths = [str(ROOT / "src"), str(ROOT / "benchmarks"), os.environ.get("PYTHONPATH", "")]
    env = {"OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join(p for p in paths if p)}
    if os.environ.get("PXOS_CACHE_DIR"):
        env["PXOS_CACHE_DIR"] = os.environ["PXOS_CACHE_DIR"]
    return env


def _cluster(workers: int):
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                           dashboard_address=None,
                           env=_worker_env())
    return cluster, Client(cluster)


def scaling(workers: list[int], n: int, steps: int, repeat: int) -> dict:
    """Strong scaling of the stencil and the compute-bound kernel; weak of the stencil."""
    out = {}
    for w in workers:
        cluster, client = _cluster(w)
        try:
            chunk = max(n // (2 * max(workers)), 16)
            cases = _cases(n, steps, n * w, chunk)
            out[w] = {name: dict(zip(("seconds", "runs"), _median_seconds(make, repeat)))
                      for name, make in cases.items()}
        finally:
            client.close()
            cluster.close()
    base = out[workers[0]]
    for w, got in out.items():
        for name in ("stencil", "compute"):
            got[name]["speedup"] = base[name]["seconds"] / got[name]["seconds"] * workers[0]
            got[name]["efficiency"] = got[name]["speedup"] / w
        got["weak"]["efficiency"] = base["weak"]["seconds"] / got["weak"]["seconds"]
    return {str(w): v for w, v in out.items()}


def overhead(n: int, repeat: int) -> dict:
    """pxos.dask against map_blocks of the same kernel, and of NumPy, on one worker."""
    rng = np.random.default_rng(1)
    x, y = (rng.random(n * n, dtype=np.float32) for _ in range(2))
    chunk = max(n * n // 64, 1024)
    X, Y = da.from_array(x, chunks=chunk), da.from_array(y, chunks=chunk)
    modes = {
        "pxos.dask": lambda: pxos.dask.map_kernel(saxpy, 2.0, X, Y, da.empty_like(X)).sum(),
        "map_blocks(kernel)": lambda: da.map_blocks(saxpy_block, X, Y,
                                                    dtype=np.float32).sum(),
        "map_blocks(numpy)": lambda: da.map_blocks(saxpy_numpy, X, Y,
                                                   dtype=np.float32).sum(),
    }
    cluster, client = _cluster(1)
    try:
        runs = {m: [] for m in modes}
        for make in modes.values():
            make().compute()  # warm: compiled and placed on the worker
        for _ in range(repeat):  # interleaved, so that load drifts hit every mode alike
            for m, make in modes.items():
                t = time.perf_counter()
                make().compute()
                runs[m].append(time.perf_counter() - t)
    finally:
        client.close()
        cluster.close()
    med = {m: statistics.median(r) for m, r in runs.items()}
    return {"chunks": len(X.chunks[0]), "elements": n * n, "runs": runs, "seconds": med,
            "overhead_vs_kernel_map_blocks": med["pxos.dask"] / med["map_blocks(kernel)"],
            "ratio_vs_numpy_map_blocks": med["pxos.dask"] / med["map_blocks(numpy)"]}


def _devices_chosen(client) -> dict:
    def report():
        from pxos.lib.dask.blocks import _KERNELS

        return {k.name: getattr(k, "decision", None) and k.decision.device
                for k in _KERNELS.values()}
    return client.run(report)


def cuda(n: int, steps: int, repeat: int) -> dict:
    """dask-cuda's LocalCUDACluster: planner-placed and cuda-pinned blocks."""
    try:
        from dask_cuda import LocalCUDACluster
        from distributed import Client
    except ImportError as err:
        return {"skipped": f"dask-cuda is not installed ({err})"}
    if "cuda" not in pxos.backends.available():
        return {"skipped": "no cuda backend here"}
    rng = np.random.default_rng(2)
    square = rng.random((n, n), dtype=np.float32)
    line = rng.random(n * n, dtype=np.float32)
    chunk = max(n // 4, 16)
    out = {}
    with LocalCUDACluster(dashboard_address=None) as cluster, Client(cluster) as client:
        out["workers"] = len(client.scheduler_info()["workers"])
        for device in (None, "cuda"):
            def stencil():
                g = da.from_array(square, chunks=(chunk, n))
                for _ in range(steps):
                    g = pxos.dask.map_kernel(diffuse, g, da.empty_like(g), 0.24, device=device)
                return g.sum(dtype=np.float64)

            def compute():
                x = da.from_array(line, chunks=chunk * n)
                return pxos.dask.map_kernel(orbit, x, da.empty_like(x), device=device).sum()

            key = device or "planner"
            out[key] = {name: dict(zip(("seconds", "runs"), _median_seconds(make, repeat)))
                        for name, make in (("stencil", stencil), ("compute", compute))}
            if device is None:
                out[key]["chosen"] = _devices_chosen(client)
    return out


def plot(result: dict, path: Path) -> None:
    """Efficiency against workers: strong (stencil, compute-bound) and weak (stencil)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = result["scaling"]
    workers = [int(w) for w in runs]
    fig, ax = plt.subplots(figsize=(5, 3.2))
    for case, key, label in (("stencil", "efficiency", "strong, stencil"),
                             ("compute", "efficiency", "strong, compute-bound"),
                             ("weak", "efficiency", "weak, stencil")):
        ax.plot(workers, [runs[str(w)][case][key] for w in workers], marker="o", label=label)
    ax.axhline(0.8, color="grey", linestyle=":", label="goal 0.8")
    ax.set_xscale("log", base=2)
    ax.set_xticks(workers, [str(w) for w in workers])
    ax.set_ylim(0, 1.2)
    ax.set_xlabel("Dask worker processes (one core each)")
    ax.set_ylabel("efficiency")
    ax.set_title(f"pxos.dask on {result['machine']['host']}", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--n", type=int, default=1024, help="grid side (n² elements)")
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cases", nargs="+", default=["scaling", "overhead"],
                        choices=["scaling", "overhead", "cuda"])
    parser.add_argument("--out", default=None, help="write the JSON here")
    parser.add_argument("--plot", default=None,
                        help="write the scaling efficiencies as a PNG here (matplotlib)")
    args = parser.parse_args()
    result = {
        "benchmark": "dask_scaling",
        "machine": {"host": platform.node(), "cpu": platform.processor() or platform.machine(),
                    "cores": os.cpu_count(), "python": platform.python_version()},
        "load_average_at_start": os.getloadavg(),
        "settings": vars(args),
    }
    if "scaling" in args.cases:
        result["scaling"] = scaling(args.workers, args.n, args.steps, args.repeat)
    if "overhead" in args.cases:
        result["overhead"] = overhead(args.n, args.repeat)
    if "cuda" in args.cases:
        result["cuda"] = cuda(args.n, args.steps, args.repeat)
    if args.plot and "scaling" in result:
        plot(result, Path(args.plot))
    text = json.dumps(result, indent=2, default=str)
    if args.out:
        from pxos.atomic_write import write_atomic

        write_atomic(Path(args.out), (text + "\n").encode())
    print(text)


if __name__ == "__main__":
    main()
