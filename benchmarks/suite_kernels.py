"""The kernels of ``benchmarks/suite.py``: each case as a pxos Python kernel, a Numba
``@njit(parallel=True)`` function and a NumPy reference (PolyBench-style loops).

Every time step of a stencil, and every ``k`` step of Floyd–Warshall, is one call on both
sides (a host time loop): pxos and Numba run the same number of launches.
"""

from __future__ import annotations

import numpy as np

import pxos
from pxos import Array, f32, f64

# ----------------------------------------------------------------------------- pxos


@pxos.kernel(device="c")
def jacobi1d(a: Array[f64, 1], b: Array[f64, 1]):
    for i in pxos.parallel(len(a)):
        if i >= 1 and i < len(a) - 1:
            b[i] = 0.33333 * (a[i - 1] + a[i] + a[i + 1])


@pxos.kernel(device="c")
def jacobi2d(a: Array[f64, 2], b: Array[f64, 2]):
    for i, j in pxos.parallel(a.shape[0], a.shape[1]):
        if i >= 1 and i < a.shape[0] - 1 and j >= 1 and j < a.shape[1] - 1:
            b[i, j] = 0.2 * (a[i, j] + a[i, j - 1] + a[i, j + 1] + a[i + 1, j] + a[i - 1, j])


@pxos.kernel(device="c")
def heat3d(a: Array[f64, 3], b: Array[f64, 3]):
    for i, j, k in pxos.parallel(a.shape[0], a.shape[1], a.shape[2]):
        if (i >= 1 and i < a.shape[0] - 1 and j >= 1 and j < a.shape[1] - 1
                and k >= 1 and k < a.shape[2] - 1):
            c = a[i, j, k]
            b[i, j, k] = (0.125 * (a[i + 1, j, k] - 2.0 * c + a[i - 1, j, k])
                          + 0.125 * (a[i, j + 1, k] - 2.0 * c + a[i, j - 1, k])
                          + 0.125 * (a[i, j, k + 1] - 2.0 * c + a[i, j, k - 1]) + c)


@pxos.kernel(device="c")
def gemm(alpha: f64, beta: f64, a: Array[f64, 2], b: Array[f64, 2], c: Array[f64, 2]):
    for i, j in pxos.parallel(c.shape[0], c.shape[1]):
        acc: f64 = 0.0
        for k in range(a.shape[1]):
            acc += a[i, k] * b[k, j]
        c[i, j] = beta * c[i, j] + alpha * acc


@pxos.kernel(device="c")
def gemv(a: Array[f64, 2], x: Array[f64, 1], y: Array[f64, 1]):
    for i in pxos.parallel(a.shape[0]):
        acc: f64 = 0.0
        for j in range(a.shape[1]):
            acc += a[i, j] * x[j]
        y[i] = acc


@pxos.kernel(device="c")
def gemv_t(a: Array[f64, 2], x: Array[f64, 1], y: Array[f64, 1]):
    for j in pxos.parallel(a.shape[1]):
        acc: f64 = 0.0
        for i in range(a.shape[0]):
            acc += a[i, j] * x[i]
        y[j] = acc


@pxos.kernel(device="c")
def col_mean(data: Array[f64, 2], mean: Array[f64, 1]):
    for j in pxos.parallel(data.shape[1]):
        acc: f64 = 0.0
        for i in range(data.shape[0]):
            acc += data[i, j]
        mean[j] = acc / pxos.f64(data.shape[0])


@pxos.kernel(device="c")
def center(data: Array[f64, 2], mean: Array[f64, 1], out: Array[f64, 2]):
    for i, j in pxos.parallel(data.shape[0], data.shape[1]):
        out[i, j] = data[i, j] - mean[j]


@pxos.kernel(device="c")
def covariance(d: Array[f64, 2], cov: Array[f64, 2]):
    for i, j in pxos.parallel(d.shape[1], d.shape[1]):
        acc: f64 = 0.0
        for k in range(d.shape[0]):
            acc += d[k, i] * d[k, j]
        cov[i, j] = acc / pxos.f64(d.shape[0] - 1)


@pxos.kernel(device="c")
def conv2d(a: Array[f32, 2], b: Array[f32, 2]):
    for i, j in pxos.parallel(a.shape[0], a.shape[1]):
        if i >= 1 and i < a.shape[0] - 1 and j >= 1 and j < a.shape[1] - 1:
            b[i, j] = (0.2 * a[i - 1, j - 1] + 0.5 * a[i - 1, j] - 0.8 * a[i - 1, j + 1]
                       - 0.3 * a[i, j - 1] + 0.6 * a[i, j] - 0.9 * a[i, j + 1]
                       + 0.4 * a[i + 1, j - 1] + 0.7 * a[i + 1, j] + 0.1 * a[i + 1, j + 1])


