"""Memory: host and device memory over time, host allocations by line, and leaks.

- Host memory in use: the process's resident set (``/proc/self/statm`` on Linux; else the
  peak from ``resource.getrusage``), read by the sampler thread every
  ``sampler.MEMORY_EVERY`` samples (50 ms at 1 kHz).
- Device memory: CuPy's default memory pool, bytes in use and its high-water mark, when
  CuPy is loaded.
- Host allocations by line: ``tracemalloc`` (off by default: it slows every allocation,
  typically 1.3–3× on allocation-heavy code, Python's documentation says "noticeable");
  ``pxos profile --memory`` or ``pxos.profile(memory=True)`` turns it on.
- Leaks: ``pxos.ndarray`` objects made during the profile and still alive at its end, each
  named by the variables that hold it, with the bytes held on the host and on each device.
"""

from __future__ import annotations

import gc
import os
import sys
import tracemalloc
from dataclasses import dataclass, field

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def host_bytes() -> int:
    """Bytes of memory the process holds now (resident set)."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * _PAGE
    except OSError:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def device_bytes() -> int | None:
    """Bytes in use in CuPy's default memory pool, or None when CuPy is not loaded."""
    cupy = sys.modules.get("cupy")
    if cupy is None:
        return None
    return int(cupy.get_default_memory_pool().used_bytes())


@dataclass
class MemoryTrack:
    """Memory gauges over a profile.

    Attributes:
        points: ``(time_s, host_bytes, device_bytes or None)``.
        host_peak, device_peak: the highest values seen (device: None without CuPy).
        lines: with ``tracemalloc``: ``(file, line, bytes, count)`` of the allocations
            still held at the end, largest first.
        leaks: ``(names, host_bytes, {memory: bytes})`` per ``pxos.ndarray`` alive at the
            end that was made during the profile.
    """

    trace_allocations: bool = False
    points: list = field(default_factory=list)
    host_peak: int = 0
    device_peak: int | None = None
    lines: list = field(default_factory=list)
    leaks: list = field(default_factory=list)
    _before: set = field(default_factory=set)
    _started_tracing: bool = False

    def start(self) -> None:
        self._before = {id(a) for a in _pxos_arrays()}
        if self.trace_allocations and not tracemalloc.is_tracing():
            tracemalloc.start()
            self._started_tracing = True
        self.read(0.0)

    def read(self, t: float) -> None:
        """Add one point at ``t`` seconds (called from the sampler thread)."""
        host, device = host_bytes(), device_bytes()
        self.points.append((t, host, device))
        self.host_peak = max(self.host_peak, host)
        if device is not None:
            self.device_peak = max(self.device_peak or 0, device)

    def stop(self, t: float) -> None:
        self.read(t)
        cupy = sys.modules.get("cupy")
        if cupy is not None:  # the pool's own high-water mark, between our reads too
            pool = cupy.get_default_memory_pool()
            self.device_peak = max(self.device_peak or 0, int(pool.total_bytes()))
        if self._started_tracing:
            stats = tracemalloc.take_snapshot().statistics("lineno")
            tracemalloc.stop()
            self.lines = [(s.traceback[0].filename, s.traceback[0].lineno, s.size, s.count)
                          for s in stats[:20]]
        self.leaks = [(_names(a), int(a.nbytes), _device_copies(a))
                      for a in _pxos_arrays() if id(a) not in self._before]


def _pxos_arrays() -> list:
    arrays = sys.modules.get("pxos.host.arrays")
    if arrays is None:
        return []
    return [o for o in gc.get_objects() if isinstance(o, arrays.ndarray)]


def _names(obj) -> list[str]:
    """The names bound to ``obj`` in any namespace (module globals, frame locals)."""
    names = []
    for ref in gc.get_referrers(obj):
        if isinstance(ref, dict):
            names += [k for k, v in ref.items() if v is obj and isinstance(k, str)
                      and not k.startswith("_")]
    return sorted(set(names)) or ["(unnamed)"]


def _device_copies(a) -> dict[str, int]:
    copies = a._copies
    return {memory: int(getattr(d, "nbytes", 0)) for memory, d in copies.devices.items()}
