"""pxos.dask on a LocalCluster of four worker processes (issue 22's CI goal): kernels travel
to the workers, each block is placed there by the planner, and the results equal NumPy's."""

from __future__ import annotations

import pytest

pytest.importorskip("dask", reason="needs the dask extra: pip install 'pxos[dask]'")

import dask.array as da  # noqa: E402
import numpy as np  # noqa: E402

import pxos.dask  # noqa: E402
from tests.conftest import EXAMPLES  # noqa: E402
from tests.lib.dask import kernels as K  # noqa: E402

distributed = pytest.importorskip("distributed")
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")
RNG = np.random.default_rng(4)


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    cache = str(tmp_path_factory.getbasetemp() / "pxos-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PXOS_CACHE_DIR", cache)  # the workers inherit the session's cache folder
        from pxos.planner.calibration import complete, machine

        complete(machine())  # calibrated once here, not by each worker
        with distributed.LocalCluster(n_workers=4, threads_per_worker=1, processes=True,
                                      dashboard_address=None) as cluster, \
                distributed.Client(cluster) as c:
            yield c


def _workers_blocks(c):
    """Per worker: the kernels it ran and the device its planner chose for each."""
    def report():
        from pxos.lib.dask.blocks import _KERNELS

        return {k.name: getattr(k, "decision", None) and k.decision.device
                for k in _KERNELS.values()}
    return c.run(report)


def test_a_stencil_over_four_processes_equals_numpy(client):
    a = RNG.random((120, 90), dtype=np.float32) * 100
    A = da.from_array(a, chunks=(30, 45))
    b = K.diffuse(A, da.empty_like(A), 0.25)  # the kernel travels as its checked IR
    b = K.diffuse(b, da.empty_like(b), 0.25)
    ref = a.copy()
    for _ in range(2):
        new = ref.copy()
        new[1:-1, 1:-1] = ref[1:-1, 1:-1] + np.float32(0.25) * (
            ref[:-2, 1:-1] + ref[2:, 1:-1] + ref[1:-1, :-2] + ref[1:-1, 2:] - 4 * ref[1:-1, 1:-1])
        ref = new
    np.testing.assert_allclose(client.compute(b).result(), ref, rtol=1e-5, atol=1e-4)
    placed = _workers_blocks(client)
    assert len(placed) == 4
    devices = {d for kernels in placed.values() for d in kernels.values()}
    assert devices and None not in devices  # every worker's planner chose a device
    assert devices <= set(pxos.backends.available())


def test_px_kernel_and_a_reduction_over_four_processes(client):
    blur = pxos.dask.px_kernel(EXAMPLES / "edges.px", "sobel")
    a = RNG.random((64, 80), dtype=np.float32)
    got = client.compute(pxos.dask.map_kernel(blur, da.from_array(a, chunks=16),
                                              da.empty(a.shape, dtype=np.uint8, chunks=16)))
    ref = np.empty(a.shape, np.uint8)
    blur(a, ref)  # one launch over the whole array, on this process
    np.testing.assert_array_equal(got.result(), ref)
    x = RNG.integers(-5000, 5000, 4000).astype(np.int32)
    low, high = K.extremes(da.from_array(x, chunks=500), np.zeros(1, np.int32),
                           np.zeros(1, np.int32))
    assert [int(v[0]) for v in client.compute([low, high], sync=True)] == [x.min(), x.max()]
