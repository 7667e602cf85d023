"""Length buckets: the padded width of a batch of token sequences.

A batch of sentences is padded to one width. ``exact`` pads it to its own longest
sentence (dynamic padding: no wasted tokens, but as many shapes as lengths); the other
sets round that width up to a boundary, which wastes padding but lets the runtime see
few shapes, and can suit its kernels (tensor-core tiles on a GPU like sequence lengths
that are multiples of 8). Which set is fastest depends on the model, runtime and device,
so :mod:`pxos.lib.inference.measure` times each set on the model at hand and the choice
is kept with the model's calibration (:mod:`pxos.lib.inference.calibration`).

Sets (name → rule for a longest length ``n``, capped at the model's maximum length):

- ``exact``: ``n``;
- ``x8`` / ``x16`` / ``x32``: ``n`` rounded up to a multiple of 8 / 16 / 32;
- ``pow2``: the next power of two, at least 8.
"""

from __future__ import annotations

import numpy as np

from pxos.errors import PxArgumentError

SETS = ("exact", "x8", "x16", "x32", "pow2")


def width(longest: int, bucket: str = "exact", cap: int | None = None) -> int:
    """The padded width for a batch whose longest sequence has ``longest`` tokens, under
    bucket set ``bucket``, never above ``cap`` (the model's maximum length) nor below
    ``longest``. Raises PxArgumentError for an unknown set."""
    if bucket == "exact":
        w = longest
    elif bucket in ("x8", "x16", "x32"):
        step = int(bucket[1:])
        w = -(-longest // step) * step
    elif bucket == "pow2":
        w = max(8, 1 << max(0, longest - 1).bit_length())
    else:
        raise PxArgumentError(f"unknown length bucket set {bucket!r}",
                              hint=f"one of {', '.join(SETS)}")
    if cap is not None:
        w = min(w, max(cap, longest))
    return max(w, longest)


def pad(ids: list[list[int]], bucket: str = "exact", cap: int | None = None) -> dict:
    """int64 ``input_ids`` / ``attention_mask`` / ``token_type_ids`` of shape
    (len(ids), width), padded with 0 to :func:`width` of the longest row."""
    n = len(ids)
    w = width(max(len(i) for i in ids), bucket, cap)
    out = np.zeros((n, w), np.int64)
    mask = np.zeros((n, w), np.int64)
    for r, row in enumerate(ids):
        out[r, :len(row)] = row
        mask[r, :len(row)] = 1
    return {"input_ids": out, "attention_mask": mask, "token_type_ids": np.zeros_like(out)}


def batches(lengths: list[int], batch: int) -> list[np.ndarray]:
    """Row indices of length-sorted batches of at most ``batch`` rows (stable order)."""
    order = np.argsort(lengths, kind="stable")
    return [order[i:i + batch] for i in range(0, len(order), batch)]


def padded_tokens(lengths: list[int], batch: int, bucket: str, cap: int | None = None) -> int:
    """Tokens run (real + padding) when ``lengths`` are batched by :func:`batches` and
    padded under ``bucket``: the work a bucket set costs before any per-shape effect."""
    total = 0
    for rows in batches(lengths, batch):
        total += len(rows) * width(max(lengths[r] for r in rows), bucket, cap)
    return total


__all__ = ["SETS", "batches", "pad", "padded_tokens", "width"]
