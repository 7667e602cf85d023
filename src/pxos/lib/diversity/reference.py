"""The definition of a diversity sequence, in float64 NumPy: the reference every other path
is held to, and the validity rule for results computed in lower precision.

Definition (issue 17): for embeddings ``E`` (N × D, rows L2-normalised) and a start ``s``,
the sequence begins ``[s]`` with the sum vector ``c = e_s``; each step appends the ``j`` not
yet in the sequence that minimises ``c · e_j`` (ties to the lowest index), then
``c += e_j``. The result is a permutation of ``0..N-1``.
"""

from __future__ import annotations

import numpy as np

TOLERANCE = 1e-5  # validity: the chosen score is within TOLERANCE * max|score| of the minimum


def normalised(E) -> np.ndarray:
    """``E`` in float64 with each row divided by its L2 norm (as the library does)."""
    E = np.asarray(E, np.float64)
    return E / np.linalg.norm(E, axis=1, keepdims=True)


def reference_sequence(E: np.ndarray, start: int) -> np.ndarray:
    """The diversity sequence from ``start``, computed in float64, one step at a time.

    Args:
        E: embeddings, N × D (any real dtype; rows normalised here, in float64).
        start: the first item, ``0 <= start < N``.

    Returns:
        int64 array of length N, a permutation of ``0..N-1`` starting with ``start``.
    """
    E = normalised(E)
    n = E.shape[0]
    c = E[start].copy()
    taken = np.zeros(n, bool)
    taken[start] = True
    out = np.empty(n, np.int64)
    out[0] = start
    for k in range(1, n):
        scores = E @ c
        scores[taken] = np.inf
        j = int(np.argmin(scores))  # argmin returns the first of equal minima
        out[k] = j
        taken[j] = True
        c += E[j]
    return out


def step_gaps(E: np.ndarray, sequence: np.ndarray) -> np.ndarray:
    """Per step ``k >= 1`` of ``sequence``, how far the chosen item's float64 score lies
    above that step's minimum over the items not yet chosen, divided by the step's
    ``max|score|`` over those items (0 where the step chose a minimum).

    Args:
        E: embeddings, N × D (rows normalised here).
        sequence: a permutation of ``0..N-1`` (int array).

    Returns:
        float64 array of length N - 1.

    Raises:
        ValueError: ``sequence`` is not a permutation of ``0..N-1``.
    """
    E = normalised(E)
    seq = np.asarray(sequence, np.int64)
    n = E.shape[0]
    if seq.shape != (n,) or not np.array_equal(np.sort(seq), np.arange(n)):
        raise ValueError(f"not a permutation of 0..{n - 1}")
    sim = E @ E.T
    scores = sim[seq[0]].copy()
    taken = np.zeros(n, bool)
    taken[seq[0]] = True
    gaps = np.empty(n - 1)
    for k in range(1, n):
        free = scores[~taken]
        chosen = scores[seq[k]]
        scale = max(float(np.abs(free).max()), np.finfo(np.float64).tiny)
        gaps[k - 1] = (chosen - free.min()) / scale
        taken[seq[k]] = True
        scores += sim[seq[k]]
    return gaps


def max_gaps(E: np.ndarray, sequences: np.ndarray, xp=np) -> np.ndarray:
    """:func:`step_gaps` of many sequences of the same ``E`` at once (vectorised over the
    sequences): per sequence, its largest gap.

    Args:
        E: embeddings, N × D; sequences: S × N, each row a permutation of ``0..N-1``.
        xp: the array module that computes it: NumPy, or CuPy (the same float64
            arithmetic on a GPU; the result is then a CuPy array).

    Returns:
        float64 array of length S; a row that is not a permutation gets ``inf``.
    """
    E = xp.asarray(normalised(E))
    seqs = xp.asarray(np.asarray(sequences, np.int64))
    n = E.shape[0]
    rows = xp.arange(seqs.shape[0])
    every = xp.arange(n)
    perm = xp.asarray([bool(xp.array_equal(xp.sort(q), every)) for q in seqs])
    seqs = xp.where(perm[:, None], seqs, every[None, :])  # keep indexing safe
    sim = E @ E.T
    scores = sim[seqs[:, 0]].copy()
    scores[rows, seqs[:, 0]] = xp.inf
    worst = xp.zeros(seqs.shape[0])
    tiny = np.finfo(np.float64).tiny
    for k in range(1, n):
        chosen = scores[rows, seqs[:, k]]
        low = scores.min(axis=1)
        finite = xp.where(xp.isinf(scores), 0.0, xp.abs(scores))
        scale = xp.maximum(finite.max(axis=1), tiny)
        worst = xp.maximum(worst, (chosen - low) / scale)
        scores[rows, seqs[:, k]] = xp.inf
        scores += sim[seqs[:, k]]
    return xp.where(perm, worst, xp.inf)


def is_valid(E: np.ndarray, sequence: np.ndarray, tolerance: float = TOLERANCE) -> bool:
    """Whether ``sequence`` is a valid diversity sequence of ``E``: a permutation whose every
    step chose an item within ``tolerance * max|score|`` of that step's float64 minimum
    (:func:`step_gaps`). A sequence that is not a permutation is not valid."""
    try:
        return bool(np.all(step_gaps(E, sequence) <= tolerance))
    except ValueError:
        return False
