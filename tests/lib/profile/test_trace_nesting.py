"""``trace.json``'s host track: the sampled stack's slices nest exactly as a viewer reads
them. The Trace Event Format requires complete events on one thread to nest; Perfetto reads
``ts`` and ``dur`` (microseconds) as whole nanoseconds and drops a slice that ends even
1 ns past its parent ("slice_drop_overlapping_complete_event")."""

from __future__ import annotations

import random

from pxos.lib.profile.trace import host_slices


def _ns(us: float) -> int:
    return round(us * 1000)  # how a viewer in nanoseconds reads a time in microseconds


def _frame(depth: int) -> tuple:
    return (f"/work/f{depth}.py", depth + 1, f"f{depth}")


def test_nested_slices_end_within_their_parents():
    rng = random.Random(7)
    samples, t = [], 0.0
    for _ in range(3000):  # stacks growing and shrinking, at irregular intervals
        depth = rng.randint(1, 12)
        weight = rng.choice([1e-3, 1.1e-3, 0.7e-3, 1 / 3 * 1e-3, 2.3e-3]) * rng.random()
        if rng.random() < 0.3 and samples:  # the same stack again: slices of equal spans
            depth = len(samples[-1][2])
        samples.append((t, weight, tuple(_frame(d) for d in range(depth))))
        t += weight
    slices = host_slices(samples)
    assert len(slices) > 3000
    # read as Perfetto reads them: in start order, the file's order where starts are equal
    spans = sorted(((_ns(e["ts"]), _ns(e["ts"]) + _ns(e["dur"]), e["name"]) for e in slices),
                   key=lambda s: s[0])
    open_: list = []
    for start, end, name in spans:
        while open_ and open_[-1][1] <= start:
            open_.pop()
        assert not open_ or end <= open_[-1][1], (name, start, end, open_[-1])
        open_.append((start, end, name))
    # and the outermost frame's slices tile the run
    outer = [s for s in spans if s[2].startswith("f0 ")]
    assert outer[0][0] == 0 and abs(outer[-1][1] - _ns(t * 1e6)) <= 1
