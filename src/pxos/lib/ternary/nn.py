"""Ternary weight networks: quantizers, packed ternary weights, multiplication-free kernels.

A weight matrix ``W`` (out × in, float) becomes ``scale[:, None] * T`` with trits ``T`` in
−1..1 and one float scale per output row, by one of three quantizers:

- :func:`twn` (Li & Liu 2016): per row, threshold ``Δ = 0.7·mean|w|``, ``T = sign(w)``
  where ``|w| > Δ``, scale ``α`` = the mean of ``|w|`` over those weights.
- :func:`absmean` (BitNet b1.58): ``γ = mean|W|`` over the whole matrix, ``T =
  clip(round(W / γ), −1, 1)``, one scale ``γ`` for every row.
- :func:`calibrated`: per row, the threshold that minimises ``‖w − α·T‖²`` exactly (keep
  the k largest ``|w|``, for the k that maximises ``(Σ top-k |w|)² / k``).

:class:`TernaryWeights` holds the trits packed 2 bits per trit (16 per uint32 word: a
mask test decodes one, with no division or table, where 5 trits per byte would need a
division per trit) and the scales. :func:`matvec` and :func:`matmul` run the kernels of
:mod:`pxos.lib.ternary.nn_kernels` on any backend: on a GPU a warp per 4 rows of the
row-major words (``warp_kernel``), elsewhere the row-tiled copy of the words
(:attr:`TernaryWeights.tiles`, made once per weights) that gcc vectorises across rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from pxos import registry
from pxos.errors import PxArgumentError, PxShapeError, PxTypeError
from pxos.lib.ternary import nn_kernels as NK


@dataclass(frozen=True)
class TernaryWeights:
    """Packed ternary weights.

    Attributes:
        packed: uint32 ``(rows, ceil(cols / 16))``, 2 bits per trit (0: 0, 1: +1, 2: −1).
        scale: float32 ``(rows,)``, the scale of each output row.
        cols: the number of input columns (the rest of the last word is zero).
    """

    packed: np.ndarray
    scale: np.ndarray
    cols: int

    @property
    def shape(self) -> tuple[int, int]:
        """``(rows, cols)`` of the weight matrix."""
        return (self.packed.shape[0], self.cols)

    @property
    def nbytes(self) -> int:
        """Bytes of packed trits and scales (what a model stores)."""
        return self.packed.nbytes + self.scale.nbytes

    @cached_property
    def tiles(self) -> np.ndarray:
        """The words in the CPU kernels' layout: uint32 ``(ceil(rows / TILE), words,
        TILE)``, ``tiles[t, j, r] = packed[t * TILE + r, j]`` (rows past the end: zero).
        Made on first use and kept (as much memory again as ``packed``)."""
        rows, words = self.packed.shape
        count = -(-rows // NK.TILE)
        padded = np.zeros((count * NK.TILE, words), np.uint32)
        padded[:rows] = self.packed
        return np.ascontiguousarray(padded.reshape(count, NK.TILE, words).transpose(0, 2, 1))

    def trits(self) -> np.ndarray:
        """The trits as int8 ``(rows, cols)``."""
        shifts = np.arange(16, dtype=np.uint32) * 2
        codes = (self.packed[:, :, None] >> shifts) & 3
        t = np.where(codes == 1, 1, np.where(codes == 2, -1, 0)).astype(np.int8)
        return t.reshape(self.packed.shape[0], -1)[:, :self.cols]

    def dense(self) -> np.ndarray:
        """The float32 matrix ``scale[:, None] * trits`` these weights stand for."""
        return self.scale[:, None] * self.trits().astype(np.float32)


def pack(trits, scale) -> TernaryWeights:
    """Pack an int8 trit matrix ``(rows, cols)`` and per-row scales.

    Raises:
        PxArgumentError: a value outside −1..1 (position named) or a scale of wrong length.
    """
    t = np.asarray(trits)
    if t.ndim != 2 or t.dtype.kind not in "iu":
        raise PxTypeError(f"trits must be a 2-D integer array, got {t.dtype} {t.shape}")
    bad = np.argwhere((t < -1) | (t > 1))
    if bad.size:
        i, k = (int(v) for v in bad[0])
        raise PxArgumentError(f"trits[{i}, {k}] = {t[i, k]} is not a trit")
    scale = np.broadcast_to(np.asarray(scale, np.float32), (t.shape[0],)).copy()
    rows, cols = t.shape
    words = -(-cols // 16)
    padded = np.zeros((rows, words * 16), np.uint32)
    padded[:, :cols] = np.where(t == 1, 1, np.where(t == -1, 2, 0))
    shifts = np.arange(16, dtype=np.uint32) * 2
    packed = (padded.reshape(rows, words, 16) << shifts).sum(axis=2, dtype=np.uint64)
    return TernaryWeights(packed.astype(np.uint32), scale, cols)


def _matrix(w) -> np.ndarray:
    w = np.asarray(w, np.float64)
    if w.ndim != 2 or w.size == 0:
        raise PxShapeError(f"weights must be a non-empty 2-D matrix (out × in), got {w.shape}")
    return w


def twn(w, factor: float = 0.7) -> TernaryWeights:
    """TWN: per row ``Δ = factor·mean|w|``, trits ``sign(w)·[|w| > Δ]``, scale = mean
    ``|w|`` over the kept weights (0 if none)."""
    w = _matrix(w)
    a = np.abs(w)
    keep = a > factor * a.mean(axis=1, keepdims=True)
    n = keep.sum(axis=1)
    alpha = np.where(n > 0, (a * keep).sum(axis=1) / np.maximum(n, 1), 0.0)
    return pack((np.sign(w) * keep).astype(np.int8), alpha)


def absmean(w, eps: float = 1e-6) -> TernaryWeights:
    """BitNet b1.58: ``γ = mean|W|``, trits ``clip(round(W / (γ + eps)), −1, 1)``, every
    row scaled by ``γ``."""
    w = _matrix(w)
    gamma = np.abs(w).mean()
    t = np.clip(np.round(w / (gamma + eps)), -1, 1)
    return pack(t.astype(np.int8), np.full(w.shape[0], gamma))


def calibrated(w) -> TernaryWeights:
    """The per-row threshold of least reconstruction error ``‖w − α·T‖²`` (α optimal for
    each threshold): keep the ``k`` largest ``|w|`` for the ``k`` maximising ``S_k² / k``,
    ``S_k`` their sum; ``α = S_k / k``."""
    w = _matrix(w)
    a = np.abs(w)
    s = np.cumsum(-np.sort(-a, axis=1), axis=1)
    k = np.arange(1, w.shape[1] + 1)
    best = np.argmax(s * s / k, axis=1)                  # k - 1 of the best k
    alpha = s[np.arange(w.shape[0]), best] / (best + 1)
    order = np.argsort(-a, axis=1, kind="stable")
    keep = np.zeros(w.shape, bool)
    np.put_along_axis(keep, order, k[None, :] <= (best + 1)[:, None], axis=1)
    return pack((np.sign(w) * keep).astype(np.int8), alpha)


QUANTIZERS = {"twn": twn, "absmean": absmean, "calibrated": calibrated}


def _input(weights: TernaryWeights, x, ndim: int, dtype) -> np.ndarray:
    """``x`` (cols,) or (batch, cols) as ``dtype`` (batch, words, 16), zero-padded."""
    x = np.asarray(x)
    if x.ndim != ndim or x.shape[-1] != weights.cols:
        raise PxShapeError(f"x must have shape {('batch', )[:ndim - 1] + (weights.cols,)}"
                           f" for weights {weights.shape}, got {x.shape}")
    words = weights.packed.shape[1]
    batch = 1 if ndim == 1 else x.shape[0]
    out = np.zeros((batch, words * 16), dtype)
    out[:, :weights.cols] = x.reshape(batch, weights.cols)
    return out.reshape(-1, words, 16)


def _on_gpu(device: str | None) -> bool:
    """Whether the kernels run on a GPU (the block-per-row kernel) rather than a CPU: the
    backend asked for is a GPU's, or, with none asked for, one is present."""
    if device is not None:
        return registry.is_gpu(device)
    from pxos import backends

    return any(registry.is_gpu(name) for name in backends.available())


