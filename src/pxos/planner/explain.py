"""``pxos explain``: a program's plan, statement by statement, as text or JSON.

For each statement: its line and text, the cost features the model read, the predicted
time on every candidate device, the decision and its reason; after ``pxos run --explain``
also the measured time and the prediction's error. The JSON form holds the same data
(``Decision.as_dict`` per statement, and the machine's calibrated figures).
"""

from __future__ import annotations

import json

from pxos.ir import nodes as ir
from pxos.planner.calibration import Machine, calibration_path
from pxos.planner.decision import Decision
from pxos.planner.reason import seconds, size


def machine_summary(machine: Machine) -> dict:
    """The calibrated figures worth showing, by device."""
    devices = {}
    for name, d in machine.devices.items():
        devices[name] = {
            "device": d.device, "launch_s": d.launch_s, "bandwidth_GBps": d.bandwidth / 1e9,
            "ops_per_s": d.ops_rate, "compile_s": d.compile_s,
            "upload_GBps": d.upload / 1e9 if d.upload else None,
            "download_GBps": d.download / 1e9 if d.download else None}
    return {"cpu": machine.cpu, "cores": machine.cores, "devices": devices,
            "calibration": str(calibration_path(machine.key))}


def _features_line(f: dict) -> str:
    if "threads" in f:
        per = f["per_thread"]
        parts = [f"{f['threads']:,} threads",
                 f"{size(f['memory_bytes'])} memory traffic",
                 f"per thread {per['ops']:.0f} ops, {per['loads']:.0f} loads, "
                 f"{per['stores']:.0f} stores"]
        for key in ("transcendental", "atomics", "barriers", "shared"):
            if per[key]:
                parts[-1] += f", {per[key]:.0f} {key}"
        pats = sorted({f"{a['array']} {a['pattern']}" for a in f["accesses"]})
        if pats:
            parts.append("access " + ", ".join(pats))
        if f["divergent"]:
            parts.append("divergent branches")
        if f["unknown_trips"]:
            parts.append("a loop count guessed")
        return " · ".join(parts)
    if "elements" in f:
        return f"{f['elements']:,} elements ({size(f['bytes'])})"
    return ""


def render_text(decisions: list[Decision], machine: Machine, code: dict | None = None) -> str:
    """The plan as lines of text (``code``: generated source by statement line)."""
    lines = [f"machine: {machine.cpu} ({machine.cores} cores); "
             + "; ".join(f"{n}: {d.device}" for n, d in machine.devices.items())]
    for d in decisions:
        head = f"line {d.line:>4}  {d.statement}"
        if not d.features:  # a host statement: its reason (and its time, after a run)
            took = f" ({seconds(d.measured)})" if d.measured is not None else ""
            lines.append(f"{head}\n           → {d.reason}{took}")
            continue
        lines.append(head)
        feats = _features_line(d.features)
        if feats:
            lines.append(f"           features: {feats}")
        lines.extend(" " * 11 + line for line in d.explain_lines())
        if code and d.line in code:
            lines.append(code[d.line])
    return "\n".join(lines)


def render_json(file: str, decisions: list[Decision], machine: Machine,
                code: dict | None = None) -> str:
    """The plan as JSON: {file, machine, statements: [Decision.as_dict() + code]}."""
    rows = []
    for d in decisions:
        row = d.as_dict()
        if code and d.line in code:
            row["code"] = code[d.line]
        rows.append(row)
    return json.dumps({"file": file, "machine": machine_summary(machine),
                       "statements": rows}, indent=2, default=float)


def generated_code(program: ir.Program, decisions: list[Decision]) -> dict[int, str]:
    """The code generated for each ``RUN``'s kernel on its chosen device (both devices'
    code for a HYBRID split), by line."""
    from pxos import registry
    from pxos.backends.hybrid import hybrid_parts
    from pxos.codegen.targets import render_unit_for

    runs = {s.span.line: s for s in ir.walk(program.statements) if isinstance(s, ir.Run)}
    out = {}
    for d in decisions:
        devices = hybrid_parts(d.device) or (d.device,)  # a split: both parts' code
        targets = dict.fromkeys(t for t in map(registry.target_of, devices) if t is not None)
        if d.line in runs and targets:
            kernel = program.kernel(runs[d.line].kernel)
            out[d.line] = "\n".join(render_unit_for(t, [kernel]) for t in targets)
    return out
