"""Planted hot spots (issue 20's accuracy goal): a kernel taking about 60 % of the wall time
and one host line about 30 %; the profile attributes each within ±3 percentage points of
the share measured here with ``time.perf_counter`` around the same code in the same run."""

from __future__ import annotations

import bisect
import inspect
import time

import numpy as np

import pxos
from tests.lib.profile.kernels import spin

WALL = 2.0  # seconds planted in all
ROUNDS = 20  # kernel, host line, other code: this many times, interleaved
N = 20_000


def _busy_until(end: float) -> None:
    while time.perf_counter() < end: pass  # noqa: E701  (the planted host line)


BUSY_LINE = inspect.getsource(_busy_until).splitlines().index(
    "    while time.perf_counter() < end: pass  # noqa: E701  (the planted host line)") \
    + _busy_until.__code__.co_firstlineno


def _rounds_for(seconds: float, x, out) -> int:
    """Rounds of ``spin`` that take about ``seconds`` per launch here, now."""
    rounds = 64
    for _ in range(4):  # compiled, and its native launcher built, before it is timed
        spin(x, out, rounds, device="c")
    while True:
        took = min(_timed(spin, x, out, rounds) for _ in range(3))  # a busy machine: longer
        if took > 0.004 or rounds > 1 << 22:
            return max(1, int(rounds * seconds / took))
        rounds *= 4


def _timed(kernel, *args) -> float:
    t = time.perf_counter()
    kernel(*args, device="c")
    return time.perf_counter() - t


def test_planted_hot_spots():
    x = np.linspace(0, 1, N, dtype=np.float32)
    out = np.empty_like(x)
    rounds = _rounds_for(0.6 * WALL / ROUNDS / 2, x, out)  # two launches per round: 60 %
    kernel_s = host_s = 0.0
    with pxos.profile(out=None) as p:
        t_start = time.perf_counter()
        for _ in range(ROUNDS):
            t = time.perf_counter()
            for _ in range(2):
                spin(x, out, rounds, device="c")
            kernel_s += time.perf_counter() - t
            t = time.perf_counter()
            _busy_until(t + 0.3 * WALL / ROUNDS)
            host_s += time.perf_counter() - t
            other = time.perf_counter() + 0.1 * WALL / ROUNDS
            while time.perf_counter() < other:
                sum(range(100))
        t_end = time.perf_counter()
    wall = p.wall_s
    assert t_end - t_start <= wall <= t_end - t_start + 0.1  # + starting the sampler
    (k,) = p.kernels
    assert k.launches == 2 * ROUNDS
    # the kernel: its launches' times against the clock around its calls
    assert abs(k.total_s / wall - kernel_s / wall) <= 0.03, (k.total_s, kernel_s, wall)
    # the host line: its sampled seconds against the clock around the loop
    (line,) = [r for r in p.lines if r["file"] == __file__ and r["line"] == BUSY_LINE]
    allowed = max(0.03, _edge_gaps(p.sampler.samples) / 2 / wall)
    assert abs(line["seconds"] / wall - host_s / wall) <= allowed, (line, host_s, wall)
    # and the sampler saw the kernel as the kernel's frame, on the line that called it
    kernel_samples = sum(w for _, w, s in p.sampler.samples
                         if s and s[-1][2] == "kernel spin on c")
    allowed = max(0.03, _gaps_over_edges(p.sampler.samples, p.recorder.edges) / wall)
    assert abs(kernel_samples / wall - kernel_s / wall) <= allowed, (kernel_samples, kernel_s)
    np.testing.assert_allclose(out[-1], _reference(x[-1], rounds), rtol=1e-3)


def _edge_gaps(samples: list) -> float:
    """Seconds between each two neighbouring samples of which one is on the planted line
    and the other not: the line's true edge lies somewhere in each such gap and the profile
    cuts it in the middle, so half their sum bounds the line's error. At 1 kHz on an idle
    machine that is about 20 ms of the 2 s (1 pp, inside the 3 pp goal); a machine busy
    with other work can keep the sampler off a core for tens of milliseconds."""
    def on_line(stack):
        return any(f == __file__ and line == BUSY_LINE for f, line, _ in stack)
    return sum(u - t for (t, _, s), (u, _, r) in zip(samples, samples[1:])
               if on_line(s) != on_line(r))


def _gaps_over_edges(samples: list, edges: list) -> float:
    """Seconds between each two neighbouring samples, both in a launch or both not, with a
    launch's start or end between them: the profile cannot see that part of the launch (or
    of the code between launches); where one sample is in a launch and the other not, it
    splits at the measured edge, without error."""
    def in_kernel(stack):
        return bool(stack) and stack[-1][2] == "kernel spin on c"
    return sum(u - t for (t, _, s), (u, _, r) in zip(samples, samples[1:])
               if in_kernel(s) == in_kernel(r)
               and bisect.bisect_right(edges, t) < bisect.bisect_left(edges, u))


def _reference(v, rounds: int) -> float:
    """``spin``'s chain in closed form: v·0.999ʳ + (1 − 0.999ʳ)."""
    r = 0.999 ** rounds
    return float(v) * r + (1 - r)
