"""Per-kernel counters and the host's hot lines, from a profile's events and samples.

Achieved rates use the kernel's cost features (``ir/analysis/features.Work``): bytes moved
to and from memory (the GPU rule on a GPU, the CPU rule on a CPU) and operations (the
``ops`` and ``transcendental`` counts: integer and float arithmetic alike, so "GOP/s", not
strictly GFLOP/s). The share of the roofline (Williams, Waterman and Patterson, CACM 52(4),
2009) is the roofline's time for that work on the device, from this machine's calibration
(``planner/calibration``: memory bandwidth and issue rate), over the measured time: 1.0 is
on the roofline.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass

import numpy as np

from pxos import registry


@dataclass
class KernelStats:
    """One kernel (or library operation) on one device.

    Attributes:
        name, device, kind: what ran where (kind ``launch``, ``reduce``, ``sort``).
        file, line: the source line of its first call.
        launches: count; total_s, mean_s, p95_s: seconds (p95: 95th percentile, linear).
        times_s: every timed launch's seconds, in order (for ``--compare``).
        timed: launches whose time was measured: all but, on ``cuda``, the short launches
            the native launcher did not time with CUDA events (``recorder.Event.timed``);
            those count at the timed launches' mean in ``total_s``.
        bytes, ops: per launch from the cost features (0 where unknown).
        gbps, gops: achieved GB/s and GOP/s (10⁹ per second).
        roofline: the roofline's time over the measured time (None without calibration).
        share: of all kernel time in the profile, 0–1.
    """

    name: str
    device: str
    kind: str
    file: str
    line: int
    launches: int
    total_s: float
    mean_s: float
    p95_s: float
    times_s: list
    bytes: float = 0.0
    ops: float = 0.0
    gbps: float = 0.0
    gops: float = 0.0
    roofline: float | None = None
    share: float = 0.0
    timed: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


def kernel_stats(events, works: dict, machine=None) -> list[KernelStats]:
    """:class:`KernelStats` per (name, device) of the launch, reduce and sort events,
    largest total first.

    Args:
        events: ``recorder.Event`` objects; works: ``Recorder.works``;
        machine: a calibrated ``planner.calibration.Machine`` (None: no roofline).
    """
    groups = defaultdict(list)
    for e in events:
        if e.kind in ("launch", "reduce", "sort"):
            groups[(e.name, e.device, e.kind)].append(e)
    out = []
    for (name, device, kind), evs in groups.items():
        measured = [e.seconds for e in evs if e.timed] or [e.seconds for e in evs]
        times = np.array(measured)
        moved, ops = _work(evs, works, device, machine)
        mean = float(times.mean())
        total = float(times.sum()) + mean * (len(evs) - len(times))
        stats = KernelStats(name, device, kind, evs[0].file, evs[0].line, len(evs), total,
                            mean, float(np.percentile(times, 95)), times.tolist(),
                            timed=len(times))
        if total > 0:
            stats.bytes, stats.ops = moved / len(evs), ops / len(evs)
            stats.gbps, stats.gops = moved / total / 1e9, ops / total / 1e9
            stats.roofline = _roofline(machine, device, moved, ops, total)
        out.append(stats)
    all_s = sum(s.total_s for s in out) or 1.0
    for s in out:
        s.share = s.total_s / all_s
    return sorted(out, key=lambda s: -s.total_s)


def _work(evs, works, device, machine) -> tuple[float, float]:
    """Bytes moved and operations of all ``evs`` together."""
    gpu = _is_gpu(machine, device)
    moved = ops = 0.0
    for e in evs:
        if e.kind != "launch":
            moved += e.nbytes
            continue
        w = works.get((e.name, e.device, e.threads))
        if w is not None:
            moved += w.memory_bytes if gpu else (w.cpu_memory_bytes or w.memory_bytes)
            ops += w.total("ops") + w.total("transcendental")
    return moved, ops


def _is_gpu(machine, device: str) -> bool:
    fig = machine.devices.get(device) if machine is not None else None
    return bool(fig.gpu) if fig is not None else registry.has_device_memory(device)


def _roofline(machine, device: str, moved: float, ops: float, seconds: float):
    fig = machine.devices.get(device) if machine is not None else None
    if fig is None or not fig.bandwidth or not fig.ops_rate:
        return None
    return max(moved / fig.bandwidth, ops / fig.ops_rate) / seconds


def hot_lines(samples, limit: int = 20) -> list[dict]:
    """The host's lines by sampled time: for each (file, line, function) at the top of a
    sampled stack, ``seconds`` (sum of the samples' weights) and ``share`` of all
    sampled time, largest first. A folded pxos frame with no line of its own (``kernel k
    on c`` called from Python) takes the line of the user's frame that called it."""
    by_line = defaultdict(float)
    total = 0.0
    for _, weight, stack in samples:
        if stack:
            top = stack[-1]
            if not top[0] and len(stack) > 1:
                top = (stack[-2][0], stack[-2][1], top[2])
            by_line[top] += weight
        total += weight
    rows = [{"file": f, "line": n, "function": fn, "seconds": s,
             "share": s / total if total else 0.0}
            for (f, n, fn), s in by_line.items()]
    return sorted(rows, key=lambda r: -r["seconds"])[:limit]


def compile_counts(events) -> dict[str, dict[str, int]]:
    """Compiles by device and tier (``memory``, ``disk``, ``build``)."""
    out: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for e in events:
        if e.kind == "compile" and e.tier:
            out[e.device][e.tier] += 1
    return {d: dict(t) for d, t in out.items()}
