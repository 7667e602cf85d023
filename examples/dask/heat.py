"""2-D heat diffusion over a Dask array: the grid is cut into chunks, every step of the
stencil kernel runs chunk by chunk (each with a one-cell halo from its neighbours) on the
workers of a Dask cluster, and only the final grid's summary comes back.

    python3 examples/dask/heat.py                        # a LocalCluster of 2 processes
    python3 examples/dask/heat.py --workers 4 --n 8192   # larger: 8192² floats = 256 MiB
    python3 examples/dask/heat.py --scheduler tcp://host:8786   # an existing cluster
    python3 examples/dask/heat.py --cuda                 # dask-cuda: one worker per GPU
    python3 examples/dask/heat.py --workers 0            # no cluster: Dask's threads

The kernel is the same ``diffuse`` as ``examples/python/heat.py``; with ``--check`` the
result is compared with one launch per step over the whole grid on this process.
"""

from __future__ import annotations

import argparse
import time

import dask.array as da
import numpy as np

import pxos
import pxos.dask

Grid = pxos.Array[pxos.f32, 2]


@pxos.kernel
def diffuse(a: Grid, b: Grid, alpha: pxos.f32):
    for y, x in pxos.parallel(a.shape[0], a.shape[1]):
        if x == 0 or y == 0 or x == a.shape[1] - 1 or y == a.shape[0] - 1:
            b[y, x] = a[y, x]  # the edges keep their temperature
        else:
            lap = a[y - 1, x] + a[y + 1, x] + a[y, x - 1] + a[y, x + 1] - 4.0 * a[y, x]
            b[y, x] = a[y, x] + alpha * lap


def start_grid(n: int) -> np.ndarray:
    """A cold plate with a hot bottom edge and a hot square in the middle."""
    a = np.zeros((n, n), np.float32)
    a[-1, :] = 60.0
    a[n // 3: n // 2, n // 3: n // 2] = 100.0
    return a


def simulate(grid, steps: int, alpha: float = 0.24):
    """``steps`` diffusion steps of ``grid`` (a Dask array): a lazy Dask array."""
    for _ in range(steps):
        grid = diffuse(grid, da.empty_like(grid), alpha)
    return grid


def client_for(args):
    """A Dask client: an existing scheduler, dask-cuda's cluster or a LocalCluster; with
    ``--workers 0`` none (Dask's threads in this process)."""
    import contextlib

    from distributed import Client, LocalCluster

    if args.workers == 0 and not (args.scheduler or args.cuda):
        return contextlib.nullcontext()

    if args.scheduler:
        return Client(args.scheduler)
    if args.cuda:
        from dask_cuda import LocalCUDACluster

        return Client(LocalCUDACluster())
    return Client(LocalCluster(n_workers=args.workers, threads_per_worker=1,
                               dashboard_address=":0"))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1024, help="grid side")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--chunk", type=int, default=256, help="chunk side")
    parser.add_argument("--workers", type=int, default=2, help="0: no cluster")
    parser.add_argument("--scheduler", default=None, help="address of a running scheduler")
    parser.add_argument("--cuda", action="store_true", help="dask-cuda's LocalCUDACluster")
    parser.add_argument("--check", action="store_true", help="compare with one launch")
    args = parser.parse_args()
    start = start_grid(args.n)
    with client_for(args) as client:
        if client is not None:
            print("dashboard:", client.dashboard_link)
        t = time.perf_counter()
        final = simulate(da.from_array(start, chunks=args.chunk), args.steps).persist()
        total, hottest = da.compute(final.sum(dtype=np.float64), final.max())
        print(f"{args.steps} steps of {args.n}² in {time.perf_counter() - t:.2f} s: total heat "
              f"{total:.1f}, hottest {hottest:.2f}")
        if args.check:
            a, b = start.copy(), np.empty_like(start)
            for _ in range(args.steps):
                diffuse(a, b, 0.24)
                a, b = b, a
            print("largest difference from one launch per step:",
                  float(np.abs(final.compute() - a).max()))
