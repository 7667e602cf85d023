"""SAXPY, the Python twin of ``examples/saxpy.px``: out = a·x + y over a million floats.

    python3 examples/python/saxpy.py [--device c|interp|cuda|opencl]
"""

from __future__ import annotations

import argparse

import numpy as np

import pxos


@pxos.kernel
def saxpy(a: pxos.f32, x: pxos.Array[pxos.f32, 1], y: pxos.Array[pxos.f32, 1],
          out: pxos.Array[pxos.f32, 1]):
    for i in pxos.parallel(len(x)):
        out[i] = a * x[i] + y[i]


def run(device: str | None = None) -> dict[str, np.ndarray]:
    """The example's outputs by name, as the `.px` program writes them."""
    x = pxos.random(1_000_000, np.float32, seed=1, low=-1.0, high=1.0)  # RANDOM x SEED 1 …
    y = pxos.random(1_000_000, np.float32, seed=2)
    out = np.zeros_like(x)
    saxpy(2.5, x, y, out, device=device)
    return {"x": x, "y": y, "out": out}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default=None)
    print("out =", run(parser.parse_args().device)["out"])
