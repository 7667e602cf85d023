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


def test_untimed_launches_on_c_are_placed_with_their_kernels_mean_length():
    """The helper places the launches on ``c`` it read no clock for (``False``) between
    the timed ones; the log gives each its kernel's mean timed length, no further than the
    next launch's start, and they go on a track of their own."""
    from pxos.lib.profile.launch_log import LaunchLog

    key, other = ("k", "c", (64,)), ("j", "c", (8,))
    log = LaunchLog()
    log.extend([(key, 1.0, 1.3, None, 0, None), (other, 1.4, 2.4, None, 0, None),
                (key, 2.5, 2.6, None, 0, None)])  # k's timed mean: 0.2 s
    log.extend([(key, 3.0, 3.0, None, 0, False), (key, 3.1, 3.1, None, 0, False),
                (other, 3.2, 3.2, None, 0, False), (key, 3.5, 3.5, None, 0, False)])
    log._lengthen(3)
    assert [e[2] for e in log[3:]] == pytest.approx([3.1, 3.2, 3.5, 3.7])  # j: 1 s, capped
    assert [e[:2] for e in log[:3]] == [(key, 1.0), (other, 1.4), (key, 2.5)]
    events, timed = log.events(0.0, lambda *a: Event(*a[:8], 0, "", a[8], a[9]))
    assert [e.timed for e in events] == [True] * 3 + [False] * 4 and timed == []
    doc = trace_document(events, [], [])["traceEvents"]
    names = {e["args"]["name"] for e in doc if e["ph"] == "M" and "tid" in e}
    assert "launches (not timed: placed between timed ones, mean length) on c" in names
    (k,) = [s for s in kernel_stats(events, {}) if s.name == "k"]
    assert (k.launches, k.timed) == (5, 2) and k.total_s == pytest.approx(0.2 * 5)


def test_a_paced_profile_on_c_places_every_launch_inside_it():
    """A tight loop on ``c`` under the C sampler: most launches read no clock, and the
    last ones (no timed launch after them) are placed no later than the profile's end."""
    import pxos
    from tests.conftest import BACKENDS
    from tests.lib.profile.kernels import saxpy

    if "c" not in BACKENDS:
        pytest.skip("no C compiler here")
    x = np.ones(64, np.float32)
    out = np.empty_like(x)
    for _ in range(4):  # the native launcher is built after the first calls
        saxpy(np.float32(1.0), x, x, out, device="c")
    with pxos.profile(out=None) as p:
        for _ in range(3000):
            saxpy(np.float32(2.0), x, x, out, device="c")
    (k,) = p.kernels
    assert k.launches == 3000 and 2 <= k.timed <= 3000
    launches = [e for e in p.recorder.events if e.kind == "launch"]
    assert all(0 <= e.start <= e.end <= p.wall_s for e in launches)
    assert [e.start for e in launches] == sorted(e.start for e in launches)
    np.testing.assert_allclose(out, 3.0)
