"""3-D heat diffusion, the Python twin of ``examples/heat3d.px``: two explicit time steps
of the 7-point stencil over a 36 × 50 × 70 volume (a 3-D launch: ``pxos.parallel(d, h, w)``).

    python3 examples/python/heat3d.py [--device c|interp|cuda|opencl]
"""

from __future__ import annotations

import argparse

import numpy as np

import pxos


@pxos.kernel
def heat_step(u: pxos.Array[pxos.f32, 3], alpha: pxos.f32, out: pxos.Array[pxos.f32, 3]):
    for z, y, x in pxos.parallel(u.shape[0], u.shape[1], u.shape[2]):
        c = u[z, y, x]
        edge = x == 0 or y == 0 or z == 0 or x == u.shape[2] - 1 or y == u.shape[1] - 1
        if edge or z == u.shape[0] - 1:
            out[z, y, x] = c  # the boundary keeps its temperature
        else:
            near = u[z, y, x - 1] + u[z, y, x + 1] + u[z, y - 1, x] + u[z, y + 1, x]
            lap = near + u[z - 1, y, x] + u[z + 1, y, x] - 6.0 * c
            out[z, y, x] = c + alpha * lap


def run(device: str | None = None) -> dict[str, np.ndarray]:
    """The example's outputs by name, as the `.px` program writes them."""
    u = pxos.random((36, 50, 70), np.float32, seed=3, low=0.0, high=100.0)
    v = np.zeros_like(u)
    heat_step(u, 0.125, v, device=device)
    heat_step(v, 0.125, u, device=device)
    return {"u": u}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default=None)
    u = run(parser.parse_args().device)["u"]
    print("cells:", " x ".join(map(str, u.shape)), "=", u.size)
    print("after two steps:", u)
