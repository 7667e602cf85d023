"""2-D heat diffusion, the Python twin of ``examples/heat.px``: a hot ring and a hot edge
spread over a cold plate. The time loop is a plain Python loop; the two buffers swap names
each step (no copy), and on a GPU they stay there for the whole loop (``pxos.asarray``).

    python3 examples/python/heat.py [--device c|interp|cuda|opencl] [--png heat.png]
"""

from __future__ import annotations

import argparse
import math

import numpy as np

import pxos

N = 160
STEPS = 300
ALPHA = 0.24  # diffusion number; explicit steps are stable below 0.25
Grid = pxos.Array[pxos.f32, 2]


@pxos.kernel
def init(a: Grid):
    for y, x in pxos.parallel(a.shape[0], a.shape[1]):
        dx = pxos.f32(x) - 0.5 * pxos.f32(a.shape[1])
        dy = pxos.f32(y) - 0.35 * pxos.f32(a.shape[0])
        r = math.sqrt(dx * dx + dy * dy)
        t = 0.0
        if r > 18.0 and r < 26.0:
            t = 100.0
        if y == a.shape[0] - 1:
            t = 60.0
        a[y, x] = t


@pxos.kernel
def diffuse(a: Grid, b: Grid, alpha: pxos.f32):
    for y, x in pxos.parallel(a.shape[0], a.shape[1]):
        if x == 0 or y == 0 or x == a.shape[1] - 1 or y == a.shape[0] - 1:
            b[y, x] = a[y, x]  # the edges keep their temperature
        else:
            lap = a[y - 1, x] + a[y + 1, x] + a[y, x - 1] + a[y, x + 1] - 4.0 * a[y, x]
            b[y, x] = a[y, x] + alpha * lap


@pxos.kernel
def colour(a: Grid, img: pxos.Array[pxos.u8, 3]):
    """Temperature 0..100 to a black-red-yellow-white ramp."""
    for y, x in pxos.parallel(a.shape[0], a.shape[1]):
        v = min(max(a[y, x] / 100.0, 0.0), 1.0) * 3.0
        img[y, x, 0] = pxos.u8(min(v, 1.0) * 255.0)
        img[y, x, 1] = pxos.u8(min(max(v - 1.0, 0.0), 1.0) * 255.0)
        img[y, x, 2] = pxos.u8(min(max(v - 2.0, 0.0), 1.0) * 255.0)


def run(device: str | None = None) -> dict[str, np.ndarray]:
    """The example's outputs by name, as the `.px` program writes them."""
    where = device if device in ("cuda", "opencl") else None  # keep the grid on the device
    a, b = (pxos.asarray(np.zeros((N, N), np.float32), device=where) for _ in range(2))
    img = pxos.asarray(np.zeros((N, N, 3), np.uint8), device=where)
    init(a, device=device)
    for _ in range(STEPS):
        diffuse(a, b, ALPHA, device=device)
        a, b = b, a
    colour(a, img, device=device)
    return {"heat": a.numpy(), "img": img.numpy()}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default=None)
    parser.add_argument("--png", default=None, help="also write the picture here")
    args = parser.parse_args()
    out = run(args.device)
    print(f"after {STEPS} steps: hottest {out['heat'].max()}, total heat "
          f"{out['heat'].sum(dtype=np.float64)}")
    if args.png:
        from PIL import Image

        Image.fromarray(out["img"]).save(args.png)
