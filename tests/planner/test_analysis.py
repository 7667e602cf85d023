"""Cost features: access patterns, branch kinds and trip counts, against counts made by
hand from the kernels' text."""

from __future__ import annotations

import numpy as np
import pytest

from pxos.ir.analysis.features import kernel_features, launch_work
from pxos.ir.check_host import check_program
from pxos.lang.px.parser import parse_program

from tests.conftest import EXAMPLES

KERNELS = """
GPU_KERNEL transpose
    GPU_PARAM src float[,]
    GPU_PARAM dst float[,]
GPU_THREAD_CODE:
    THREAD_ID → x, y
    STORE src[y, x] → dst[x, y]
GPU_END

GPU_KERNEL gather
    GPU_PARAM index int[]
    GPU_PARAM src float[]
    GPU_PARAM out float[]
GPU_THREAD_CODE:
    THREAD_ID → i
    STORE src[index[i]] → out[i]
GPU_END

GPU_KERNEL parity
    GPU_PARAM a float[]
    GPU_PARAM total float[]
GPU_THREAD_CODE:
    THREAD_ID → i
    IF i % 2 == 0:
        STORE a[i] * 2.0 → a[i]
    IF (i / 32) % 2 == 0:
        STORE a[i] + 1.0 → a[i]
    ATOMIC_ADD total[0] a[i]
GPU_END

GPU_KERNEL loops
    GPU_PARAM n int
    GPU_PARAM out float[]
GPU_THREAD_CODE:
    THREAD_ID → i
    SET acc = 0.0
    FOR k IN 0..n STEP 2:
        SET acc = acc + 1.0
    SET s = 1
    WHILE s < 1024:
        SET s = s * 2
    SET j = 0
    WHILE j < n:
        SET j = j + 4
    STORE acc → out[i]
GPU_END
"""


@pytest.fixture(scope="module")
def kernels():
    program = check_program(parse_program(KERNELS, "kernels.px"))
    return {k.name: k for k in program.kernels}


def _example_kernels(name):
    return {k.name: k for k in check_program(
        parse_program((EXAMPLES / f"{name}.px").read_text(), str(EXAMPLES / f"{name}.px"))
    ).kernels}


def patterns(kernel):
    return [(a.array, a.kind, a.pattern) for a in kernel_features(kernel).accesses]


def test_access_patterns(kernels):
    assert patterns(kernels["transpose"]) == [("src", "load", "unit"),
                                              ("dst", "store", "strided")]
    assert patterns(kernels["gather"]) == [("src", "load", "gathered"),
                                           ("index", "load", "unit"),
                                           ("out", "store", "unit")]
    assert ("total", "atomic", "uniform") in patterns(kernels["parity"])
    assert patterns(_example_kernels("saxpy")["saxpy"]) == [
        ("x", "load", "unit"), ("y", "load", "unit"), ("out", "store", "unit")]
    gray = patterns(_example_kernels("edges")["grayscale"])
    assert gray[:3] == [("img", "load", "interleaved")] * 3


def test_branch_kinds(kernels):
    kinds = [kind for _, kind in kernel_features(kernels["parity"]).branches]
    assert kinds == ["divergent"]  # i % 2 diverges in a warp; (i / 32) % 2 does not
    block_sum = kernel_features(_example_kernels("reduce")["block_sum"])
    assert {kind for _, kind in block_sum.branches} == {"boundary"}
    assert kernel_features(_example_kernels("mandelbrot")["mandelbrot"]).divergent


def test_trip_counts(kernels):
    out = np.zeros(10, np.float32)
    work = launch_work(kernels["loops"], {"n": np.int32(100), "out": out}, (10,))
    assert not work.unknown_trips
    # FOR 0..100 STEP 2: 50 trips of (1 add + 2 loop control); WHILE s*2 from 1 to 1024:
    # log2(1024) + 1 = 11 trips of (compare + multiply); WHILE j += 4 to 100: 25 trips
    body = 50 * 3 + 11 * 2 + 25 * 2
    assert work.per_thread.ops == pytest.approx(body + 3, abs=3)  # + the loop conditions once
    assert work.per_thread.stores == 1


def test_blur_counts_and_memory():
    blur = _example_kernels("edges")["blur5"]
    src = np.zeros((100, 200), np.float32)
    work = launch_work(blur, {"src": src, "dst": src}, (200, 100))
    assert work.threads == 20000
    assert work.per_thread.loads == 25  # 5 × 5 taps
    assert work.vectorizable
    # a stencil reads src once from memory (cache rule) and writes dst once
    assert work.memory_bytes == src.nbytes * 2


def test_memory_bytes_of_saxpy_and_transpose(kernels):
    saxpy = _example_kernels("saxpy")["saxpy"]
    x = np.zeros(1000, np.float32)
    work = launch_work(saxpy, {"a": np.float32(1), "x": x, "y": x, "out": x}, (1000,))
    assert work.memory_bytes == 3 * x.nbytes
    m = np.zeros((64, 64), np.float32)
    t = launch_work(kernels["transpose"], {"src": m, "dst": m}, (64, 64))
    assert t.cpu_memory_bytes == 2 * m.nbytes  # a CPU reuses the lines of strided rows
    assert t.memory_bytes == m.nbytes + 4 * m.nbytes  # a GPU wastes half of each sector
