"""Calibrating the library operations ``REDUCE`` and ``SORT`` (``planner/calibration``'s
:class:`LibraryFigures`): with NumPy on the host and CuPy on ``cuda``, a tiny call, a large
array and, on the host, arrays that stay in the caches."""

from __future__ import annotations

import time

import numpy as np

from pxos.backends.library import reduce_array, sort_array
from pxos.planner.calibration import CACHE_BYTES, LibraryFigures
from pxos.planner.model import BIG_SORT, SMALL_SORT
from pxos.planner.probe_memory import FIRST, ProbeMemory
from pxos.planner.probes import HOST_REDUCE, TINY, best_time


def _scrambled(n: int) -> np.ndarray:
    """``n`` float32 in [0, 1) in random-looking order: the index through MurmurHash3's 32-bit
    finalizer ``fmix32`` (a bijection; A. Appleby, SMHasher), its top 24 bits scaled (a few
    repeat, as among random floats). Sort keys without importing ``numpy.random`` (~20 ms of
    calibration); as hard to sort as uniform random keys (a plain multiplicative hash gave a
    golden-ratio sequence that NumPy sorted 2-3x faster)."""
    x = np.arange(n, dtype=np.uint32)
    for shift, factor in ((16, 0x85EBCA6B), (13, 0xC2B2AE35)):
        x ^= x >> np.uint32(shift)
        x *= np.uint32(factor)
    x ^= x >> np.uint32(16)
    return (x >> np.uint32(8)).astype(np.float32) / (1 << 24)


def library_into(found, side: str, say, memory: ProbeMemory) -> None:
    """``REDUCE`` and ``SORT`` on ``side`` into ``found.library`` (``found``: the
    ``Machine`` calibration is measuring; ``say(line, since)``: its progress line)."""
    started, found.library[side] = time.perf_counter(), measure_library(side, memory)
    say(f"measured REDUCE and SORT on {side}", started)


def measure_library(side: str, probe_memory: ProbeMemory | None = None) -> LibraryFigures:
    """Calibrate ``REDUCE`` and ``SORT`` on ``side`` (``host``: NumPy; ``cuda``: CuPy);
    ``probe_memory``: the host's large array from there (``planner/probe_memory``)."""
    if side == "host":
        xp, sync = np, (lambda: None)
    else:
        import cupy as xp

        def sync():
            xp.cuda.get_current_stream().synchronize()
    tiny = xp.asarray(_scrambled(16))
    # a REDUCE returns a NumPy scalar, so it has waited for the device: no sync, timed as
    # it is used (on the H200 machine 16.4 µs, 18.9 with a sync; calibration's 18.4 sent
    # REDUCE of 10²-10³ floats kept on cuda, 14-15 µs there, to the host; 2026-12-05)
    reduce_call_s = best_time(lambda: reduce_array("sum", tiny), 10)
    sort_call_s = best_time(lambda: (sort_array(tiny), sync()), 10)
    # 64 MiB on the host: larger than most last-level caches, so the figure is the
    # memory's (16 MiB ran 2-3x faster than 400 MB on a 2-core EPYC VM: 6.1 against 2.1 GB/s)
    n = HOST_REDUCE if side == "host" else 1 << 26
    big = (probe_memory or ProbeMemory()).full(FIRST, n, 0.5) if side == "host" else \
        xp.full(n, 0.5, dtype=np.float32)
    # on the host the tiny calls warmed the code up: no untimed run (CuPy may compile
    # another kernel for a large array, CUB's)
    warm = side != "host"
    reduce_bw = big.nbytes / max(best_time(lambda: reduce_array("sum", big), 2, warm)
                                 - reduce_call_s, TINY)
    n = BIG_SORT if side == "host" else 1 << 24
    keys = xp.asarray(_scrambled(n))
    sort_s = max(best_time(lambda: (sort_array(keys), sync()), 2, warm) - sort_call_s, TINY)
    sort_rate = n * (np.log2(n) if side == "host" else 1.0) / sort_s
    found = LibraryFigures(side, reduce_call_s, reduce_bw, sort_rate, sort_call_s)
    if side == "host":
        _in_cache(found, probe_memory)
    return found


def _in_cache(found: LibraryFigures, probe_memory: ProbeMemory | None) -> None:
    """The host's ``REDUCE`` over :data:`CACHE_BYTES` and ``SORT`` of :data:`SMALL_SORT`
    floats, whose arrays stay in the caches (``LibraryFigures.reduce_cache_bandwidth``,
    ``sort_small_rate``)."""
    n = CACHE_BYTES // 4
    part = (probe_memory or ProbeMemory()).full(FIRST, n, 0.5)
    seconds = best_time(lambda: reduce_array("sum", part), 5) - found.call_s
    found.reduce_cache_bandwidth = max(found.reduce_bandwidth, part.nbytes / max(seconds, TINY))
    keys = _scrambled(SMALL_SORT)
    seconds = best_time(lambda: sort_array(keys), 5) - found.sort_call_s
    found.sort_small_rate = SMALL_SORT * np.log2(SMALL_SORT) / max(seconds, TINY)
