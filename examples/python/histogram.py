"""256-bin histogram of a photograph's luma with one atomic add per pixel, the Python twin
of ``examples/histogram.px``.

    python3 examples/python/histogram.py [--device c|interp|cuda|opencl]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

import pxos

PHOTO = Path(__file__).resolve().parents[1] / "data" / "astronaut.png"


@pxos.kernel
def histogram(img: pxos.Array[pxos.u8, 3], hist: pxos.Array[pxos.u32, 1]):
    for y, x in pxos.parallel(img.shape[0], img.shape[1]):
        luma = (77 * img[y, x, 0] + 150 * img[y, x, 1] + 29 * img[y, x, 2]) >> 8
        pxos.atomic_add(hist, luma, 1)


def run(device: str | None = None) -> dict[str, np.ndarray]:
    """The example's outputs by name, as the `.px` program writes them."""
    photo = np.asarray(Image.open(PHOTO))
    hist = np.zeros(256, np.uint32)
    histogram(photo, hist, device=device)
    return {"hist": hist}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default=None)
    hist = run(parser.parse_args().device)["hist"]
    print("pixels:", hist.sum(), "fullest bin:", hist.max())
