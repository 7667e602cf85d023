"""Diversity sequences on every backend present, against the float64 reference."""

from __future__ import annotations

import functools

import numpy as np
import pytest

import pxos.diversity as dv
from pxos.errors import PxBackendError
from pxos.lib.diversity import deep, kernels, lanes, wide
from pxos.lib.diversity.engine import batch_size, multiprocessors, run_batch, step_kernel
from pxos.testing import for_each_backend

# every kernel that advances a batch, with its threads per start (None: loop form)
KERNELS = {"rows": (kernels.advance_rows, None),
           "blocks": (kernels.advance_blocks, kernels.BLOCK),
           "shared": (kernels.advance_shared, kernels.BLOCK),
           "lanes": (lanes.advance_lanes, lanes.LANES),
           "wide": (wide.advance_wide, wide.WIDE),
           "deep": (deep.advance_deep, deep.DEEP),
           "wide_global": (wide.advance_wide_global, wide.WIDE)}


def _unit(a) -> np.ndarray:
    a = np.asarray(a, np.float64)
    return a / np.linalg.norm(a, axis=1, keepdims=True)


def _embeddings(n: int, d: int, seed: int) -> np.ndarray:
    return _unit(np.random.default_rng(seed).standard_normal((n, d)))


def _run(name: str, E: np.ndarray, starts, device: str) -> np.ndarray:
    """Every step of ``starts`` with kernel ``KERNELS[name]``, called directly."""
    kernel, width = KERNELS[name]
    n = E.shape[0]
    sim = (E @ E.T).astype(np.float32)
    if kernel is deep.advance_deep:  # reads the matrix as one padded vector
        sim = deep.flat_matrix(sim, np)
    scores = np.empty((len(starts), n), np.float32)
    last = np.empty(len(starts), np.int32)
    out = np.zeros((len(starts), n), np.uint16)
    kernels.start_rows(np.asarray(starts, np.int32), scores, last, out, device=device)
    extra = {} if width is None else {"threads": len(starts) * width}
    if kernel is lanes.advance_lanes:  # the whole matrix: every item its own column and row
        every = np.arange(n, dtype=np.int32)
        kernel = functools.partial(kernel, sim, every, every)
    else:
        kernel = functools.partial(kernel, sim)
    half = (n - 1) // 2  # two launches: a batch continues where the last launch stopped
    kernel(scores, last, out, 1, half, device=device, **extra)
    kernel(scores, last, out, 1 + half, n - 1 - half, device=device, **extra)
    return out


@pytest.mark.parametrize("kernel", list(KERNELS))
def test_kernels_equal_the_reference(backend, kernel):
    E = _embeddings(37, 6, seed=1)
    starts = [0, 5, 36, 12]
    out = _run(kernel, E, starts, backend)
    for b, s in enumerate(starts):
        assert out[b].tolist() == dv.reference_sequence(E, s).tolist()


@pytest.mark.parametrize("kernel", list(KERNELS))
def test_exact_ties_go_to_the_lowest_index(backend, kernel):
    base = _embeddings(12, 4, seed=2)
    E = np.repeat(base, 3, axis=0)  # every row three times: exact ties at every step
    out = _run(kernel, E, [0, 7, 35], backend)
    for b, s in enumerate([0, 7, 35]):
        assert out[b].tolist() == dv.reference_sequence(E, s).tolist()


@for_each_backend(require=("compiled",))
@pytest.mark.parametrize("kernel", ["lanes", "wide", "wide_global", "deep"])
def test_rows_longer_than_a_block(backend, kernel):
    # 1,100 items: several 16-item chunks and a tail (lanes), 2 items a thread (wide),
    # 5 a thread (deep)
    E = _embeddings(1100, 8, seed=7)
    out = _run(kernel, E, [0, 1099], backend)
    for b, s in enumerate([0, 1099]):
        assert out[b].tolist() == dv.reference_sequence(E, s).tolist()


