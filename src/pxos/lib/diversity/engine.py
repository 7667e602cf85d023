"""Similarity matrices and batches of diversity sequences on a pxos backend.

``similarity`` is one matrix product (NumPy's BLAS on the host; CuPy, so cuBLAS, on
``cuda``). A batch of starts then runs in lock step through the kernels of
:mod:`pxos.lib.diversity.kernels`: ``start_rows`` once (NumPy on the host), then one launch of
``advance_rows`` (CPU backends: a thread per start) or ``advance_shared`` /
``advance_blocks`` (``cuda``: a block per start, its scores in shared memory when
N ≤ 11,776) that makes all ``N - 1`` steps of every start of the batch.
"""

from __future__ import annotations


import numpy as np

import pxos
from pxos.lib.diversity import kernels
from pxos.lib.diversity.inputs import (
    DiversityError, check_embeddings, check_start, pick_device,
)

HOST_BATCH = 64  # starts per batch on CPU backends: a batch is also the unit of resume


def out_dtype(n: int) -> np.dtype:
    """The item type of stored sequences: uint16 when ``n < 65,536``, else uint32."""
    return np.dtype(np.uint16 if n < 65_536 else np.uint32)


def similarity(E, *, device: str | None = None) -> np.ndarray:
    """The cosine similarity matrix ``E · Eᵀ`` of the normalised rows of ``E``.

    Args:
        E: embeddings, N × D (normalised here, see ``inputs.check_embeddings``).
        device: ``cuda`` computes it with cuBLAS; any other backend with NumPy's BLAS.

    Returns:
        float32 NumPy array, N × N, symmetric, diagonal ≈ 1.

    Raises:
        DiversityError: bad embeddings; PxBackendError: ``device`` not available.
    """
    E = check_embeddings(E)
    sim = device_similarity(E, pick_device(device))
    return sim if isinstance(sim, np.ndarray) else sim.get()


def device_similarity(E: np.ndarray, device: str):
    """``E · Eᵀ`` (float32) where ``device``'s kernels read it: a CuPy array on ``cuda``
    (cuBLAS), a ``pxos.ndarray`` that stays on ``opencl``, else a NumPy array.
    ``E`` must come from ``check_embeddings``."""
    if device == "cuda":
        import cupy

        e = cupy.asarray(E)
        return e @ e.T
    sim = E @ E.T
    return pxos.asarray(sim) if device == "opencl" else sim


def batch_size(n: int, count: int, device: str, batch: int | None = None) -> int:
    """How many starts run at once: ``batch`` if given, else as many as half the free
    memory holds (scores f32 + stored items per start: ``n · (4 + itemsize)`` bytes), at
    most ``HOST_BATCH`` on CPU backends and never more than ``count``.

    Raises:
        DiversityError: ``batch`` below 1.
    """
    if batch is not None:
        if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
            raise DiversityError(f"batch must be a positive integer, got {batch!r:.40}")
        return min(batch, count)
    per_start = n * (4 + out_dtype(n).itemsize)
    fits = max(1, int(free_memory(device) // 2 // per_start))
    cap = count if device == "cuda" else HOST_BATCH
    return max(1, min(fits, cap, count))


def free_memory(device: str) -> int:
    """Bytes free where ``device`` keeps its arrays (the GPU's, or the host's
    ``MemAvailable``; 1 GiB when neither can be read)."""
    if device == "cuda":
        import cupy

        return int(cupy.cuda.runtime.memGetInfo()[0])
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 1 << 30


def run_batch(sim, starts: np.ndarray, device: str) -> np.ndarray:
    """The sequences of ``starts`` over similarity matrix ``sim`` (from
    :func:`device_similarity` for the same ``device``), all in lock step.

    Returns:
        NumPy array len(starts) × N of ``out_dtype(N)``; row ``b`` is the sequence of
        ``starts[b]``.
    """
    n = sim.shape[0]
    count = len(starts)
    if device == "cuda":
        import cupy as xp
    else:
        xp = np
    first = np.asarray(starts, np.int32)
    if xp is np:  # on the host, NumPy begins the rows without a launch (cheaper)
        scores = np.zeros((count, n), np.float32)
        scores[np.arange(count), first] = kernels.TAKEN
        last = first.copy()
        out = np.empty((count, n), out_dtype(n))
        out[:, 0] = first
    else:
        scores = xp.empty((count, n), np.float32)
        last = xp.empty(count, np.int32)
        out = xp.empty((count, n), out_dtype(n))
        kernels.start_rows(xp.asarray(first), scores, last, out, device=device)
    if n > 1:
        if device == "cuda":
            step = kernels.advance_shared if n <= kernels.SHARED_N else kernels.advance_blocks
            step(sim, scores, last, out, 1, n - 1, device=device, threads=count * kernels.BLOCK)
        else:
            kernels.advance_rows(sim, scores, last, out, 1, n - 1, device=device)
    return out if xp is np else out.get()


def sequence(E, start: int, *, device: str | None = None, sim=None) -> np.ndarray:
    """The diversity sequence of ``E`` from ``start`` (definition: ``reference.py``).

    Args:
        E: embeddings, N × D. start: the first item, ``0 <= start < N``.
        device: a pxos backend (default: ``cuda`` if present, else ``c``).
        sim: ``similarity(E)`` computed before, to reuse over many calls (N × N float32).

    Returns:
        int64 NumPy array, a permutation of ``0..N-1`` beginning with ``start``; valid
        in the sense of ``reference.is_valid`` (float32 scores).

    Raises:
        DiversityError: bad embeddings, start out of range, ``sim`` of the wrong shape.
        PxBackendError: ``device`` not available.
    """
    E = check_embeddings(E)
    start = check_start(start, E.shape[0])
    device = pick_device(device)
    if sim is None:
        sim = device_similarity(E, device)
    else:
        sim = np.ascontiguousarray(sim, np.float32) if device != "cuda" else sim
        if tuple(sim.shape) != (E.shape[0],) * 2:
            raise DiversityError(f"sim must be {E.shape[0]} × {E.shape[0]}, got "
                                 f"{tuple(sim.shape)}")
    return run_batch(sim, np.array([start]), device)[0].astype(np.int64)
