"""Every example program, on every backend present, against an independent NumPy/SciPy
reference; and every backend against every other (integers exact, floats to 1e-5)."""

from __future__ import annotations

import shutil
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from pxos.host.program import ProgramRun
from pxos.ir.check_host import check_program
from pxos.lang.px.parser import parse_file
from pxos.testing import assert_close, for_each_backend
from tests.conftest import EXAMPLES

RTOL = 1e-5


def run_example(name: str, backend: str, folder: Path) -> Path:
    """Copy ``examples/<name>.px`` (and its data) to ``folder``, run it, return ``folder/out``."""
    shutil.copy(EXAMPLES / f"{name}.px", folder / f"{name}.px")
    data = folder / "data"
    if not data.exists():
        shutil.copytree(EXAMPLES / "data", data)
    printed: list[str] = []
    ProgramRun(check_program(parse_file(folder / f"{name}.px")), device=backend,
               emit=printed.append).run()
    return folder / "out"


@cache
def photo() -> np.ndarray:
    return np.asarray(Image.open(EXAMPLES / "data" / "astronaut.png"))


def test_saxpy(backend, tmp_path):
    out = run_example("saxpy", backend, tmp_path)
    x, y = np.load(out / "saxpy_x.npy"), np.load(out / "saxpy_y.npy")
    assert x.dtype == np.float32 and x.shape == (1_000_000,)
    assert -1 <= x.min() < -0.99 and 0.99 < x.max() < 1  # RANDOM … RANGE -1.0 1.0
    assert 0 <= y.min() and y.max() < 1
    np.testing.assert_array_equal(np.load(out / "saxpy.npy"), np.float32(2.5) * x + y)


def test_edges(backend, tmp_path):
    out = run_example("edges", backend, tmp_path)
    rgb = photo().astype(np.float32)
    gray = (np.float32(0.299) * rgb[..., 0] + np.float32(0.587) * rgb[..., 1]
            + np.float32(0.114) * rgb[..., 2])
    gray8 = np.asarray(Image.open(out / "gray.png"))
    np.testing.assert_array_equal(gray8, np.clip(gray + 0.5, 0, 255).astype(np.uint8))

    w = np.array([1, 4, 6, 4, 1], np.float64)
    blurred_ref = ndimage.convolve(gray.astype(np.float64), np.outer(w, w) / 256.0,
                                   mode="nearest")
    blurred = np.load(out / "blurred.npy")
    np.testing.assert_allclose(blurred, blurred_ref, rtol=RTOL, atol=1e-3)

    gx = ndimage.correlate(blurred_ref, [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], mode="nearest")
    gy = ndimage.correlate(blurred_ref, [[-1, -2, -1], [0, 0, 0], [1, 2, 1]], mode="nearest")
    edges_ref = np.minimum(np.hypot(gx, gy), 255)
    edges = np.asarray(Image.open(out / "edges.png")).astype(np.float64)
    assert edges.shape == photo().shape[:2]
    # truncation to u8 may flip by one level where f32 and f64 round differently
    assert np.abs(edges - np.floor(edges_ref)).max() <= 1
    assert np.mean(edges == np.floor(edges_ref)) > 0.99
    assert edges.max() == 255 and edges.mean() > 5  # real edges, not a blank image


def test_reduce(backend, tmp_path):
    out = run_example("reduce", backend, tmp_path)
    data = np.load(out / "reduce_data.npy")
    partial = np.load(out / "partial_sums.npy")
    padded = np.zeros(len(partial) * 256, np.float64)
    padded[: len(data)] = data
    np.testing.assert_allclose(partial, padded.reshape(-1, 256).sum(axis=1), rtol=RTOL)


def test_histogram(backend, tmp_path):
    out = run_example("histogram", backend, tmp_path)
    p = photo().astype(np.int32)
    luma = (77 * p[..., 0] + 150 * p[..., 1] + 29 * p[..., 2]) >> 8
    hist = np.load(out / "histogram.npy")
    assert hist.dtype == np.uint32
    np.testing.assert_array_equal(hist, np.bincount(luma.ravel(), minlength=256))


