"""The cost model: how long a statement takes on each device.

A kernel launch on a device costs

    copies + launch + compile (if not cached) + correction × (max(memory, compute) + atomics)

- copies: the bytes that must move because the data is elsewhere now, over the measured
  host↔device bandwidth (plus one launch latency per copy);
- memory: ``Work.memory_bytes`` over the device's memory bandwidth (the roofline's slope);
  on a CPU, for a launch whose arrays fit its caches, over the bandwidth calibration
  measured at that size (:func:`memory_rate`);
- compute: the larger of the whole launch's operations over the device's issue rate (the
  vectorised rate when every loop count is a literal, which a CPU compiler vectorises) and
  one thread's operations over the rate of a single thread (a launch too small to fill the
  device is bound by its longest thread); transcendental functions at their own rate;
- on a CPU, a kernel with a loop whose trip count varies between threads (an escape-time
  ``WHILE``: ``Work.in_divergent_loops``) runs at the rate calibration measured for
  such loops (``scalar_rate``: one thread at a time, or on ``c`` in lockstep where
  ``codegen/c_escape`` applies; else one thread's rate on every core); and each thread
  (or block of threads in lockstep) pays its own trips,
  which the model takes as half the loop's count (:data:`MEAN_TRIPS`: the count is an
  upper bound, and where threads leave is known only at run time), while a GPU's warp
  runs until its last thread leaves (the full count). On the H200 machine's 16 cores
  ``mandelbrot`` ran 4.2-4.3× the time predicted at the whole device's rate, from 10⁵
  to 10⁷ pixels, and was placed on ``c`` at 10³ pixels where ``cuda`` won; on the 2-core
  machine 3.2× (``benchmarks/placement.py``, 2026-12-04);
- on a CPU, a multi-dimensional access's row-major offset arithmetic is not counted
  (``Counts.index``): its backends run a block's x threads as SIMD lanes and loops, which
  share one row's offset and step it (strength reduction), while each GPU thread computes
  its own. Counted, ``matmul`` at 316 × 316 was predicted at 0.71 ms on the H200 machine's
  ``c``, where it ran in 0.19-0.21 ms, and sent to ``cuda`` (0.36 ms with its copies);
- atomics at the measured atomic rate, eight times slower when every thread updates one
  address (they serialise on it);
- correction: what earlier runs of this kernel on this device measured, divided by what
  the model predicted (``planner/history``); 1 until a run is recorded.

``REDUCE`` reads its array once (call overhead + bytes ÷ bandwidth); ``SORT`` is a
comparison sort on the host (n log₂ n ÷ rate) and a radix sort on the GPU (n ÷ rate); on
the host both run faster on arrays that stay in the caches (:func:`_between`). The
roofline is Williams, Waterman and Patterson, "Roofline: an insightful visual performance
model for multicore architectures", CACM 52(4), 2009.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import asdict, dataclass

from pxos.ir.analysis.features import Counts, Work
from pxos.planner.calibration import CACHE_BYTES, DeviceFigures, LibraryFigures, Machine

CONTENDED = 8.0  # slowdown of atomics that all hit one address
MEAN_TRIPS = 0.5  # a CPU thread's share of a divergent loop's count (module doc)


@dataclass
class Copies:
    """Host↔device copies a placement needs: counts and bytes each way, and the device
    memory at the other end (``cuda``, ``opencl``); ``fresh_bytes``: those of
    ``down_bytes`` copied into new host arrays (a call's device arguments for a CPU
    kernel), whose pages the copy touches first."""

    up: int = 0
    up_bytes: int = 0
    down: int = 0
    down_bytes: int = 0
    memory: str | None = None
    fresh_bytes: int = 0

    @property
    def bytes(self) -> int:
        return self.up_bytes + self.down_bytes


@dataclass
class Estimate:
    """A predicted time on one device, seconds, with its parts.

    Attributes:
        seconds: the total.
        copies_s, launch_s, compile_s: overheads; work_s: the work after the correction;
        memory_s, compute_s: the roofline's two bounds before it.
        correction: the factor learned from earlier runs (1 if none).
        bound: what dominates: ``copies``, ``launch``, ``compile``, ``memory``, ``compute``,
            ``atomics``, ``sort``, or ``split`` (HYBRID).
    """

    device: str
    seconds: float
    copies_s: float = 0.0
    launch_s: float = 0.0
    compile_s: float = 0.0
    work_s: float = 0.0
    memory_s: float = 0.0
    compute_s: float = 0.0
    correction: float = 1.0
    bound: str = "launch"
    split: float | None = None  # HYBRID: the share of the elements run on the CPU

    @property
    def overhead_s(self) -> float:
        return self.copies_s + self.launch_s + self.compile_s

    @property
    def steady_s(self) -> float:
        """The seconds of a launch once its kernel is built (no build charged)."""
        return self.seconds - self.compile_s

    def as_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items()}


def copies_seconds(machine: Machine, copies: Copies) -> float:
    """Seconds for ``copies`` between the host and their device memory (pageable host
    memory, into new pages for ``fresh_bytes``; each copy's fixed cost: calibration's
    ``up_s``/``down_s``, else a launch latency). On the H200 machine a copy of a few
    hundred bytes through CuPy took 15-30 µs against a 13 µs launch, so small launches over
    host data ran 1.5-2.3× the time predicted with the launch latency
    (``benchmarks/placement.py``, 2026-12-04)."""
    if not copies.up and not copies.down:
        return 0.0
    fig = next((d for d in machine.devices.values()
                if d.memory == copies.memory and d.upload), None)
    if fig is None:
        return 0.0
    fresh = copies.fresh_bytes
    return (copies.up_bytes / fig.upload + (copies.down_bytes - fresh) / fig.download
            + fresh / (fig.download_fresh or fig.download)
            + copies.up * (fig.up_s or fig.launch_s)
            + copies.down * (fig.down_s or fig.launch_s))


def _bound(parts: dict[str, float]) -> str:
    return max(parts, key=parts.get)


def predict_launch(machine: Machine, device: str, work: Work, copies: Copies,
                   compiled: bool, correction: float = 1.0,
                   contended: bool = False, launch_s: float | None = None) -> Estimate:
    """The :class:`Estimate` of a kernel launch with ``work`` on backend ``device``.

    Args:
        copies: the copies this placement needs before and after the launch.
        compiled: the kernel is compiled (in memory or in the on-disk cache).
        correction: the factor ``planner/history`` learned for this kernel and device.
        contended: its atomics all hit one address.
        launch_s: the launch overhead learned from runs (``planner/history``); default
            the calibrated latency.
    """
    fig: DeviceFigures = machine.devices[device]
    per = longest = work.per_thread
    rate = max(fig.vector_rate, fig.ops_rate) if work.vectorizable else fig.ops_rate
    if not fig.gpu and work.in_divergent_loops.ops > 0:  # (module doc)
        per = dataclasses.replace(per)
        per.add(work.in_divergent_loops, MEAN_TRIPS - 1)
        rate = min(rate, fig.scalar_rate or fig.serial_rate * machine.cores)
    ops, longest_ops = (_issued(c, fig.gpu) for c in (per, longest))
    parallel = (work.threads * ops / rate
                + work.threads * per.transcendental / fig.transcendental_rate)
    serial = (longest_ops + longest.transcendental * fig.ops_rate / fig.transcendental_rate) \
        / fig.serial_rate
    compute = max(parallel, serial)
    memory = (work.memory_bytes if fig.gpu else work.cpu_memory_bytes) / memory_rate(fig, work)
    atomics = work.threads * per.atomics / fig.atomic_rate * (CONTENDED if contended else 1)
    raw = max(memory, compute) + atomics
    launch = fig.launch_s if launch_s is None else launch_s
    est = Estimate(device, 0.0, copies_seconds(machine, copies), launch,
                   0.0 if compiled else fig.compile_s, raw * correction, memory, compute,
                   correction)
    est.seconds = est.copies_s + est.launch_s + est.compile_s + est.work_s
    est.bound = _bound({"copies": est.copies_s, "launch": est.launch_s,
                        "compile": est.compile_s, "memory": memory * correction,
                        "compute": compute * correction, "atomics": atomics * correction})
    return est


def _issued(per: Counts, gpu: bool) -> float:
    """Issue slots of one thread's ``per``: operations, global loads and stores, shared
    accesses (two) and barriers (four); on a CPU without the row-major offsets (module
    doc)."""
    ops = per.ops + per.loads + per.stores + 2 * per.shared + 4 * per.barriers
    return ops if gpu else ops - per.index


def memory_rate(fig: DeviceFigures, work: Work) -> float:
    """Bytes/s of ``work``'s memory traffic on ``fig``'s device: its bandwidth, or on a CPU
    whose cache bandwidth was calibrated (``DeviceFigures.cache_bandwidth``) that one for
    arrays of at most :data:`~pxos.planner.calibration.CACHE_BYTES` in all, falling
    log-linearly to the bandwidth at :data:`FAR` times that size (32 MiB, the size
    calibration's bandwidth was measured from). A small launch's arrays stay in the caches
    between launches: on the 2-core machine ``y = a*x + y`` on one thread ran at 90–124
    GB/s within 512 KiB and 34–44 GB/s from 4 MiB up (``benchmarks/stream_sizes.py``)."""
    if fig.gpu or fig.cache_bandwidth <= fig.bandwidth:
        return fig.bandwidth
    size = sum(work.array_bytes.values())
    if size <= CACHE_BYTES:
        return fig.cache_bandwidth
    t = min(1.0, math.log(size / CACHE_BYTES) / math.log(FAR))
    return fig.cache_bandwidth ** (1 - t) * fig.bandwidth ** t


FAR = 64  # beyond FAR × CACHE_BYTES of arrays, a CPU streams from its memory


def raw_work(est: Estimate) -> float:
    """The work part of ``est`` before the correction (what ``planner/history`` divides
    measured times by)."""
    return est.work_s / est.correction if est.correction else est.work_s


# the host's sorts calibration times (elements): 4 KiB, within a first-level data cache,
# and 1 MiB (``planner/probe_library``)
SMALL_SORT, BIG_SORT = 1 << 10, 1 << 18


def _between(small: float, large: float, times: float, far: float) -> float:
    """A rate measured in the caches (``small``; 0: not measured) and on a large array
    (``large``), for an array ``times`` the size of the small one's: the small one's up
    to 1, falling log-linearly to the large one's at ``far`` (as :func:`memory_rate`).
    On the H200 machine's host NumPy's stable sort of 10³ floats took 3.4 ns an element
    and comparison level against 6.3 at 2¹⁸, and a sum of 10⁵ floats ran at 7.7 GB/s
    against 3.9 at 10⁸ (``benchmarks/placement.py``, 2026-12-04)."""
    if small <= large or times >= far:
        return large
    if times <= 1:
        return small
    t = math.log(times) / math.log(far)
    return small ** (1 - t) * large ** t


def predict_library(machine: Machine, side: str, op: str, size: int, nbytes: int,
                    copies: Copies, correction: float = 1.0,
                    launch_s: float | None = None) -> Estimate:
    """The :class:`Estimate` of ``REDUCE`` (``op`` ``reduce``) or ``SORT`` (``sort``) of an
    array of ``size`` elements (``nbytes`` bytes) on ``side`` (``host`` or ``cuda``);
    ``launch_s`` replaces the calibrated call overhead (see :func:`predict_launch`)."""
    fig: LibraryFigures = machine.library[side]
    call = fig.sort_call_s if op == "sort" and fig.sort_call_s else fig.call_s
    call = call if launch_s is None else launch_s
    if op == "sort":
        n = max(size, 2)
        raw = n * (math.log2(n) if side == "host" else 1.0) / _between(
            fig.sort_small_rate, fig.sort_rate, n / SMALL_SORT, BIG_SORT / SMALL_SORT)
    else:
        raw = nbytes / _between(fig.reduce_cache_bandwidth, fig.reduce_bandwidth,
                                nbytes / CACHE_BYTES, FAR)
    device = "host" if side == "host" else side
    est = Estimate(device, 0.0, copies_seconds(machine, copies),
                   call, 0.0, raw * correction, raw if op != "sort" else 0.0,
                   raw if op == "sort" else 0.0, correction)
    est.seconds = est.copies_s + est.launch_s + est.work_s
    est.bound = _bound({"copies": est.copies_s, "launch": est.launch_s,
                        "sort" if op == "sort" else "memory": est.work_s})
    return est
