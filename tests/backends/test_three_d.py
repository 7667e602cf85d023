"""3-D launches on every backend present, against NumPy: a 3-D elementwise kernel whose
sizes are not multiples of the block, every launch index with three names, a kernel with a
3-D GPU_BLOCK, shared memory and barriers (C runs it by loop fission), DIM on every axis in
a kernel and in host statements, and bounds checks on the third axis."""

from __future__ import annotations

import numpy as np
import pytest

from pxos.errors import PxBoundsError
from pxos.host.launch import run_kernel
from pxos.host.program import ProgramRun
from pxos.ir.check_host import check_program
from pxos.lang.px.parser import parse_program

RNG = np.random.default_rng(11)
SHAPE = (5, 7, 45)  # z, y, x: none a multiple of the default block 32 × 4 × 2
A = RNG.uniform(-2, 2, SHAPE).astype(np.float32)

AXPB = """\
GPU_KERNEL axpb
    GPU_PARAM a float[,,]
    GPU_PARAM s float
    GPU_PARAM out float[,,]
    GPU_THREADS DIM(a, 2), DIM(a, 1), DIM(a, 0)
GPU_THREAD_CODE:
    THREAD_ID → x, y, z
    STORE s * a[z, y, x] + 0.5 → out[z, y, x]
GPU_END
"""


def kernel(src: str):
    return check_program(parse_program(src, "t.px")).kernels[0]


def test_elementwise_over_a_volume(backend):
    k = kernel(AXPB)
    assert k.ndim == 3 and k.block == (32, 4, 2)  # the documented default 3-D block
    out = np.full(SHAPE, -1, np.float32)
    run_kernel(backend, k, [A, np.float32(1.5), out], SHAPE[::-1])
    np.testing.assert_array_equal(out, np.float32(1.5) * A + np.float32(0.5))


INDICES = """\
GPU_KERNEL ids
    GPU_PARAM out int[,,]
    GPU_THREADS 13, 6, 5
    GPU_BLOCK 4, 3, 2
GPU_THREAD_CODE:
    THREAD_ID → x, y, z
    LOCAL_ID → lx, ly, lz
    BLOCK_ID → bx, by, bz
    BLOCK_SIZE → sx, sy, sz
    THREAD_ID → tid
    LOCAL_ID → lid
    BLOCK_ID → bid
    BLOCK_SIZE → bs
    NUM_THREADS → n
    STORE lx → out[z, y, x * 11 + 0]
    STORE ly → out[z, y, x * 11 + 1]
    STORE lz → out[z, y, x * 11 + 2]
    STORE bx → out[z, y, x * 11 + 3]
    STORE by → out[z, y, x * 11 + 4]
    STORE bz → out[z, y, x * 11 + 5]
    STORE sx * 100 + sy * 10 + sz → out[z, y, x * 11 + 6]
    STORE tid → out[z, y, x * 11 + 7]
    STORE lid → out[z, y, x * 11 + 8]
    STORE bid → out[z, y, x * 11 + 9]
    STORE bs * 1000 + n → out[z, y, x * 11 + 10]
GPU_END
"""


def test_every_launch_index_with_three_names(backend):
    out = np.full((5, 6, 13 * 11), -1, np.int32)  # 11 values per thread along x
    run_kernel(backend, kernel(INDICES), [out], (13, 6, 5))
    z, y, x = np.meshgrid(np.arange(5), np.arange(6), np.arange(13), indexing="ij")
    lx, ly, lz, bx, by, bz = x % 4, y % 3, z % 2, x // 4, y // 3, z // 2
    grid = (4, 2, 3)  # blocks along x, y, z
    want = np.stack([lx, ly, lz, bx, by, bz, np.full_like(x, 432),
                     (z * 6 + y) * 13 + x, (lz * 3 + ly) * 4 + lx,
                     (bz * grid[1] + by) * grid[0] + bx,
                     np.full_like(x, 24 * 1000 + 13 * 6 * 5)], axis=-1)
    np.testing.assert_array_equal(out, want.reshape(5, 6, 13 * 11))


