"""pxos.dask on a GPU (skipped without one): blocks pinned to ``cuda`` on the synchronous
scheduler, and dask-cuda's LocalCUDACluster (one worker per GPU; skipped without dask-cuda)
whose worker's planner places each block, results against NumPy."""

from __future__ import annotations

import pytest

pytest.importorskip("dask", reason="needs the dask extra: pip install 'pxos[dask]'")

import dask  # noqa: E402
import dask.array as da  # noqa: E402
import numpy as np  # noqa: E402

import pxos  # noqa: E402
import pxos.dask  # noqa: E402
from tests.lib.dask import kernels as K  # noqa: E402

pytestmark = [
    pytest.mark.skipif("cuda" not in pxos.backends.available(), reason="no CUDA GPU here"),
    pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning"),
]
RNG = np.random.default_rng(9)


def _heat_steps(a: np.ndarray, alpha: float, steps: int) -> np.ndarray:
    for _ in range(steps):
        b = a.copy()
        b[1:-1, 1:-1] = a[1:-1, 1:-1] + np.float32(alpha) * (
            a[:-2, 1:-1] + a[2:, 1:-1] + a[1:-1, :-2] + a[1:-1, 2:] - 4 * a[1:-1, 1:-1])
        a = b
    return a


def test_blocks_pinned_to_cuda_equal_numpy():
    a = RNG.random((1000, 700), dtype=np.float32)
    A = da.from_array(a, chunks=(256, 350))
    with dask.config.set(scheduler="synchronous"):
        for _ in range(3):
            A = pxos.dask.map_kernel(K.diffuse, A, da.empty_like(A), 0.2, device="cuda")
        got = A.compute()
        img = RNG.integers(0, 256, (300, 200, 3), dtype=np.uint8)
        hist = pxos.dask.map_kernel(K.histogram, da.from_array(img, chunks=(64, 64, 3)),
                                    np.zeros(256, np.uint32), device="cuda").compute()
    np.testing.assert_allclose(got, _heat_steps(a, 0.2, 3), rtol=1e-5, atol=1e-5)
    wide = img.astype(np.uint32)
    luma = (77 * wide[..., 0] + 150 * wide[..., 1] + 29 * wide[..., 2]) >> 8
    np.testing.assert_array_equal(hist, np.bincount(luma.ravel(), minlength=256))


def test_local_cuda_cluster_places_blocks_on_its_worker():
    dask_cuda = pytest.importorskip("dask_cuda")
    distributed = pytest.importorskip("distributed")
    a = RNG.random((2048, 2048), dtype=np.float32)
    with dask_cuda.LocalCUDACluster(n_workers=1, dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        A = da.from_array(a, chunks=(1024, 2048))
        for _ in range(2):
            A = K.diffuse(A, da.empty_like(A), 0.2)  # the worker's planner places each block
        got = client.compute(A).result()

        def report():
            from pxos.lib.dask.blocks import _KERNELS

            return [k.decision.device for k in _KERNELS.values() if k.decision is not None]
        chosen = client.run(report)
    np.testing.assert_allclose(got, _heat_steps(a, 0.2, 2), rtol=1e-5, atol=1e-5)
    (devices,) = chosen.values()
    assert devices and set(devices) <= set(pxos.backends.available())