@cache  # one NumPy reference for every backend's run
def mandelbrot_reference(h: int, w: int, max_iter: int) -> np.ndarray:
    """Escape counts in f32 with the kernel's order of operations, each step computed
    only for the pixels that have not escaped yet (their indices ``at``)."""
    f = np.float32
    py, px = np.mgrid[0:h, 0:w].astype(np.int32)
    cx = (f(-2.0) + f(3.0) * px.astype(f) / f(w)).ravel()
    cy = (f(-1.25) + f(2.5) * py.astype(f) / f(h)).ravel()
    zx, zy = np.zeros_like(cx), np.zeros_like(cy)
    at = np.arange(h * w)
    n = np.zeros(h * w, np.int32)
    for _ in range(max_iter):
        keep = ~(zx * zx + zy * zy > f(4.0))
        at, zx, zy, cx, cy = at[keep], zx[keep], zy[keep], cx[keep], cy[keep]
        t = zx * zx - zy * zy + cx
        zy = f(2.0) * zx * zy + cy
        zx = t
        n[at] += 1
    n = n.reshape(h, w)
    return (255 * n // max_iter).astype(np.uint8)


def test_mandelbrot(backend, tmp_path):
    out = run_example("mandelbrot", backend, tmp_path)
    image = np.asarray(Image.open(out / "mandelbrot.png"))
    ref = mandelbrot_reference(512, 768, 256)
    assert image.shape == (512, 768)
    # escape counts are exact: + - * in f32 round the same in NumPy and C (no FMA contraction)
    assert np.mean(image == ref) > 0.999
    assert image.max() == 255 and image.min() == 0


@cache
def heat_reference(n: int, steps: int, alpha: float) -> np.ndarray:
    """examples/heat.px in NumPy, in f32 with the kernel's order of operations."""
    f = np.float32
    y, x = np.mgrid[0:n, 0:n].astype(f)
    dx, dy = x - f(0.5) * f(n), y - f(0.35) * f(n)
    r = np.sqrt(dx * dx + dy * dy)
    a = np.where((r > f(18)) & (r < f(26)), f(100), f(0)).astype(f)
    a[-1, :] = f(60)
    for _ in range(steps):
        b = a.copy()
        c = a[1:-1, 1:-1]
        lap = a[:-2, 1:-1] + a[2:, 1:-1] + a[1:-1, :-2] + a[1:-1, 2:] - f(4) * c
        b[1:-1, 1:-1] = c + f(alpha) * lap
        a = b
    return a


def test_heat(backend, tmp_path):
    out = run_example("heat", backend, tmp_path)
    heat = np.load(out / "heat.npy")
    np.testing.assert_allclose(heat, heat_reference(160, 300, 0.24), rtol=1e-4, atol=1e-4)
    img = np.asarray(Image.open(out / "heat.png"))
    assert img.shape == (160, 160, 3) and img.dtype == np.uint8
    v = np.clip(heat / 100, 0, 1) * 3
    np.testing.assert_allclose(img[..., 0], np.minimum(v, 1) * 255, atol=1.01)
    assert img[-1, :, 0].min() == 255 and img[0, 0].max() == 0  # hot edge, cold corner


def heat_step(u: np.ndarray, alpha: np.float32) -> np.ndarray:
    """One explicit step of the 7-point heat stencil; the boundary cells keep their value."""
    out = u.copy()
    c = u[1:-1, 1:-1, 1:-1]
    near = u[1:-1, 1:-1, :-2] + u[1:-1, 1:-1, 2:] + u[1:-1, :-2, 1:-1] + u[1:-1, 2:, 1:-1]
    lap = near + u[:-2, 1:-1, 1:-1] + u[2:, 1:-1, 1:-1] - np.float32(6.0) * c
    out[1:-1, 1:-1, 1:-1] = c + alpha * lap
    return out


def test_heat3d(backend, tmp_path):
    out = run_example("heat3d", backend, tmp_path)
    start, u = np.load(out / "heat3d_start.npy"), np.load(out / "heat3d.npy")
    assert start.shape == u.shape == (36, 50, 70) and u.dtype == np.float32
    assert 0 <= start.min() and start.max() < 100  # RANDOM … RANGE 0.0 100.0
    ref = heat_step(heat_step(start, np.float32(0.125)), np.float32(0.125))
    np.testing.assert_allclose(u, ref, rtol=RTOL, atol=1e-4)
    assert np.array_equal(u[0], start[0]) and np.array_equal(u[:, :, -1], start[:, :, -1])
    assert u[1:-1, 1:-1, 1:-1].std() < 0.6 * start.std()  # diffusion smooths the interior


def load_outputs(out: Path) -> dict:
    """The files an example wrote, by name: arrays (``.npy``) and images."""
    return {p.name: (np.load(p) if p.suffix == ".npy" else np.asarray(Image.open(p)))
            for p in sorted(out.iterdir())}


@pytest.fixture(scope="module")
def interpreter_outputs(tmp_path_factory):
    """``outputs(name)``: an example's outputs on the reference interpreter, run once per
    example for every backend compared with it (the interpreter is the slow side)."""
    found: dict = {}

    def outputs(name: str) -> dict:
        if name not in found:
            folder = tmp_path_factory.mktemp(f"interp-{name}")
            found[name] = load_outputs(run_example(name, "interp", folder))
        return found[name]
    return outputs


@for_each_backend(exclude=("interp",))
@pytest.mark.parametrize("name", ["saxpy", "edges", "reduce", "histogram", "mandelbrot",
                                  "heat", "heat3d"])
def test_backend_agrees_with_the_interpreter(name, backend, tmp_path, interpreter_outputs):
    """Every backend gives the reference interpreter's outputs: same files, dtypes and
    shapes; floats within RTOL, the rest equal."""
    got = load_outputs(run_example(name, backend, tmp_path))
    assert_close(got, interpreter_outputs(name), rtol=RTOL, atol=1e-6,
                 where=f"{name} on {backend}")
