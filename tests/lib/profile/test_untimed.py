"""Launches on ``cuda`` the native launcher did not time with CUDA events (it times a
launcher's first 8 in a profile, then one per 2 ms): the counters give them the timed
launches' mean, ``--compare`` reads the timed ones only, and the trace puts them on a track
of their own. Made-up events here (no GPU needed); test_cuda_times runs them on one."""

from __future__ import annotations

import numpy as np
import pytest

from pxos.lib.profile.counters import kernel_stats
from pxos.lib.profile.recorder import Event
from pxos.lib.profile.trace import trace_document


def _launch(start: float, seconds: float, timed: bool) -> Event:
    return Event("launch", "k", "cuda", 7, "x.py", 3, start, start + seconds, timed=timed)


def _events() -> tuple[list, np.ndarray]:
    rng = np.random.default_rng(1)
    timed = rng.uniform(10e-6, 20e-6, 20)
    events = [_launch(i * 1e-4, s, True) for i, s in enumerate(timed)]
    events += [_launch(0.01 + i * 1e-5, 2e-6, False) for i in range(380)]  # host calls
    return events, timed


def test_untimed_launches_count_at_the_timed_mean():
    events, timed = _events()
    (k,) = kernel_stats(events, {})
    assert (k.launches, k.timed) == (400, 20)
    assert k.mean_s == pytest.approx(timed.mean())
    assert k.total_s == pytest.approx(timed.mean() * 400)
    assert k.p95_s == pytest.approx(np.percentile(timed, 95))
    assert k.times_s == pytest.approx(list(timed))


def test_a_kernel_with_every_launch_timed_is_unchanged():
    times = np.array([3e-3, 1e-3, 2e-3])
    (k,) = kernel_stats([_launch(i, s, True) for i, s in enumerate(times)], {})
    assert (k.launches, k.timed) == (3, 3)
    assert k.total_s == pytest.approx(times.sum())


def test_untimed_launches_have_a_track_of_their_own():
    events, _ = _events()
    doc = trace_document(events, [], [])["traceEvents"]
    names = {e["tid"]: e["args"]["name"] for e in doc if e["ph"] == "M" and "tid" in e}
    tracks = {}
    for e in doc:
        if e["ph"] == "X":
            tracks.setdefault(names[e["tid"]], []).append(e)
    assert len(tracks["kernels on cuda"]) == 20
    assert len(tracks["launches (host calls, not timed) on cuda"]) == 380