@pxos.kernel(device="c")
def conv3d(a: Array[f32, 3], b: Array[f32, 3]):
    for i, j, k in pxos.parallel(a.shape[0], a.shape[1], a.shape[2]):
        if (i >= 1 and i < a.shape[0] - 1 and j >= 1 and j < a.shape[1] - 1
                and k >= 1 and k < a.shape[2] - 1):
            b[i, j, k] = (2.0 * a[i - 1, j - 1, k - 1] + 4.0 * a[i + 1, j - 1, k - 1]
                          + 5.0 * a[i - 1, j - 1, k - 1] + 7.0 * a[i + 1, j - 1, k - 1]
                          - 8.0 * a[i - 1, j - 1, k - 1] + 10.0 * a[i + 1, j - 1, k - 1]
                          - 3.0 * a[i, j - 1, k] + 6.0 * a[i, j, k] - 9.0 * a[i, j + 1, k]
                          + 2.0 * a[i - 1, j - 1, k + 1] + 4.0 * a[i + 1, j - 1, k + 1]
                          + 5.0 * a[i - 1, j, k + 1] + 7.0 * a[i + 1, j, k + 1]
                          - 8.0 * a[i - 1, j + 1, k + 1] + 10.0 * a[i + 1, j + 1, k + 1])


@pxos.kernel(device="c")
def floyd_step(path: Array[f32, 2], k: pxos.i32):
    for i, j in pxos.parallel(path.shape[0], path.shape[1]):
        through = path[i, k] + path[k, j]
        if through < path[i, j]:
            path[i, j] = through


# ----------------------------------------------------------------------------- NumPy


def _sh(a: np.ndarray, *offsets: int) -> np.ndarray:
    """The interior of ``a`` shifted by ``offsets`` (one per axis, each -1, 0 or 1)."""
    return a[tuple(slice(1 + o, a.shape[n] - 1 + o) for n, o in enumerate(offsets))]


def np_jacobi1d(a, b):
    b[1:-1] = 0.33333 * (_sh(a, -1) + _sh(a, 0) + _sh(a, 1))


def np_jacobi2d(a, b):
    b[1:-1, 1:-1] = 0.2 * (_sh(a, 0, 0) + _sh(a, 0, -1) + _sh(a, 0, 1) + _sh(a, 1, 0)
                           + _sh(a, -1, 0))


def np_heat3d(a, b):
    c = _sh(a, 0, 0, 0)
    b[1:-1, 1:-1, 1:-1] = (0.125 * (_sh(a, 1, 0, 0) - 2.0 * c + _sh(a, -1, 0, 0))
                           + 0.125 * (_sh(a, 0, 1, 0) - 2.0 * c + _sh(a, 0, -1, 0))
                           + 0.125 * (_sh(a, 0, 0, 1) - 2.0 * c + _sh(a, 0, 0, -1)) + c)


def np_conv2d(a, b):
    f = np.float32
    b[1:-1, 1:-1] = (f(0.2) * _sh(a, -1, -1) + f(0.5) * _sh(a, -1, 0) - f(0.8) * _sh(a, -1, 1)
                     - f(0.3) * _sh(a, 0, -1) + f(0.6) * _sh(a, 0, 0) - f(0.9) * _sh(a, 0, 1)
                     + f(0.4) * _sh(a, 1, -1) + f(0.7) * _sh(a, 1, 0) + f(0.1) * _sh(a, 1, 1))


def np_conv3d(a, b):
    f, s = np.float32, _sh
    b[1:-1, 1:-1, 1:-1] = (
        f(2) * s(a, -1, -1, -1) + f(4) * s(a, 1, -1, -1) + f(5) * s(a, -1, -1, -1)
        + f(7) * s(a, 1, -1, -1) - f(8) * s(a, -1, -1, -1) + f(10) * s(a, 1, -1, -1)
        - f(3) * s(a, 0, -1, 0) + f(6) * s(a, 0, 0, 0) - f(9) * s(a, 0, 1, 0)
        + f(2) * s(a, -1, -1, 1) + f(4) * s(a, 1, -1, 1) + f(5) * s(a, -1, 0, 1)
        + f(7) * s(a, 1, 0, 1) - f(8) * s(a, -1, 1, 1) + f(10) * s(a, 1, 1, 1))


def np_floyd(path):
    for k in range(path.shape[0]):
        np.minimum(path, path[:, k:k + 1] + path[k:k + 1, :], out=path)


def np_covariance(data):
    d = data - data.mean(axis=0)
    return d.T @ d / (data.shape[0] - 1)


# ----------------------------------------------------------------------------- Numba


