"""The Mandelbrot set, 768 × 512, escape time up to ``max_iter`` iterations: the Python
twin of ``examples/mandelbrot.px`` (``while`` and ``break`` in a kernel).

    python3 examples/python/mandelbrot.py [--device c|interp|cuda|opencl]
"""

from __future__ import annotations

import argparse

import numpy as np

import pxos


@pxos.kernel
def mandelbrot(image: pxos.Array[pxos.u8, 2], max_iter: pxos.i32):
    for py, px in pxos.parallel(image.shape[0], image.shape[1]):
        cx = -2.0 + 3.0 * pxos.f32(px) / pxos.f32(image.shape[1])
        cy = -1.25 + 2.5 * pxos.f32(py) / pxos.f32(image.shape[0])
        zx = 0.0
        zy = 0.0
        n = 0
        while n < max_iter:
            if zx * zx + zy * zy > 4.0:
                break
            t = zx * zx - zy * zy + cx
            zy = 2.0 * zx * zy + cy
            zx = t
            n = n + 1
        image[py, px] = pxos.u8(255 * n // max_iter)


def run(device: str | None = None) -> dict[str, np.ndarray]:
    """The example's outputs by name, as the `.px` program writes them."""
    image = np.zeros((512, 768), np.uint8)
    mandelbrot(image, 256, device=device)
    return {"image": image}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default=None)
    image = run(parser.parse_args().device)["image"]
    print("inside the set:", int((image == 255).sum()), "pixels")
