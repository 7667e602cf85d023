"""pxos.dask on Dask's synchronous scheduler: every kind of kernel, cut into uneven chunks,
gives what NumPy computes for the whole array, on every backend present and as the planner
places each block."""

from __future__ import annotations

import pytest

pytest.importorskip("dask", reason="needs the dask extra: pip install 'pxos[dask]'")

import subprocess  # noqa: E402
import sys  # noqa: E402

import dask  # noqa: E402
import dask.array as da  # noqa: E402
import numpy as np  # noqa: E402

import pxos  # noqa: E402
import pxos.dask  # noqa: E402
from pxos.errors import PxArgumentError, PxShapeError  # noqa: E402
from tests.conftest import EXAMPLES, ROOT  # noqa: E402
from tests.lib.dask import kernels as K  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
RNG = np.random.default_rng(22)


@pytest.fixture(autouse=True)
def _synchronous():
    with dask.config.set(scheduler="synchronous"):
        yield


def _heat_step(a: np.ndarray, alpha: float) -> np.ndarray:
    """The reference: one explicit step on the interior, the edges kept."""
    b = a.copy()
    lap = a[:-2, 1:-1] + a[2:, 1:-1] + a[1:-1, :-2] + a[1:-1, 2:] - 4 * a[1:-1, 1:-1]
    b[1:-1, 1:-1] = a[1:-1, 1:-1] + np.float32(alpha) * lap
    return b


def test_elementwise_is_map_blocks_and_equals_numpy(backend):
    x = RNG.random(1001, dtype=np.float32)
    y = RNG.random(1001, dtype=np.float32)
    X, Y = da.from_array(x, chunks=170), da.from_array(y, chunks=300)  # rechunked to X's
    out = pxos.dask.map_kernel(K.saxpy, 2.5, X, Y, da.empty_like(X), device=backend)
    assert isinstance(out, da.Array) and out.chunks == X.chunks
    np.testing.assert_allclose(out.compute(), np.float32(2.5) * x + y, rtol=1e-6)
    assert not any("overlap" in k for k in out.dask.layers)  # no halo: map_blocks


def test_a_stencil_gets_the_halo_its_accesses_reach(backend):
    a = RNG.random((61, 47), dtype=np.float32) * 100
    A = da.from_array(a, chunks=(13, (20, 1, 26)))  # uneven, one chunk a single column
    b = pxos.dask.map_kernel(K.diffuse, A, da.empty_like(A), 0.24, device=backend)
    assert b.chunks == A.chunks
    np.testing.assert_allclose(b.compute(), _heat_step(a, 0.24), rtol=1e-5, atol=1e-4)


def test_many_steps_of_a_stencil_stay_lazy_and_correct():
    a = RNG.random((40, 40), dtype=np.float32) * 100
    A = da.from_array(a, chunks=15)
    ref = a
    for _ in range(5):
        A = K.diffuse(A, da.empty_like(A), 0.2)  # a kernel called with Dask arrays
        ref = _heat_step(ref, 0.2)
    assert isinstance(A, da.Array)
    np.testing.assert_allclose(A.compute(), ref, rtol=1e-4, atol=1e-3)


def test_a_clamped_stencil_over_a_loop_of_offsets():
    x = RNG.random(200, dtype=np.float32)
    got = pxos.dask.map_kernel(K.box5, da.from_array(x, chunks=33), da.empty(200, dtype=np.float32))
    idx = np.clip(np.arange(200)[:, None] + np.arange(-2, 3), 0, 199)
    np.testing.assert_allclose(got.compute(), x[idx].mean(axis=1), rtol=1e-5)


def test_an_offset_the_analysis_cannot_bound_needs_overlap():
    x = RNG.random(90, dtype=np.float32)
    X = da.from_array(x, chunks=20)
    with pytest.raises(PxArgumentError, match="overlap=N"):
        pxos.dask.map_kernel(K.shifted, X, 4, da.empty_like(X))
    got = pxos.dask.map_kernel(K.shifted, X, 4, da.empty_like(X), overlap=4)
    np.testing.assert_array_equal(got.compute(), np.concatenate([x[4:], np.zeros(4, x.dtype)]))
    with pytest.raises(PxArgumentError, match="less than the kernel's reach"):
        pxos.dask.map_kernel(K.diffuse, da.ones((9, 9), dtype=np.float32, chunks=3),
                             da.ones((9, 9), dtype=np.float32, chunks=3), 0.1, overlap=0)


def test_reductions_combine_partials_from_the_identity(backend):
    img = RNG.integers(0, 256, (45, 38, 3), dtype=np.uint8)
    hist = pxos.dask.map_kernel(K.histogram, da.from_array(img, chunks=(10, 9, 3)),
                                np.full(256, 7, np.uint32), device=backend)  # contents ignored
    wide = img.astype(np.uint32)
    luma = (77 * wide[..., 0] + 150 * wide[..., 1] + 29 * wide[..., 2]) >> 8
    np.testing.assert_array_equal(hist.compute(), np.bincount(luma.ravel(), minlength=256))
    x = RNG.integers(-10**6, 10**6, 777).astype(np.int32)
    low, high = pxos.dask.map_kernel(K.extremes, da.from_array(x, chunks=100),
                                     np.zeros(1, np.int32), np.zeros(1, np.int32),
                                     device=backend)
    assert (int(low.compute()[0]), int(high.compute()[0])) == (x.min(), x.max())