def test_each_device_gets_its_kernel():
    assert step_kernel("c", 7797) == KERNELS["lanes"]
    assert step_kernel("opencl", 7797) == KERNELS["rows"]
    assert step_kernel("cuda", wide.WIDE_N) == KERNELS["wide"]
    sms = multiprocessors("cuda")  # this GPU's, or GPU_UNITS without one
    assert step_kernel("cuda", deep.DEEP_N, sms) == KERNELS["deep"]  # many starts
    assert step_kernel("cuda", deep.DEEP_N, 2) == KERNELS["wide"]  # fewer than the SMs
    assert step_kernel("cuda", deep.DEEP_N + 1, sms) == KERNELS["wide_global"]
    assert step_kernel("cuda", wide.WIDE_N + 1) == KERNELS["wide_global"]
    assert step_kernel("cuda", wide.WIDE_GLOBAL_N + 1) == KERNELS["blocks"]


def test_launches_of_a_few_steps_continue_each_other():
    E = _embeddings(70, 5, seed=8)
    rows = run_batch(dv.similarity(E), np.array([3, 69]), "c", chunk=9)
    assert rows[0].tolist() == dv.reference_sequence(E, 3).tolist()
    assert rows[1].tolist() == dv.reference_sequence(E, 69).tolist()


def test_sequence_and_batches_on_every_backend(backend):
    E = _embeddings(60, 8, seed=3)
    for s in (0, 59):
        assert dv.sequence(E, s, device=backend).tolist() == dv.reference_sequence(E, s).tolist()
    sim = dv.similarity(E)
    rows = run_batch(sim, np.arange(60), backend)
    assert rows.dtype == np.uint16
    for s in range(0, 60, 9):
        assert rows[s].tolist() == dv.reference_sequence(E, s).tolist()


def test_near_ties_stay_valid():
    # coarse embeddings: many near-equal scores, where float32 may pick another item
    a = np.round(np.random.default_rng(4).standard_normal((150, 3)), 1) + 1e-3
    E = _unit(a)
    sim = dv.similarity(E)
    for s in (0, 50, 149):
        seq = dv.sequence(E, s, device="c", sim=sim)
        assert dv.is_valid(E, seq), s


def test_similarity_matches_float64():
    E = _embeddings(50, 16, seed=5)
    sim = dv.similarity(E * 3.0)  # rows are normalised first
    assert sim.dtype == np.float32 and sim.shape == (50, 50)
    np.testing.assert_allclose(sim, E @ E.T, atol=1e-6)


@pytest.mark.parametrize("bad,message", [
    (np.array([[1.0, 0.0], [np.nan, 1.0]]), "row 1 holds a NaN"),
    (np.array([[1.0, 0.0], [0.0, 0.0]]), "row 1 is all zeros"),
    (np.ones(4), "2-D"),
    (np.zeros((0, 3)), "2-D"),
    (np.array([["a", "b"]]), "real numbers"),
])
def test_bad_embeddings_are_refused(bad, message):
    with pytest.raises(dv.DiversityError, match=message):
        dv.sequence(bad, 0, device="c")


def test_bad_starts_devices_and_batches_are_refused():
    E = _embeddings(5, 2, seed=6)
    with pytest.raises(dv.DiversityError, match="start 5 is out of range"):
        dv.sequence(E, 5)
    with pytest.raises(dv.DiversityError, match="start -1 is out of range"):
        dv.sequence(E, -1)
    with pytest.raises(dv.DiversityError, match="integer"):
        dv.sequence(E, 1.5)
    with pytest.raises(PxBackendError):
        dv.sequence(E, 0, device="tpu")
    with pytest.raises(dv.DiversityError, match="batch"):
        batch_size(5, 5, "c", 0)
    with pytest.raises(dv.DiversityError, match="must be 5 × 5"):
        dv.sequence(E, 0, sim=np.zeros((4, 4)))


def test_batches_fit_memory_and_the_count():
    assert batch_size(100, 7, "c") == 7
    assert batch_size(100, 1000, "c") == 128
    assert batch_size(100, 1000, "c", batch=10) == 10
    assert 1 <= batch_size(10_000_000, 100, "c") <= 100


