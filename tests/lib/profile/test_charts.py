"""The timeline draws spans under a pixel apart as one (``charts.merged``): checked against
the union of the spans on an integer grid, made here with NumPy."""

from __future__ import annotations

import numpy as np

from pxos.lib.profile.charts import merged


def test_merged_spans_cover_the_union_and_bridge_only_small_gaps():
    rng = np.random.default_rng(3)
    starts = rng.integers(0, 10_000, 3000)
    widths = rng.integers(1, 6, 3000)
    spans = [(float(s), float(w)) for s, w in zip(starts, widths)]
    gap = 2.0
    out = merged(spans, gap)
    grid = np.zeros(10_010, bool)
    for s, w in zip(starts, widths):
        grid[s:s + w] = True
    drawn = np.zeros_like(grid)
    for s, w in out:
        drawn[int(s):int(s + w)] = True
    assert not (grid & ~drawn).any()  # every span is drawn
    # what is drawn beyond the spans is only gaps of at most `gap`
    runs = np.flatnonzero(np.diff(np.concatenate([[0], (drawn & ~grid).astype(int), [0]])))
    assert all(b - a <= gap for a, b in zip(runs[::2], runs[1::2]))
    assert all(b[0] - (a[0] + a[1]) > gap for a, b in zip(out, out[1:]))
    assert len(out) < len(spans) / 4
