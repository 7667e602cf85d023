"""``profile.json``: the machine-readable summary of one profile.

Keys: ``format`` (this layout's version), ``program``, ``machine`` (host name, CPU,
devices), ``wall_s``, ``rate_hz``, ``samples``, ``kernels`` (``counters.KernelStats``, with
``wall_share``: total over the wall time), ``lines`` (the host's hot lines, with
``wall_share``), ``compiles`` (by device and tier), ``copies`` (by direction and device:
count, bytes, seconds), ``memory`` (peaks, points, allocations by line, leaks) and
``decisions`` (the planner's predicted time beside the measured mean per launch).
"""

from __future__ import annotations

import platform
from collections import defaultdict

FORMAT = 1


def summary_document(p) -> dict:
    """The summary of a finished :class:`~pxos.lib.profile.session.Profile` ``p``."""
    wall = p.wall_s or 1e-12
    kernels = [dict(k.as_dict(), wall_share=k.total_s / wall) for k in p.kernels]
    lines = [dict(r, wall_share=r["seconds"] / wall) for r in p.lines]
    mem = p.memory
    return {
        "format": FORMAT, "program": p.name, "machine": machine_description(p.machine),
        "wall_s": p.wall_s, "rate_hz": p.rate, "samples": len(p.sampler.samples),
        "kernels": kernels, "lines": lines, "compiles": p.compiles,
        "copies": copy_totals(p.recorder.events),
        "memory": {"host_peak_bytes": mem.host_peak, "device_peak_bytes": mem.device_peak,
                   "points": [list(x) for x in mem.points],
                   "allocations": [{"file": f, "line": n, "bytes": b, "count": c}
                                   for f, n, b, c in mem.lines],
                   "leaks": [{"names": names, "bytes": b, "device_bytes": dev}
                             for names, b, dev in mem.leaks]},
        "decisions": decisions(p),
    }


def machine_description(machine) -> dict:
    """The host's name and CPU, and the calibrated devices (when calibrated)."""
    from pxos.planner.calibration import cpu_model

    out = {"host": platform.node(), "cpu": cpu_model(), "python": platform.python_version()}
    if machine is not None:
        out["devices"] = {name: fig.device for name, fig in machine.devices.items()}
    return out


def copy_totals(events) -> dict:
    """``{direction: {device: {count, bytes, seconds}}}`` of the copy events."""
    out = defaultdict(lambda: defaultdict(lambda: {"count": 0, "bytes": 0, "seconds": 0.0}))
    for e in events:
        if e.kind == "copy":
            row = out[e.name][e.device]
            row["count"] += 1
            row["bytes"] += e.nbytes
            row["seconds"] += e.seconds
    return {k: dict(v) for k, v in out.items()}


def decisions(p) -> list[dict]:
    """The planner's decisions seen in the profile: per kernel, the device chosen, the
    predicted seconds there (the model's whole call: copies, launch, work) and the
    measured mean seconds per launch of the kernel on that device (the kernel alone)."""
    measured = {(k.name, k.device): k.mean_s for k in p.kernels}
    rows = []
    for name, d in list(p.recorder.decisions.items()) + list(p.extra_decisions):
        mean = measured.get((name, d.device))
        if mean is None and d.measured is not None:
            mean = d.measured
        predicted = d.predicted.get(d.device)
        rows.append({"kernel": name, "line": d.line, "device": d.device,
                     "predicted_s": predicted, "measured_s": mean,
                     "ratio": (mean / predicted) if mean and predicted else None,
                     "candidates": dict(d.predicted), "reason": d.reason})
    return rows
