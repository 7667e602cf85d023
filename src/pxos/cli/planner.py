"""``pxos explain``, ``pxos calibrate`` and the planner's part of ``pxos run``.

    pxos explain FILE.px [--device D] [--code] [--json]
    pxos calibrate [--all] [--json]
"""

from __future__ import annotations

import atexit
import gc
import sys
from pathlib import Path
from typing import Optional

import typer

from pxos.cli.app import _load, app
from pxos.cli.report import _guarded, out
from pxos.cli.options import AllowPathOption, DeviceOption, ProgramArgument


def _progress(line: str) -> None:
    sys.stderr.write(line + "\n")


class _Progress:
    """The Rich progress line of ``pxos calibrate``, a context manager called with each
    step's text. The line starts at the first step, once the probe builds run, so that
    importing Rich (~50 ms) runs beside them, not before them."""

    def __init__(self):
        self.status = None

    def __call__(self, line: str) -> None:
        if self.status is None:
            self.status = out.status("pxos: calibrating this machine…")
            self.status.start()
        self.status.update(f"pxos: calibrating: {line}")

    def __enter__(self) -> "_Progress":
        return self

    def __exit__(self, *exc) -> None:
        if self.status is not None:
            self.status.stop()


def plan_of(program, device: str, allow: list[Path] | None = None):
    """The planner's decisions for every statement of ``program`` (calibrating first if
    this machine has no figures yet)."""
    from pxos.host.files import FileAccess
    from pxos.planner.calibration import machine
    from pxos.planner.program import Planner

    files = FileAccess(Path(program.file).resolve().parent, list(allow or []))
    planner = Planner(program, device, machine(progress=_progress), files=files)
    return planner, planner.plan_statements()


@app.command()
@_guarded
def explain(
    file: Path = ProgramArgument,
    device: str = DeviceOption,
    code: bool = typer.Option(False, "--code", help="Add the code generated for each "
                                                    "kernel on its chosen device."),
    as_json: bool = typer.Option(False, "--json", help="Print the plan as JSON."),
    allow_path: Optional[list[Path]] = AllowPathOption,
):
    """Show where each statement would run and why, without running the program: cost
    features, predicted time per device, decision and reason."""
    from pxos.planner.explain import generated_code, render_json, render_text

    program = _load(file)
    planner, decisions = plan_of(program, device, allow_path)
    sources = generated_code(program, decisions) if code else None
    if as_json:
        out.print(render_json(str(file), decisions, planner.machine, sources))
    else:
        out.print(render_text(decisions, planner.machine, sources))


@app.command()
@_guarded
def calibrate(
    as_json: bool = typer.Option(False, "--json", help="Print the figures as JSON."),
    everything: bool = typer.Option(False, "--all", help="Also measure now what is "
                                    "otherwise measured at its first use (OpenCL, "
                                    "WebGPU, CuPy's REDUCE and SORT)."),
):
    """Measure this machine for the planner (copies, launch latency, memory bandwidth,
    compute rates of every device it chooses among) and store the figures; forgets
    learned corrections."""
    from pxos.planner.probe_source import start

    early = start()  # the C probes' compiler, before NumPy and the rest of pxos load
    from pxos.planner.calibration import calibrate as measure, calibration_path, complete

    try:
        with _Progress() as progress:
            found = measure(progress=progress, early=early)
            if everything and found.pending:
                complete(found, list(found.pending), progress)
    finally:
        if early is not None:
            early.discard()  # done with (calibration waited for it), or stopped
    from pxos.planner.explain import machine_summary
    from pxos.planner.history import history_for
    from pxos.planner.hybrid import split_pays

    history_for(found.key).forget()
    # everything is written and closed: at the process's exit, its objects (~30,000) are
    # kept out of the interpreter's final collections, which took 0.4-0.5 s of a
    # calibration on the loaded 2-core VM (0.1 s with this)
    atexit.register(gc.freeze)
    if as_json:
        out.print(found.to_json())
        return
    summary = machine_summary(found)
    out.print(f"calibrated in {found.seconds:.1f} s: {found.cpu}, {found.cores} cores")
    for name, d in summary["devices"].items():
        copies = (f", copies up {d['upload_GBps']:.1f} / down {d['download_GBps']:.1f} GB/s"
                  if d["upload_GBps"] else "")
        out.print(f"  {name:<7} {d['device']}: launch {d['launch_s'] * 1e6:.1f} µs, memory "
                  f"{d['bandwidth_GBps']:.1f} GB/s, {d['ops_per_s'] / 1e9:.1f} G ops/s, "
                  f"compile {d['compile_s'] * 1e3:.0f} ms{copies}")
    for pair, gain in found.hybrid.items():
        offered = "offered" if split_pays(found, tuple(pair.split("+"))) else "not offered"
        fixed = found.hybrid_overhead.get(pair)
        cost = f", {fixed * 1e3:.2f} ms of its own" if fixed is not None else ""
        out.print(f"  {pair:<7} a split over host data ran {gain:.2f}× the faster device "
                  f"alone{cost}: {offered} by the planner")
    from pxos import backends, registry

    missing = [n for n in found.pending if registry.known(n) and not backends.installed(n)]
    later = [n for n in found.pending if n not in missing]
    if later:
        out.print(f"  measured the first time the planner considers it (or now, with "
                  f"--all): {', '.join(later)}")
    if missing:
        out.print("  not installed in this Python: " + ", ".join(
            f"{n} (pip install 'pxos[{n}]')" for n in missing))
    out.print(f"stored in {calibration_path(found.key)}")