def _tiled(weights: TernaryWeights, x: np.ndarray, device) -> np.ndarray:
    """The tile kernels on ``x`` (batch, words, 16): (batch, rows) float32 for float
    ``x``, int64 sums for int32 ``x``."""
    rows = weights.shape[0]
    tiles = weights.tiles
    y = np.empty((x.shape[0], tiles.shape[0], NK.TILE), x.dtype)
    if x.dtype == np.int32:
        NK.tiles_int_kernel(tiles, x, y, device=device)
        return y.reshape(x.shape[0], -1)[:, :rows].astype(np.int64)
    scale = np.zeros(tiles.shape[0] * NK.TILE, np.float32)
    scale[:rows] = weights.scale
    NK.tiles_kernel(tiles, x, scale.reshape(-1, NK.TILE), y, device=device)
    return y.reshape(x.shape[0], -1)[:, :rows]


def matvec(weights: TernaryWeights, x, device: str | None = None) -> np.ndarray:
    """``W @ x`` for packed ternary ``W`` (rows × cols) and ``x`` (cols,).

    Float ``x``: float32 ``(rows,)`` within float tolerance of the dense product. Integer
    ``x``: float64 ``scale * (T @ x)``, the integer sums exact (int32).

    Raises:
        PxShapeError: ``x`` is not ``(cols,)``.
        PxArgumentError: integer ``x`` so large that a sum could pass int32
            (``max|x| * cols >= 2**31``).
    """
    if not isinstance(weights, TernaryWeights):
        raise PxTypeError("matvec takes TernaryWeights (from twn, absmean, calibrated, pack)")
    if np.asarray(x).dtype.kind in "iu":
        big = int(np.abs(np.asarray(x, np.int64)).max(initial=0))
        if big * weights.cols > 2**31 - 1:
            raise PxArgumentError(f"integer x up to {big} over {weights.cols} columns: the "
                                  "int32 sums could overflow; pass float x")
        sums = _tiled(weights, _input(weights, x, 1, np.int32), device)[0]
        return weights.scale.astype(np.float64) * sums
    xf = _input(weights, x, 1, np.float32)
    if not _on_gpu(device):
        return _tiled(weights, xf, device)[0]
    rows = weights.shape[0]
    y = np.empty(rows, np.float32)
    NK.warp_kernel(weights.packed, np.ascontiguousarray(xf[0].T), weights.scale, y,
                   device=device, threads=NK.warp_blocks(rows) * NK.WARP_BLOCK)
    return y


def matmul(x, weights: TernaryWeights, device: str | None = None) -> np.ndarray:
    """``x @ W.T`` for activations ``x`` (batch × cols) and packed ternary ``W`` (rows ×
    cols): float32 ``(batch, rows)``, as a dense linear layer with the same weights.

    Raises:
        PxShapeError: ``x`` is not ``(batch, cols)``.
    """
    if not isinstance(weights, TernaryWeights):
        raise PxTypeError("matmul takes TernaryWeights (from twn, absmean, calibrated, pack)")
    xf = _input(weights, x, 2, np.float32)
    if xf.shape[0] == 0:
        return np.empty((0, weights.shape[0]), np.float32)
    if not _on_gpu(device):
        return _tiled(weights, xf, device)
    y = np.empty((xf.shape[0], weights.shape[0]), np.float32)
    NK.rows_kernel(weights.packed, xf, weights.scale, y, device=device)
    return y


__all__ = ["QUANTIZERS", "TernaryWeights", "absmean", "calibrated", "matmul", "matvec",
           "pack", "twn"]