# Each block of 4 × 2 × 2 threads loads its cells into a 3-D shared tile, then every thread
# writes the cell of the thread opposite it in the block; then the block sums its cells by a
# tree reduction in a loop with a barrier. Threads past the volume still take part.
BLOCKS = """\
GPU_KERNEL mirror
    GPU_PARAM a float[,,]
    GPU_PARAM out float[,,]
    GPU_PARAM sums float[,,]
    GPU_SHARED_MEM tile float 2 2 4
    GPU_SHARED_MEM part float 16
    GPU_THREADS DIM(a, 2), DIM(a, 1), DIM(a, 0)
    GPU_BLOCK 4, 2, 2
GPU_THREAD_CODE:
    THREAD_ID → x, y, z
    LOCAL_ID → lx, ly, lz
    BLOCK_ID → bx, by, bz
    LOCAL_ID → lid
    SET inside = x < DIM(a, 2) AND y < DIM(a, 1) AND z < DIM(a, 0)
    SET v = 0.0
    IF inside:
        SET v = a[z, y, x]
    STORE v → tile[lz, ly, lx]
    STORE v → part[lid]
    SYNC_THREADS
    IF inside:
        STORE tile[1 - lz, 1 - ly, 3 - lx] → out[z, y, x]
    SET stride = 8
    WHILE stride > 0:
        IF lid < stride:
            STORE part[lid] + part[lid + stride] → part[lid]
        SYNC_THREADS
        SET stride = stride / 2
    IF lid == 0:
        STORE part[0] → sums[bz, by, bx]
GPU_END
"""


def blocks_of(a: np.ndarray, block=(2, 2, 4)) -> np.ndarray:
    """``a`` padded with zeros to whole blocks, as (gz, gy, gx, bz, by, bx)."""
    g = [-(-n // b) for n, b in zip(a.shape, block)]
    padded = np.zeros([n * b for n, b in zip(g, block)], a.dtype)
    padded[:a.shape[0], :a.shape[1], :a.shape[2]] = a
    return padded.reshape(g[0], block[0], g[1], block[1], g[2], block[2]) \
        .transpose(0, 2, 4, 1, 3, 5)


def test_shared_memory_and_barriers_in_a_3d_block(backend):
    a = RNG.integers(-50, 50, SHAPE).astype(np.float32)  # small integers: sums are exact
    out = np.full(SHAPE, np.nan, np.float32)
    sums = np.zeros((3, 4, 12), np.float32)
    run_kernel(backend, kernel(BLOCKS), [a, out, sums], SHAPE[::-1])
    blocks = blocks_of(a)
    mirrored = blocks[..., ::-1, ::-1, ::-1].transpose(0, 3, 1, 4, 2, 5).reshape(6, 8, 48)
    np.testing.assert_array_equal(out, mirrored[:5, :7, :45])
    np.testing.assert_array_equal(sums, blocks.sum(axis=(3, 4, 5)))


DIMS = """\
GPU_KERNEL dims
    GPU_PARAM a float[,,]
    GPU_PARAM out int[]
    GPU_THREADS 1
GPU_THREAD_CODE:
    STORE DIM(a, 0) → out[0]
    STORE DIM(a, 1) → out[1]
    STORE DIM(a, 2) → out[2]
    STORE ROWS(a) * 1000 + COLS(a) → out[3]
    STORE LEN(a) → out[4]
    STORE DIM(out, 0) → out[5]
GPU_END

ALLOC a float SIZE 3, 5, 37
ALLOC out int SIZE 6
RUN dims a out
SET cells = DIM(a, 0) * DIM(a, 1) * DIM(a, 2)
PRINT "dims", DIM(a, 0), DIM(a, 1), DIM(a, 2), cells, ROWS(a), COLS(a), DIM(out, 0)
"""


def test_dim_of_every_axis_in_kernels_and_host_statements(backend):
    printed: list[str] = []
    run = ProgramRun(check_program(parse_program(DIMS, "t.px")), device=backend,
                     emit=printed.append).run()
    np.testing.assert_array_equal(run.array("out", None), [3, 5, 37, 3005, 555, 6])
    assert printed == ["dims 3 5 37 555 3 5 6"]


OOB = """\
GPU_KERNEL shift
    GPU_PARAM a float[,,]
    GPU_PARAM out float[,,]
    GPU_THREADS DIM(a, 2), DIM(a, 1), DIM(a, 0)
GPU_THREAD_CODE:
    THREAD_ID → x, y, z
    STORE a[z, y, x + 1] → out[z, y, x]
GPU_END
"""


def test_bounds_checks_name_the_third_axis(backend):
    a = np.zeros((2, 3, 4), np.float32)
    with pytest.raises(PxBoundsError, match=r"index 4 is out of bounds on axis 2 of array 'a'"):
        run_kernel(backend, kernel(OOB), [a, np.zeros_like(a)], (4, 3, 2), checked=True)
