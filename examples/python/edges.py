"""Grayscale, 5×5 Gaussian blur and Sobel edges of a photograph (NASA, public domain): the
Python twin of ``examples/edges.px``. On a GPU the images stay there between the kernels
(``pxos.asarray``): one copy up, one copy back per output.

    python3 examples/python/edges.py [--device c|interp|cuda|opencl]
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
from PIL import Image

import pxos

PHOTO = Path(__file__).resolve().parents[1] / "data" / "astronaut.png"
Image2D = pxos.Array[pxos.f32, 2]


@pxos.kernel
def grayscale(img: pxos.Array[pxos.u8, 3], gray: Image2D):
    for y, x in pxos.parallel(img.shape[0], img.shape[1]):
        r = pxos.f32(img[y, x, 0])
        g = pxos.f32(img[y, x, 1])
        b = pxos.f32(img[y, x, 2])
        gray[y, x] = 0.299 * r + 0.587 * g + 0.114 * b  # ITU-R BT.601 luma


@pxos.kernel
def blur5(src: Image2D, dst: Image2D):
    for y, x in pxos.parallel(src.shape[0], src.shape[1]):
        acc = 0.0
        for dy in range(-2, 3):
            yy = min(max(y + dy, 0), src.shape[0] - 1)  # clamp to the edge
            wy = 6.0 - 1.5 * pxos.f32(abs(dy)) - 0.5 * pxos.f32(dy * dy)  # binomial 1 4 6 4 1
            for dx in range(-2, 3):
                xx = min(max(x + dx, 0), src.shape[1] - 1)
                wx = 6.0 - 1.5 * pxos.f32(abs(dx)) - 0.5 * pxos.f32(dx * dx)
                acc = acc + wy * wx * src[yy, xx]
        dst[y, x] = acc / 256.0


@pxos.kernel
def sobel(src: Image2D, edges: pxos.Array[pxos.u8, 2]):
    for y, x in pxos.parallel(src.shape[0], src.shape[1]):
        x0 = max(x - 1, 0)
        x2 = min(x + 1, src.shape[1] - 1)
        y0 = max(y - 1, 0)
        y2 = min(y + 1, src.shape[0] - 1)
        gx = (src[y0, x2] + 2.0 * src[y, x2] + src[y2, x2]
              - src[y0, x0] - 2.0 * src[y, x0] - src[y2, x0])
        gy = (src[y2, x0] + 2.0 * src[y2, x] + src[y2, x2]
              - src[y0, x0] - 2.0 * src[y0, x] - src[y0, x2])
        mag = math.sqrt(gx * gx + gy * gy)
        edges[y, x] = pxos.u8(min(mag, 255.0))


@pxos.kernel
def to_u8(src: Image2D, dst: pxos.Array[pxos.u8, 2]):
    for y, x in pxos.parallel(src.shape[0], src.shape[1]):
        dst[y, x] = pxos.u8(min(max(src[y, x] + 0.5, 0.0), 255.0))


def run(device: str | None = None) -> dict[str, np.ndarray]:
    """The example's outputs by name, as the `.px` program writes them."""
    photo = np.asarray(Image.open(PHOTO))
    h, w = photo.shape[:2]
    where = device if device in ("cuda", "opencl") else None  # keep images on the device
    img = pxos.asarray(photo, device=where)
    gray, blurred = (pxos.asarray(np.zeros((h, w), np.float32), device=where)
                     for _ in range(2))
    edges, gray8 = (pxos.asarray(np.zeros((h, w), np.uint8), device=where) for _ in range(2))
    grayscale(img, gray, device=device)
    blur5(gray, blurred, device=device)
    sobel(blurred, edges, device=device)
    to_u8(gray, gray8, device=device)
    return {"gray8": gray8.numpy(), "blurred": blurred.numpy(), "edges": edges.numpy()}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default=None)
    out = run(parser.parse_args().device)
    print("photo:", *out["edges"].shape, "pixels; mean edge", float(out["edges"].mean()))
