"""Splitting one launch across several devices along its outer axis (``devices=``).

The launch's outer axis (the rows of its arrays: array axis 0) is cut into one contiguous
range of rows per device, each device's share in proportion to its speed on this kernel
(the inverse of the time the cost model predicts for the whole launch there). A device
owns the rows of its range and also reads ``halo`` rows on each side (a stencil's reach,
``ir/analysis/halo``), clipped to the array.

With ``auto`` the planner tries the fastest 1, 2, … of the candidate devices and keeps the
count whose slowest piece is predicted to finish first (the pieces run at once), saying
why; a piece's copies to its device are part of its prediction (``planner/call``), the
exchange of halo rows between launches is not modelled.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence


@dataclass(frozen=True)
class Piece:
    """One device's part of a split launch: it owns rows ``start:stop`` and reads rows
    ``lo:hi`` (its rows and the halo)."""

    device: str
    start: int
    stop: int
    lo: int
    hi: int


@dataclass(frozen=True)
class Distribution:
    """A split launch.

    Attributes:
        pieces: one per device used, in row order.
        predicted: devices used -> predicted seconds of the slowest piece (``auto`` only).
        reason: one sentence for ``explain``.
    """

    pieces: tuple[Piece, ...]
    predicted: dict[int, float]
    reason: str


def split_rows(extent: int, devices: Sequence[str], halo: int,
               weights: Sequence[float] | None = None) -> tuple[Piece, ...]:
    """Cut ``extent`` rows into contiguous ranges, one per device, in proportion to
    ``weights`` (default equal); a device whose share rounds to no row gets none.

    Raises:
        ValueError: no devices, a negative halo or weight (a bug of the caller).
    """
    if not devices or halo < 0:
        raise ValueError("split_rows needs devices and a halo >= 0")
    weights = list(weights) if weights is not None else [1.0] * len(devices)
    if len(weights) != len(devices) or any(w < 0 for w in weights) or sum(weights) <= 0:
        raise ValueError("one weight >= 0 per device, not all 0")
    total, pieces, done, acc = sum(weights), [], 0, 0.0
    for device, w in zip(devices, weights):
        acc += w
        stop = round(extent * acc / total)
        if stop > done:
            pieces.append(Piece(device, done, stop, max(done - halo, 0), min(stop + halo, extent)))
            done = stop
    return tuple(pieces)


def choose_split(extent: int, devices: Sequence[str], halo: int,
                 predict: Callable[[str, int], float]) -> Distribution:
    """The number of devices and the shares for one launch (module docstring).

    Args:
        extent: rows of the launch; devices: the candidates (logical devices may repeat
            a backend: ``c:0``, ``c:1``).
        predict: seconds for ``rows`` rows (with the halo) on ``device``.
    """
    alone = {d: predict(d, extent) for d in devices}
    ranked = sorted(devices, key=lambda d: alone[d])
    best, predicted = None, {}
    for k in range(1, len(ranked) + 1):
        use = ranked[:k]
        pieces = split_rows(extent, use, halo, [1.0 / max(alone[d], 1e-12) for d in use])
        predicted[k] = max(predict(p.device, p.hi - p.lo) for p in pieces)
        if best is None or predicted[k] < predicted[len(best)]:
            best = pieces
    k = len(best)
    reason = (f"{k} of {len(devices)} devices: the slowest piece is predicted "
              f"{predicted[k] * 1e3:.3g} ms, against {predicted[1] * 1e3:.3g} ms on "
              f"{ranked[0]} alone")
    return Distribution(best, predicted, reason)
