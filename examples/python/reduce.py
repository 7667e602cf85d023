"""Block tree reduction in shared memory, the Python twin of ``examples/reduce.px``: each
block of 256 threads sums its 256 values (thread form: ``pxos.shared`` and
``pxos.sync_threads``).

    python3 examples/python/reduce.py [--device c|interp|cuda|opencl]
"""

from __future__ import annotations

import argparse

import numpy as np

import pxos


@pxos.kernel(block=(256,))
def block_sum(data: pxos.Array[pxos.f32, 1], partial: pxos.Array[pxos.f32, 1]):
    tile = pxos.shared(256, pxos.f32)
    tid = pxos.thread_id()
    lid = pxos.local_id()
    bid = pxos.block_id()
    v = 0.0
    if tid < len(data):
        v = data[tid]
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
    partial = np.zeros((len(data) + 255) // 256, np.float32)
    block_sum(data, partial, device=device)
    return {"data": data, "partial": partial}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default=None)
    out = run(parser.parse_args().device)
    print("sum of", len(out["data"]), "values:", out["partial"].sum(dtype=np.float64))
