"""Timers shared by the GPU benchmarks (``gpu.py``, ``lint.py``): host seconds per call,
best of rounds or in turns, and CUDA-event medians, optionally behind a kernel that keeps the
GPU busy so that only the GPU's time is seen."""

from __future__ import annotations

import random
import statistics
import time

import numpy as np


def per_launch(fn, sync, n: int = 20000, repeat: int = 5) -> float:
    """Seconds per call of ``fn`` over ``n`` back-to-back calls, best of ``repeat``."""
    for _ in range(1000):
        fn()
    sync()
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        sync()
        best = min(best, (time.perf_counter() - t0) / n)
    return best


def interleaved(fns: dict, sync, n: int = 20000, repeat: int = 7) -> dict:
    """Seconds per call of each function of ``fns`` (name -> function of no arguments),
    as :func:`per_launch` but in turns: each round times ``n`` calls of every function,
    starting one further each round, so that a change of load (or going first) touches
    them alike; the best round of each."""
    order = list(fns.items())
    for _, fn in order:
        for _ in range(1000):
            fn()
    sync()
    best = dict.fromkeys(fns, float("inf"))
    for r in range(repeat):
        for name, fn in order[r % len(order):] + order[:r % len(order)]:
            t0 = time.perf_counter()
            for _ in range(n):
                fn()
            sync()
            best[name] = min(best[name], (time.perf_counter() - t0) / n)
    return best


SPIN = r"""extern "C" __global__ void spin(long long cycles)
{ long long t0 = clock64(); while (clock64() - t0 < cycles) { } }"""


def event_time(cp, fn, repeat: int, busy: bool = False) -> float:
    """Median seconds of ``fn`` on the current stream, by CUDA events, after a warm-up.
    ``busy``: each time behind a one-thread kernel that keeps the GPU busy for 0.3 ms, so
    that the host has queued ``fn``'s launches before the GPU reaches them: the GPU's
    time alone (without the host's work before the first launch)."""
    fn()
    before = _busy_kernel(cp) if busy else None
    return statistics.median(_event_seconds(cp, fn, before) for _ in range(repeat))


def _busy_kernel(cp):
    """A function that launches a one-thread kernel keeping the GPU busy for 0.3 ms."""
    spin = cp.RawKernel(SPIN, "spin")
    cycles = np.int64(3e-4 * cp.cuda.Device().attributes["ClockRate"] * 1e3)  # kHz
    return lambda: spin((1,), (1,), (cycles,))


def _event_seconds(cp, fn, before=None) -> float:
    """Seconds of one call of ``fn`` between two CUDA events on the current stream, after
    ``before()`` (None: nothing) is queued ahead of the first event."""
    start, stop = cp.cuda.Event(), cp.cuda.Event()
    if before is not None:
        before()
    start.record()
    fn()
    stop.record()
    stop.synchronize()
    return cp.cuda.get_elapsed_time(start, stop) / 1e3


def event_times(cp, fns: dict, repeat: int, busy: bool = False) -> dict:
    """Median seconds of each function of ``fns`` (name -> function of no arguments), as
    :func:`event_time`, but in turns: each round times one call of every function, in an
    order shuffled each round (a fixed seed), so that a drift of the GPU's clocks or of
    the host's load, and whatever one call leaves behind for the next, touch them alike;
    before each call the GPU's L2 cache is flushed (:data:`FLUSH_BYTES` zeroed, then a
    wait), so no call reads what the call before left there (as Triton's ``do_bench``
    does)."""
    for fn in fns.values():
        fn()
    before = _busy_kernel(cp) if busy else None
    scratch = cp.empty(FLUSH_BYTES // 4, np.int32)
    order, rng = list(fns.items()), random.Random(0)
    times: dict = {name: [] for name in fns}
    for _ in range(repeat):
        rng.shuffle(order)
        for name, fn in order:
            scratch.fill(0)
            cp.cuda.get_current_stream().synchronize()
            times[name].append(_event_seconds(cp, fn, before))
    return {name: statistics.median(t) for name, t in times.items()}


FLUSH_BYTES = 256 << 20  # several times an H100's or H200's L2 (50 MB)


def host_time(fn, sync, repeat: int) -> float:
    fn()
    sync()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)
