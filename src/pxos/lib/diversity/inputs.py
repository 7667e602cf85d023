"""Checking the inputs of the diversity library: embeddings, starts, the device.

Embeddings are normalised here (each row divided by its L2 norm, in float64, then stored as
float32), so a caller may pass raw vectors; a row of zeros, a NaN or an infinity is refused.
"""

from __future__ import annotations

import hashlib

import numpy as np

from pxos import backends, registry
from pxos.errors import PxError


class DiversityError(PxError):
    """Embeddings, starts, a device or a cache that the diversity library cannot use."""

    kind = "diversity error"


def check_embeddings(E) -> np.ndarray:
    """``E`` as a C-contiguous float32 N × D array with L2-normalised rows.

    Args:
        E: any 2-D array of real numbers (NumPy, or anything ``np.asarray`` takes), N ≥ 1.

    Raises:
        DiversityError: not 2-D, empty, not real numbers, a NaN or infinity (with its row),
            or a row of zeros (with its index).
    """
    try:
        a = np.asarray(E)
    except (TypeError, ValueError) as err:
        raise DiversityError(f"embeddings are not an array of numbers: {err}") from None
    if a.ndim != 2 or a.shape[0] < 1 or a.shape[1] < 1:
        raise DiversityError(f"embeddings must be a 2-D array N × D with N, D ≥ 1, got shape "
                             f"{a.shape}")
    if a.dtype.kind not in "fiu":
        raise DiversityError(f"embeddings must be real numbers, got dtype {a.dtype}")
    a = a.astype(np.float64)
    bad = ~np.isfinite(a).all(axis=1)
    if bad.any():
        raise DiversityError(f"embedding row {int(np.argmax(bad))} holds a NaN or an infinity",
                             hint="clean or drop that row before building sequences")
    norms = np.linalg.norm(a, axis=1)
    if (norms == 0).any():
        raise DiversityError(f"embedding row {int(np.argmin(norms))} is all zeros: it has "
                             f"no direction", hint="drop empty texts before embedding")
    return np.ascontiguousarray(a / norms[:, None], dtype=np.float32)


def check_start(start, n: int) -> int:
    """``start`` as an int in ``0..n-1``.

    Raises:
        DiversityError: not an integer, or out of range.
    """
    if isinstance(start, bool) or not isinstance(start, (int, np.integer)):
        raise DiversityError(f"a start must be an integer item index, got {start!r:.40}")
    if not 0 <= int(start) < n:
        raise DiversityError(f"start {int(start)} is out of range: the embeddings have {n} "
                             f"rows (0..{n - 1})")
    return int(start)


def check_starts(starts, n: int) -> np.ndarray:
    """The distinct starts, sorted, as int64 (all of ``0..n-1`` when ``starts`` is None).

    Raises:
        DiversityError: as :func:`check_start` for any of them, or an empty list.
    """
    if starts is None:
        return np.arange(n, dtype=np.int64)
    items = [check_start(s, n) for s in np.asarray(starts).reshape(-1).tolist()]
    if not items:
        raise DiversityError("no starts given")
    return np.unique(np.asarray(items, np.int64))


def pick_device(device: str | None) -> str:
    """The backend to run on: ``device`` if given (checked), else the first GPU backend
    present whose arrays are CuPy's (``cuda``), else the first CPU backend that compiles
    (``c``), else the interpreter (all from ``pxos.registry``).

    Raises:
        PxBackendError: ``device`` is unknown or not available here.
    """
    if device is not None:
        backends.get(device)  # raises PxBackendError with the reason
        return device
    present = backends.available()
    gpus = [d for d in present if registry.is_gpu(d) and "cupy" in registry.entry(d).libraries]
    cpus = registry.compiling([d for d in registry.cpu_backends() if d in present])
    return (gpus + cpus)[0]


def corpus_hash(E: np.ndarray) -> str:
    """SHA-256 (hex) of normalised embeddings: shape, dtype and bytes (the cache's key)."""
    h = hashlib.sha256(f"{E.shape}|{E.dtype.str}|".encode())
    h.update(np.ascontiguousarray(E).data)
    return h.hexdigest()