def test_several_outputs_in_parameter_order_and_a_table_read_whole():
    x = RNG.random(300, dtype=np.float32) - 0.5
    table = np.array([2.0, 0.1], np.float32)
    X = da.from_array(x, chunks=64)
    pos, neg = pxos.dask.map_kernel(K.split_sign, X, da.from_array(table, chunks=1),
                                    da.empty_like(X), da.empty(300, dtype=np.uint8, chunks=64))
    v = x * table[0] + table[1]
    np.testing.assert_allclose(pos.compute(), np.maximum(v, 0), rtol=1e-6)
    np.testing.assert_array_equal(neg.compute(), (v < 0).astype(np.uint8))
    assert neg.dtype == np.uint8


def test_an_array_read_and_written_is_returned_and_its_input_kept():
    g = RNG.random((20, 30), dtype=np.float32)
    G = da.from_array(g, chunks=(7, 8))
    got = pxos.dask.map_kernel(K.scale_in_place, G, 3.0)
    np.testing.assert_allclose(got.compute(), 3 * g, rtol=1e-6)
    np.testing.assert_array_equal(G.compute(), g)  # Dask's blocks are never written


def test_a_kernel_that_reads_no_array_takes_its_blocks_from_the_output():
    got = pxos.dask.map_kernel(K.fill, da.empty(25, dtype=np.float32, chunks=7), 2.5)
    np.testing.assert_array_equal(got.compute(), np.full(25, 2.5, np.float32))


def test_px_kernels_run_block_by_block():
    blur = pxos.dask.px_kernel(EXAMPLES / "edges.px", "blur5")
    a = RNG.random((50, 41), dtype=np.float32)
    got = pxos.dask.map_kernel(blur, da.from_array(a, chunks=(12, 17)), da.empty_like(a))
    w = np.array([1, 4, 6, 4, 1], np.float64)
    pad = np.pad(a.astype(np.float64), 2, mode="edge")  # the kernel clamps to the edge
    ref = sum(w[i] * w[j] * pad[i:i + 50, j:j + 41] for i in range(5) for j in range(5)) / 256
    np.testing.assert_allclose(got.compute(), ref, rtol=1e-5, atol=1e-6)


def test_mistakes_are_px_errors():
    X = da.ones(10, dtype=np.float32, chunks=3)
    with pytest.raises(PxArgumentError, match="thread index 'i' as a value"):
        pxos.dask.map_kernel(K.ramp, X)
    with pytest.raises(PxShapeError, match="share their first 1 extents"):
        pxos.dask.map_kernel(K.saxpy, 1.0, X, da.ones(11, dtype=np.float32, chunks=3), X)
    with pytest.raises(PxArgumentError, match="no Dask array"):
        pxos.dask.map_kernel(K.saxpy, 1.0, np.ones(10, np.float32), np.ones(10, np.float32),
                             np.ones(10, np.float32))
    with pytest.raises(pxos.PxError, match="float32"):
        pxos.dask.map_kernel(K.saxpy, 1.0, X.astype(np.float64), X, X)
    with pytest.raises(pxos.PxError, match="no kernel 'nope'"):
        pxos.dask.px_kernel(EXAMPLES / "edges.px", "nope")


def test_without_pxos_dask_a_dask_argument_is_refused_not_computed():
    code = ("import dask.array as da, numpy as np, pxos\n"
            "from tests.lib.dask.kernels import fill\n"
            "try:\n    fill(da.zeros(4, dtype=np.float32, chunks=2), 1.0)\n"
            "except pxos.PxError as e:\n    print(e)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert "import pxos.dask first" in done.stdout, done.stderr


def test_the_threaded_scheduler_runs_blocks_at_once_and_agrees():
    a = RNG.random((300, 200), dtype=np.float32)
    A = da.from_array(a, chunks=40)
    with dask.config.set(scheduler="threads", num_workers=4):
        got = K.diffuse(A, da.empty_like(A), 0.2).compute()
    np.testing.assert_allclose(got, _heat_step(a, 0.2), rtol=1e-5, atol=1e-5)


def test_dask_progress_bar_sees_the_kernel_tasks(capsys):
    from dask.diagnostics import ProgressBar

    X = da.ones(100, dtype=np.float32, chunks=10)
    with ProgressBar(out=sys.stdout):
        pxos.dask.map_kernel(K.fill, X, 1.0).compute()
    assert "100%" in capsys.readouterr().out


def test_launch_async_refuses_dask_arrays():
    import asyncio

    X = da.ones(8, dtype=np.float32, chunks=4)
    with pytest.raises(PxArgumentError, match="launch_async takes arrays in memory"):
        asyncio.run(K.fill.launch_async(X, 1.0))


def test_a_restored_block_run_sends_the_ir_again():
    """In a process whose ``_KERNELS`` names the Python kernel already (a local compute
    before), a restored BlockRun pickled again (as a client sends it on) still sends the
    checked IR, not the Python function (which another process may not import)."""
    import pickle

    from pxos.lib.dask.blocks import BlockRun
    from pxos.lib.dask.pxkernel import PxKernel

    A = da.from_array(RNG.random((20, 12), dtype=np.float32), chunks=10)
    b = K.diffuse(A, da.empty_like(A), 0.2)
    b.compute(scheduler="sync")  # the token now names K.diffuse here
    run = next(t.func for t in dict(b.__dask_graph__()).values()
               if isinstance(getattr(t, "func", None), BlockRun))
    again = pickle.loads(pickle.dumps(run))
    assert again.ir is not None
    assert isinstance(again.__reduce__()[1][1], PxKernel)
