"""Similarity matrices and batches of diversity sequences on a pxos backend.

``similarity`` is one matrix product (NumPy's BLAS on the host; CuPy, so cuBLAS, on a GPU
backend whose memory holds CuPy arrays). A batch of starts then runs in lock step through
the kernels of :mod:`~pxos.lib.diversity.kernels`, :mod:`~pxos.lib.diversity.lanes`,
:mod:`~pxos.lib.diversity.wide` and :mod:`~pxos.lib.diversity.deep` (:func:`step_kernel`
says which runs where): ``start_rows`` once (NumPy on the host), then launches that make
all ``N - 1`` steps of every start of the batch (on the host through
:mod:`~pxos.lib.diversity.compaction`, which shrinks the matrix between launches). Which
backend is a GPU, keeps its own memory or holds CuPy arrays comes from the registry
(``pxos.registry``), not from backend names.
"""

from __future__ import annotations


import numpy as np

import pxos
from pxos import registry
import pxos.lib.diversity.compaction as compaction
import pxos.lib.diversity.deep as deep
import pxos.lib.diversity.kernels as kernels
import pxos.lib.diversity.lanes as lanes
import pxos.lib.diversity.wide as wide
from pxos.lib.diversity.inputs import (
    DiversityError, check_embeddings, check_start, pick_device,
)

HOST_BATCH = 128  # starts per batch on CPU backends: a batch is also the unit of resume
CUPY = "cupy"  # the array library of a backend whose memory CuPy arrays live in
GPU_UNITS = 128  # multiprocessors assumed for a GPU whose count cannot be read
GPU_BATCHES = 4  # a GPU cache build's batches: the host stores one while the next runs
DEEP_PER_UNIT = 4  # advance_deep's blocks per SM: 64 registers × 256 threads, 65,536 an SM


def on_cupy(device: str) -> bool:
    """Whether ``device``'s arrays are CuPy arrays (its registry entry claims them), so
    the similarity matrix is a cuBLAS product and batches are CuPy arrays."""
    return registry.known(device) and CUPY in registry.entry(device).libraries


def step_kernel(device: str, n: int, count: int = 1):
    """The kernel that advances ``count`` starts of ``n`` items in lock step on
    ``device``, and its threads per start (None: one thread per start, a loop-form kernel).

    - host memory (``c``, ``interp``): :data:`lanes.advance_lanes` (SIMD lanes of a core);
    - a GPU, ``n <= DEEP_N`` and at least as many starts as the GPU has multiprocessors:
      :data:`deep.advance_deep` (several starts per multiprocessor: throughput);
    - a GPU otherwise: :data:`wide.advance_wide` for ``n <= WIDE_N`` (one start per
      multiprocessor, the shortest step: latency), then :data:`wide.advance_wide_global`
      for ``n <= WIDE_GLOBAL_N``, then :data:`kernels.advance_blocks`;
    - any other device (OpenCL, whose device may be a CPU): :data:`kernels.advance_rows`.
    """
    if not registry.has_device_memory(device):
        return lanes.advance_lanes, lanes.LANES
    if registry.is_gpu(device):
        if n <= deep.DEEP_N and count > 1 and count >= multiprocessors(device):
            return deep.advance_deep, deep.DEEP
        if n <= wide.WIDE_N:
            return wide.advance_wide, wide.WIDE
        if n <= wide.WIDE_GLOBAL_N:
            return wide.advance_wide_global, wide.WIDE
        return kernels.advance_blocks, kernels.BLOCK
    return kernels.advance_rows, None


def multiprocessors(device: str) -> int:
    """The multiprocessors (SMs) of ``device``'s GPU, read through CuPy on a CuPy
    backend; ``GPU_UNITS`` where it cannot be read."""
    if on_cupy(device):
        try:
            import cupy
        except ImportError:  # a CuPy backend named where CuPy is absent (kernel choice only)
            return GPU_UNITS
        return int(cupy.cuda.Device().attributes["MultiProcessorCount"])
    return GPU_UNITS


def out_dtype(n: int) -> np.dtype:
    """The item type of stored sequences: uint16 when ``n < 65,536``, else uint32."""
    return np.dtype(np.uint16 if n < 65_536 else np.uint32)