def numba_kernels() -> dict:
    """The Numba versions (``parallel=True``, no fastmath), or an empty dict without Numba."""
    try:
        import numba
    except ImportError:
        return {}
    from numba import prange
    jit = numba.njit(parallel=True, fastmath=False, cache=True)
    F = np.float32

    @jit
    def nb_jacobi1d(a, b):
        for i in prange(1, a.shape[0] - 1):
            b[i] = 0.33333 * (a[i - 1] + a[i] + a[i + 1])

    @jit
    def nb_jacobi2d(a, b):
        for i in prange(1, a.shape[0] - 1):
            for j in range(1, a.shape[1] - 1):
                b[i, j] = 0.2 * (a[i, j] + a[i, j - 1] + a[i, j + 1] + a[i + 1, j]
                                 + a[i - 1, j])

    @jit
    def nb_heat3d(a, b):
        for i in prange(1, a.shape[0] - 1):
            for j in range(1, a.shape[1] - 1):
                for k in range(1, a.shape[2] - 1):
                    c = a[i, j, k]
                    b[i, j, k] = (0.125 * (a[i + 1, j, k] - 2.0 * c + a[i - 1, j, k])
                                  + 0.125 * (a[i, j + 1, k] - 2.0 * c + a[i, j - 1, k])
                                  + 0.125 * (a[i, j, k + 1] - 2.0 * c + a[i, j, k - 1]) + c)

    @jit
    def nb_gemm(alpha, beta, a, b, c):  # i, k, j: the order a Numba user writes
        for i in prange(c.shape[0]):
            for j in range(c.shape[1]):
                c[i, j] *= beta
            for k in range(a.shape[1]):
                t = alpha * a[i, k]
                for j in range(c.shape[1]):
                    c[i, j] += t * b[k, j]

    @jit
    def nb_gemv(a, x, y):
        for i in prange(a.shape[0]):
            acc = 0.0
            for j in range(a.shape[1]):
                acc += a[i, j] * x[j]
            y[i] = acc

    @jit
    def nb_gemv_t(a, x, y):
        for j in prange(a.shape[1]):
            acc = 0.0
            for i in range(a.shape[0]):
                acc += a[i, j] * x[i]
            y[j] = acc

    @jit
    def nb_covariance(data, mean, d, cov):
        n, m = data.shape
        for j in prange(m):
            acc = 0.0
            for i in range(n):
                acc += data[i, j]
            mean[j] = acc / n
        for i in prange(n):
            for j in range(m):
                d[i, j] = data[i, j] - mean[j]
        for i in prange(m):
            for j in range(m):
                cov[i, j] = 0.0
            for k in range(n):
                t = d[k, i]
                for j in range(m):
                    cov[i, j] += t * d[k, j]
            for j in range(m):
                cov[i, j] /= n - 1

    @jit
    def nb_conv2d(a, b):
        for i in prange(1, a.shape[0] - 1):
            for j in range(1, a.shape[1] - 1):
                b[i, j] = (F(0.2) * a[i - 1, j - 1] + F(0.5) * a[i - 1, j]
                           - F(0.8) * a[i - 1, j + 1] - F(0.3) * a[i, j - 1]
                           + F(0.6) * a[i, j] - F(0.9) * a[i, j + 1]
                           + F(0.4) * a[i + 1, j - 1] + F(0.7) * a[i + 1, j]
                           + F(0.1) * a[i + 1, j + 1])

    @jit
    def nb_conv3d(a, b):
        for i in prange(1, a.shape[0] - 1):
            for j in range(1, a.shape[1] - 1):
                for k in range(1, a.shape[2] - 1):
                    b[i, j, k] = (
                        F(2) * a[i - 1, j - 1, k - 1] + F(4) * a[i + 1, j - 1, k - 1]
                        + F(5) * a[i - 1, j - 1, k - 1] + F(7) * a[i + 1, j - 1, k - 1]
                        - F(8) * a[i - 1, j - 1, k - 1] + F(10) * a[i + 1, j - 1, k - 1]
                        - F(3) * a[i, j - 1, k] + F(6) * a[i, j, k] - F(9) * a[i, j + 1, k]
                        + F(2) * a[i - 1, j - 1, k + 1] + F(4) * a[i + 1, j - 1, k + 1]
                        + F(5) * a[i - 1, j, k + 1] + F(7) * a[i + 1, j, k + 1]
                        - F(8) * a[i - 1, j + 1, k + 1] + F(10) * a[i + 1, j + 1, k + 1])

    @jit
    def nb_floyd_step(path, k):
        for i in prange(path.shape[0]):
            for j in range(path.shape[1]):
                through = path[i, k] + path[k, j]
                if through < path[i, j]:
                    path[i, j] = through

    return {name[3:]: fn for name, fn in locals().items() if name.startswith("nb_")} | {
        "set_threads": numba.set_num_threads, "version": numba.__version__}
