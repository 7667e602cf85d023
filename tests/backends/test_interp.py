"""The NumPy interpreter (backends/interp) against independent NumPy references: thread ids,
shared memory, atomics (arithmetic: test_interp_arith, control flow: test_interp_control).
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.backends.interp_launch import run


def test_saxpy():
    src = """
GPU_KERNEL saxpy
GPU_PARAM x float[]
GPU_PARAM y float[]
GPU_PARAM a float
GPU_THREAD_CODE:
    THREAD_ID → i
    SET r = a * x[i] + y[i]
    STORE r → y[i]
GPU_END
"""
    rng = np.random.default_rng(1)
    x = rng.standard_normal(1000).astype(np.float32)
    y = rng.standard_normal(1000).astype(np.float32)
    want = np.float32(2.5) * x + y
    run(src, [x, y, np.float32(2.5)], (1000,))
    np.testing.assert_array_equal(y, want)


def test_2d_thread_ids():
    src = """
GPU_KERNEL coords
GPU_PARAM out int[,]
GPU_THREAD_CODE:
    THREAD_ID → x, y
    LOCAL_ID → lx, ly
    BLOCK_ID → bx, by
    THREAD_ID → t
    STORE x + 1000 * y → out[y, x]
    STORE t → tid[y, x]
    STORE lx + 100 * ly + 10000 * (bx + 100 * by) → loc[y, x]
GPU_END
""".replace("GPU_PARAM out int[,]", "GPU_PARAM out int[,]\nGPU_PARAM tid int[,]\n"
            "GPU_PARAM loc int[,]")
    h, w = 37, 21
    out, tid, loc = (np.full((h, w), -1, np.int32) for _ in range(3))
    run(src, [out, tid, loc], (w, h))
    yy, xx = np.mgrid[0:h, 0:w]
    np.testing.assert_array_equal(out, xx + 1000 * yy)
    np.testing.assert_array_equal(tid, yy * w + xx)
    np.testing.assert_array_equal(loc, xx % 16 + 100 * (yy % 16)
                                  + 10000 * (xx // 16 + 100 * (yy // 16)))


REDUCE_WHILE = """
GPU_KERNEL block_sum
GPU_PARAM a float[]
GPU_PARAM partial float[]
GPU_BLOCK 256
GPU_SHARED_MEM tile float 256
GPU_THREAD_CODE:
    THREAD_ID → i
    LOCAL_ID → l
    BLOCK_ID → b
    SET v = 0.0
    IF i < LEN(a):
        LOAD a[i] → v
    STORE v → tile[l]
    SYNC_THREADS
    SET s = 128
    WHILE s > 0:
        IF l < s:
            SET t = tile[l] + tile[l + s]
            STORE t → tile[l]
        SYNC_THREADS
        SET s = s / 2
    IF l == 0:
        STORE tile[0] → partial[b]
GPU_END
"""

REDUCE_FOR = """
GPU_KERNEL block_sum
GPU_PARAM a float[]
GPU_PARAM partial float[]
GPU_BLOCK 256
GPU_SHARED_MEM tile float 256
GPU_THREAD_CODE:
    THREAD_ID → i
    LOCAL_ID → l
    BLOCK_ID → b
    SET v = 0.0
    IF i < LEN(a):
        LOAD a[i] → v
    STORE v → tile[l]
    SYNC_THREADS
    FOR k IN 0..8:
        SET s = 128 >> k
        IF l < s:
            STORE tile[l] + tile[l + s] → tile[l]
        SYNC_THREADS
    IF l == 0:
        STORE tile[0] → partial[b]
GPU_END
"""


@pytest.mark.parametrize("src", [REDUCE_WHILE, REDUCE_FOR], ids=["while", "for"])
def test_block_reduction_shared_memory(src):
    n = 1000  # not a multiple of the block: the kernel guards itself
    a = np.random.default_rng(2).random(n).astype(np.float32)
    nblocks = -(-n // 256)
    partial = np.zeros(nblocks, np.float32)
    run(src, [a, partial], (n,))
    want = np.add.reduceat(a.astype(np.float64), np.arange(0, n, 256))
    np.testing.assert_allclose(partial, want, rtol=1e-5)


def test_shared_2d_transpose_tile():
    src = """
GPU_KERNEL tr
GPU_PARAM a int[,]
GPU_PARAM out int[,]
GPU_BLOCK 8, 8
GPU_SHARED_MEM tile int 8 8
GPU_THREAD_CODE:
    THREAD_ID → x, y
    LOCAL_ID → lx, ly
    IF x < COLS(a) AND y < ROWS(a):
        STORE a[y, x] → tile[ly, lx]
    SYNC_THREADS
    IF x < COLS(a) AND y < ROWS(a):
        STORE tile[ly, lx] * 2 + tile[ly, 7 - lx] * 0 → out[y, x]
GPU_END
"""
    a = np.arange(13 * 11, dtype=np.int32).reshape(13, 11)
    out = np.zeros_like(a)
    run(src, [a, out], (11, 13))
    np.testing.assert_array_equal(out, a * 2)


def test_histogram_atomic_add():
    src = """
GPU_KERNEL hist
GPU_PARAM data int[]
GPU_PARAM h int[]
GPU_THREAD_CODE:
    THREAD_ID → i
    LOAD data[i] → v
    ATOMIC_ADD h[v] 1
GPU_END
"""
    data = np.random.default_rng(3).integers(0, 16, 5000).astype(np.int32)
    h = np.zeros(16, np.int32)
    run(src, [data, h], (len(data),))
    np.testing.assert_array_equal(h, np.bincount(data, minlength=16))


def test_atomic_add_old_values():
    src = """
GPU_KERNEL count
GPU_PARAM c int[]
GPU_PARAM olds int[]
GPU_THREAD_CODE:
    THREAD_ID → i
    ATOMIC_ADD c[i % 2] 3 → old
    STORE old → olds[i]
GPU_END
"""
    n = 999
    c = np.array([0, 10], np.int32)
    olds = np.full(n, -1, np.int32)
    run(src, [c, olds], (n,))
    assert c.tolist() == [3 * 500, 10 + 3 * 499]
    assert sorted(olds[0::2].tolist()) == [3 * k for k in range(500)]
    assert sorted(olds[1::2].tolist()) == [10 + 3 * k for k in range(499)]


def test_atomic_min_max_exch_old_values():
    src = """
GPU_KERNEL at
GPU_PARAM v int[]
GPU_PARAM m int[]
GPU_PARAM olds int[]
GPU_PARAM exch int[]
GPU_THREAD_CODE:
    THREAD_ID → i
    ATOMIC_MAX m[0] v[i] → a
    ATOMIC_MIN m[1] v[i]
    ATOMIC_EXCH m[2] i → e
    STORE a → olds[i]
    STORE e → exch[i]
GPU_END
"""
    v = np.random.default_rng(4).permutation(100).astype(np.int32)
    m = np.array([-1, 1000, -1], np.int32)
    olds, exch = np.zeros(100, np.int32), np.zeros(100, np.int32)
    run(src, [v, m, olds, exch], (100,))
    assert m[0] == 99 and m[1] == 0
    # the threads updated one after another: one saw the initial value, each other one
    # the value a thread stored before it
    assert sorted(exch.tolist() + [int(m[2])]) == list(range(-1, 100))
    assert (olds == -1).sum() == 1 and set(olds.tolist()) <= set(v.tolist()) | {-1}