def similarity(E, *, device: str | None = None) -> np.ndarray:
    """The cosine similarity matrix ``E · Eᵀ`` of the normalised rows of ``E``.

    Args:
        E: embeddings, N × D (normalised here, see ``inputs.check_embeddings``).
        device: a backend holding CuPy arrays (``cuda``) computes it with cuBLAS; any
            other backend with NumPy's BLAS.

    Returns:
        float32 NumPy array, N × N, symmetric, diagonal ≈ 1.

    Raises:
        DiversityError: bad embeddings; PxBackendError: ``device`` not available.
    """
    E = check_embeddings(E)
    sim = device_similarity(E, pick_device(device))
    return sim if isinstance(sim, np.ndarray) else sim.get()


def device_similarity(E: np.ndarray, device: str):
    """``E · Eᵀ`` (float32) where ``device``'s kernels read it: a CuPy array on a CuPy
    backend (cuBLAS), a ``pxos.ndarray`` that stays on another backend with memory of its
    own, else a NumPy array. ``E`` must come from ``check_embeddings``."""
    if on_cupy(device):
        import cupy

        e = cupy.asarray(E)
        return e @ e.T
    sim = E @ E.T
    return pxos.asarray(sim) if registry.has_device_memory(device) else sim


def batch_size(n: int, count: int, device: str, batch: int | None = None) -> int:
    """How many starts run at once: ``batch`` if given, else as many as half the free
    memory holds (scores f32 + stored items per start: ``n · (4 + itemsize)`` bytes) and
    never more than ``count``; on CPU backends at most ``HOST_BATCH``; on a GPU about
    ``count / GPU_BATCHES`` rounded up to whole waves of :data:`deep.advance_deep`
    (``DEEP_PER_UNIT`` starts per multiprocessor), so that the host stores one batch while
    the GPU runs the next (``cache.sequences``) and no batch ends in a part-filled wave.

    Raises:
        DiversityError: ``batch`` below 1.
    """
    if batch is not None:
        if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
            raise DiversityError(f"batch must be a positive integer, got {batch!r:.40}")
        return min(batch, count)
    per_start = n * (4 + out_dtype(n).itemsize)
    fits = max(1, int(free_memory(device) // 2 // per_start))
    if registry.is_gpu(device):
        wave = multiprocessors(device) * DEEP_PER_UNIT
        share = -(-count // GPU_BATCHES)  # ceil(count / GPU_BATCHES)
        cap = -(-share // wave) * wave
    else:
        cap = HOST_BATCH
    return max(1, min(fits, cap, count))


def free_memory(device: str) -> int:
    """Bytes free where ``device`` keeps its arrays (the GPU's, or the host's
    ``MemAvailable``; 1 GiB when neither can be read)."""
    if on_cupy(device):
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


def run_batch(sim, starts: np.ndarray, device: str, kernel=None,
              chunk: int | None = None) -> np.ndarray:
    """The sequences of ``starts`` over similarity matrix ``sim`` (from
    :func:`device_similarity` for the same ``device``), all in lock step.

    Args:
        kernel: ``(kernel, threads per start)`` to use instead of :func:`step_kernel`'s
            (the benchmark compares them). chunk: steps per launch (default: all in one;
            ``compaction.CHECK`` with :data:`lanes.advance_lanes`, which compacts the
            matrix between launches).

    Returns:
        NumPy array len(starts) × N of ``out_dtype(N)``; row ``b`` is the sequence of
        ``starts[b]``.
    """
    n = sim.shape[0]
    count = len(starts)
    if on_cupy(device):
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
    step, width = kernel or step_kernel(device, n, count)
    if step is lanes.advance_lanes:  # host memory: drop the items every start has taken
        return compaction.run_lanes(sim, scores, last, out, device, chunk)
    if step is deep.advance_deep:
        sim = deep.flat_matrix(sim, xp)
    extra = {} if width is None else {"threads": count * width}
    chunk = chunk or max(1, n - 1)
    for lo in range(1, n, chunk):
        step(sim, scores, last, out, lo, min(chunk, n - lo), device=device, **extra)
    return out if xp is np else out.get()


def sequence(E, start: int, *, device: str | None = None, sim=None) -> np.ndarray:
    """The diversity sequence of ``E`` from ``start`` (definition: ``reference.py``).

    Args:
        E: embeddings, N × D. start: the first item, ``0 <= start < N``.
        device: a pxos backend (default: a GPU backend if present, else ``c``).
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
        if on_cupy(device):
            import cupy

            sim = cupy.asarray(sim, np.float32)
        else:
            sim = np.ascontiguousarray(sim, np.float32)
        if tuple(sim.shape) != (E.shape[0],) * 2:
            raise DiversityError(f"sim must be {E.shape[0]} × {E.shape[0]}, got "
                                 f"{tuple(sim.shape)}")
    return run_batch(sim, np.array([start]), device)[0].astype(np.int64)