def test_block_kernels_compile_for_cuda_with_nvrtc():
    from tests.codegen.test_cuda_codegen import nvrtc

    from pxos.codegen.cuda import render_cuda

    compile_cubin = nvrtc()
    sim = np.zeros((8, 8), np.float32)
    args = (sim, np.zeros((2, 8), np.float32), np.zeros(2, np.int32),
            np.zeros((2, 8), np.uint16), 1, 7)
    for kernel in (kernels.advance_blocks, kernels.advance_shared, wide.advance_wide,
                   wide.advance_wide_global, deep.advance_deep):
        flat = deep.flat_matrix(sim, np) if kernel is deep.advance_deep else sim
        for arr in (flat, flat.astype(np.float16)):
            ir = kernel.ir(arr, *args[1:], threads=(2 * wide.WIDE,))
            path, _ = compile_cubin(render_cuda(ir, False), "90")
            assert path.read_bytes()[:4] == b"\x7fELF"


@for_each_backend(require=("cuda_memory",))
@pytest.mark.parametrize("n", [wide.WIDE_N, wide.WIDE_N + 1])
def test_gpu_kernels_at_their_size_limits(backend, n):
    # advance_wide with every thread's 8 items full, then advance_wide_global; the same
    # float32 matrix on both sides, so the GPU must give the CPU's sequences bit for bit
    E = _embeddings(n, 16, seed=9)
    sim = (E @ E.T).astype(np.float32)
    starts = np.array([0, n - 1])
    assert step_kernel(backend, n)[0] is (wide.advance_wide if n <= wide.WIDE_N
                                          else wide.advance_wide_global)
    gpu = run_batch(sim, starts, backend)
    np.testing.assert_array_equal(gpu, run_batch(sim, starts, "c"))
    for row in gpu:
        assert dv.is_valid(E, row.astype(np.int64))
    if n <= deep.DEEP_N:  # advance_deep with every thread's 32 items full
        pair = (deep.advance_deep, deep.DEEP)
        np.testing.assert_array_equal(run_batch(sim, starts, backend, kernel=pair), gpu)


def test_gpu_batches_are_whole_waves_of_deep(monkeypatch):
    import pxos.lib.diversity.engine as engine

    monkeypatch.setattr(engine, "free_memory", lambda device: 1 << 40)
    monkeypatch.setattr(engine, "multiprocessors", lambda device: 132)
    wave = 132 * engine.DEEP_PER_UNIT  # 528 starts: advance_deep's blocks on 132 SMs
    assert batch_size(7797, 7797, "cuda") == 4 * wave  # about a quarter, whole waves
    assert batch_size(30746, 30746, "cuda") == 15 * wave
    assert batch_size(7797, 100, "cuda") == 100  # fewer starts than one wave: one batch
    monkeypatch.setattr(engine, "free_memory", lambda device: 7797 * 6 * 2 * 1000)
    assert batch_size(7797, 7797, "cuda") == 1000  # memory binds first


def test_compaction_drops_columns_and_keeps_every_bit(monkeypatch):
    from pxos.lib.diversity import compaction

    gathered = []
    gather = compaction._gather
    monkeypatch.setattr(compaction, "_gather", lambda *a: gathered.append(a[1].size)
                        or gather(*a))
    E = _embeddings(300, 6, seed=11)
    sim = dv.similarity(E)
    # 32 starts: enough that the reads saved pay for each gather (compaction._pays)
    starts = np.array([0, 17, 150, 299, 42, 43, 44, 45, *range(60, 300, 10)])
    rows = run_batch(sim, starts, "c", chunk=16)  # compacts between launches of 16 steps
    assert len(gathered) >= 3 and gathered == sorted(gathered, reverse=True)
    whole = run_batch(sim, starts, "c", kernel=KERNELS["rows"])  # never compacted
    np.testing.assert_array_equal(rows, whole)
    for b in (0, 3):
        assert rows[b].tolist() == dv.reference_sequence(E, int(starts[b])).tolist()


def test_a_lone_start_never_gathers(monkeypatch):
    """One start reads each remaining row once: a gather could only cost (compaction._pays)."""
    from pxos.lib.diversity import compaction

    monkeypatch.setattr(compaction, "_gather", lambda *a: pytest.fail("gathered"))
    E = _embeddings(300, 6, seed=12)
    got = run_batch(dv.similarity(E), np.array([5]), "c", chunk=16)[0]
    assert got.tolist() == dv.reference_sequence(E, 5).tolist()
