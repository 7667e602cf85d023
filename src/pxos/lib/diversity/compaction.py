"""A host batch that drops, as it goes, the items every one of its starts has taken.

After ``t`` steps each start of a batch has taken ``t`` items, and on real embeddings the
starts take nearly the same items: over the first 3,000 verses, in batches of 16 to 256
random starts, the items that *some* start of the batch has not yet taken are, on average
over the run, 51 % of all items when counted every 64 steps and 54 % every 256 steps
(``docs/diversity.md``). A column taken by every start can never be chosen again, and its
row is never read again (rows are read for the item chosen last), so both go: the batch
continues on a smaller matrix. Work per step is the number of live columns, so a batch
does about half the fused add + arg-min work, and its matrix shrinks into the caches.

:func:`run_lanes` advances the batch ``CHECK`` steps per launch of
:data:`lanes.advance_lanes`, then counts the live columns; when they are at most
``SHRINK`` of the matrix's columns, and the reads saved pay for the copy (``_pays``: never
for a lone start), it gathers the smaller matrix (rows: the live items
and every start's last item; columns: the live items, in ascending order so that ties
still go to the lowest item). Gathering copies values, so every score is the same float32
sum as without compaction and the sequences are bit for bit the same.
"""

from __future__ import annotations

import numpy as np

import pxos.lib.diversity.lanes as lanes

CHECK = 128  # steps per launch between counts of the live columns
SHRINK = 0.8  # gather a smaller matrix once the live columns are at most this fraction
GAIN = 2  # element moves of a gather per element kept (see _pays)
LIVE = 1.0e29  # a score below this is not taken (taken items hold kernels.TAKEN = 1e30)


def run_lanes(sim: np.ndarray, scores: np.ndarray, last: np.ndarray, out: np.ndarray,
              device: str, chunk: int | None = None) -> np.ndarray:
    """Every remaining step of a batch begun by ``engine.run_batch`` (host memory).

    Args:
        sim: N × N similarity matrix (float32, or float16), NumPy.
        scores: B × N float32 with each start ``TAKEN``; last: B int32, the starts;
            out: B × N with column 0 the starts (filled here).
        device: a backend in host memory (``c``, ``interp``).
        chunk: steps per launch (default ``CHECK``).

    Returns:
        ``out``, every row a whole sequence.
    """
    n = sim.shape[0]
    count = len(last)
    keep = np.arange(n, dtype=np.int32)  # the item of each column
    rows = keep.copy()  # the item of each row of sim
    rowof = keep.copy()  # the row of each item (-1: dropped)
    step = chunk or CHECK
    for lo in range(1, n, step):
        lanes.advance_lanes(sim, keep, rowof, scores, last, out, lo, min(step, n - lo),
                            device=device, threads=count * lanes.LANES)
        live = (scores < LIVE).any(axis=0)
        if _pays(live, keep.size, count, n - lo - step):
            keep, rows, sim = _gather(sim, keep, rows, live, last)
            rowof = np.full(n, -1, np.int32)
            rowof[rows] = np.arange(rows.size, dtype=np.int32)
            scores = np.ascontiguousarray(scores[:, live])
    return out


def _pays(live: np.ndarray, columns: int, count: int, remaining: int) -> bool:
    """Whether gathering the live columns saves more than it costs.

    The gather moves each element of the rows it keeps about ``GAIN`` times (a row take,
    then a column compress); the saving is one read per dropped column, per start, per
    remaining step. With one start the two are equal at best (each remaining row is read
    once), so a lone sequence never gathers: measured on the 7,797 verses, one sequence
    took 391 ms of CPU with a gather at every 20 % of dropped columns and 82 ms without.
    """
    alive = int(live.sum())
    if remaining <= 0 or alive > SHRINK * columns:
        return False
    return count * remaining * (columns - alive) >= GAIN * (alive + count) * columns


def _gather(sim: np.ndarray, keep: np.ndarray, rows: np.ndarray, live: np.ndarray,
            last: np.ndarray) -> tuple:
    """The live columns' items, the rows' items (live items and every ``last``, ascending)
    and the gathered matrix."""
    kept = keep[live]
    wanted = np.union1d(kept, last).astype(np.int32)
    at = np.searchsorted(rows, wanted)  # wanted ⊆ rows: last items were columns
    return kept, wanted, np.compress(live, np.take(sim, at, axis=0), axis=1)  # 3x np.ix_
