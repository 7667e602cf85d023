"""Grid-stride sum, the Python twin of ``examples/grid_sum.px``: a fixed grid of 1024 blocks
of 256 threads; each thread adds every ``num_threads()``-th value, eight loads at a time,
then each block sums its 256 totals in a shared-memory tree.

    python3 examples/python/grid_sum.py [--device c|interp|cuda|opencl]
"""

from __future__ import annotations

import argparse

import numpy as np

import pxos


@pxos.kernel(block=(256,))
def grid_sum(data: pxos.Array[pxos.f32, 1], partial: pxos.Array[pxos.f32, 1]):
    tile = pxos.shared(256, pxos.f32)
    tid = pxos.thread_id()
    lid = pxos.local_id()
    bid = pxos.block_id()
    nt = pxos.num_threads()
    v = 0.0
    i = tid
    while i < len(data) - 7 * nt:
        v = v + data[i] + data[i + nt] + data[i + 2 * nt] + data[i + 3 * nt]
        v = v + data[i + 4 * nt] + data[i + 5 * nt] + data[i + 6 * nt] + data[i + 7 * nt]
        i = i + 8 * nt
    while i < len(data):
        v = v + data[i]
        i = i + nt
    tile[lid] = v
    pxos.sync_threads()
    stride = 128
    while stride > 0:
        if lid < stride:
            tile[lid] = tile[lid] + tile[lid + stride]
        pxos.sync_threads()
        stride = stride // 2
    if lid == 0:
        partial[bid] = tile[0]


def run(device: str | None = None) -> dict[str, np.ndarray]:
    """The example's outputs by name, as the `.px` program writes them."""
    data = pxos.random(1_000_000, np.float32, seed=42)
    partial = np.zeros(1024, np.float32)
    grid_sum(data, partial, device=device, threads=(len(partial) * 256,))
    return {"data": data, "partial": partial}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default=None)
    out = run(parser.parse_args().device)
    print("sum of", len(out["data"]), "values:", out["partial"].sum(dtype=np.float64))
