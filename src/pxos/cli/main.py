"""The ``pxos`` command line (Typer + Rich).

Exit codes: 0 success; 2 an error in the user's program or input (a ``PxError``, printed as
``file:line:col``, the source line and a caret, without a traceback); 1 an internal fault of
pxos (printed with its traceback, to be reported); 130 Ctrl-C (``host/interrupt``). After a
kernel's memory fault (``PxFaultError``) the process exits 2 at once, without cleanup.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Optional

import typer

from pxos.cli.app import _load, _with_host_steps, app
from pxos.cli.options import AllowPathOption, DeviceOption, ProgramArgument
from pxos.cli.report import _guarded, out
from pxos import registry
from pxos.errors import PxError


@app.command()
@_guarded
def check(file: Path = ProgramArgument):
    """Parse and check a program without running it."""
    from pxos.ir import nodes as ir

    program = _load(file)
    count = sum(1 for _ in ir.walk(program.statements))  # nested ones included
    out.print(f"{file}: OK ({len(program.kernels)} kernel"
              f"{'s' * (len(program.kernels) != 1)}, {count} host "
              f"statement{'s' * (count != 1)})")


@app.command()
@_guarded
def run(
    file: Path = ProgramArgument,
    device: str = DeviceOption,
    show_code: bool = typer.Option(False, "--show-code", help="Print the generated code."),
    allow_path: Optional[list[Path]] = AllowPathOption,
    time_steps: bool = typer.Option(
        False, "--time", help="Print each statement's time and the host-device copies."),
    checked: bool = typer.Option(
        False, "--checked", help="Bounds-check every array access in kernels (slower); "
                                 "a violation stops the run with its .px line. "
                                 "PXOS_CHECKED=1 in the environment does the same."),
    explain: bool = typer.Option(
        False, "--explain", help="After the run, print the planner's decisions with "
                                 "measured times and prediction errors."),
    as_json: bool = typer.Option(
        False, "--json", help="After the run, print the planner's decisions as JSON "
                              "(implies --explain)."),
):
    """Run a program: host statements in order, each kernel and library operation where
    the planner predicts it runs fastest (or on --device)."""
    explain = explain or as_json
    from pxos import backends
    from pxos.host import interrupt
    from pxos.host.program import ProgramRun

    interrupt.install()
    program = _load(file, allow_path)
    if show_code:
        for k in program.kernels:
            name = backends.choose(device, k.target).split("+")[0]  # HYBRID: its CPU part
            if not registry.compiles(name):
                out.print(f"/* kernel {k.name}: runs on {name}, which generates no code */")
            else:  # built once here, reused by the run
                out.print(backends.get(name).compile(k, checked).source.source)
    result = ProgramRun(program, device=device, allow=list(allow_path or []),
                        emit=out.print, checked=checked, explain=explain).run()
    if explain:
        from pxos.planner.explain import render_json, render_text

        decisions = _with_host_steps(result)
        if result.planner is not None:
            machine = result.planner.machine
        else:  # nothing placeable ran (only host and pipeline statements)
            from pxos.planner.calibration import machine as this_machine
            machine = this_machine()
        out.print(render_json(str(file), decisions, machine) if as_json
                  else render_text(decisions, machine))
    if time_steps:
        for s in result.steps:
            moved = s.transfers
            copies = f"  copies: {moved}" if moved.to_device or moved.to_host else ""
            out.print(f"  line {s.span.line:>4}  {s.what:<11} {s.device:<7} "
                      f"{s.seconds * 1e3:9.3f} ms{copies}")
        out.print(f"  host-device copies in all: {result.residency.transfers}")
    for path in result.written:
        out.print(f"wrote {path}")


@app.command("compile")
@_guarded
def compile_(
    file: Path = ProgramArgument,
    target: str = typer.Option("c", "--target", "-t", metavar="TARGET",
                               help="Code to generate: "
                               + ", ".join(registry.target_names()) + "."),
    checked: bool = typer.Option(False, "--checked", help="Include bounds checks."),
    kernel: Optional[str] = typer.Option(None, "--kernel", "-k", metavar="NAME",
                                         help="Only this kernel."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", metavar="FILE",
                                          help="Write to this file instead of stdout."),
    explain: bool = typer.Option(
        False, "--explain", help="With --target c: per kernel, which loops gcc vectorized "
                                 "and why not, at their source lines (gcc's -fopt-info)."),
):
    """Print (or write) the code generated for a program's kernels."""
    from pxos.host.files import write_output
    from pxos.codegen.targets import TARGETS, render_unit_for

    if target not in TARGETS:
        raise PxError(f"unknown target {target!r}; expected one of {', '.join(TARGETS)}")
    program = _load(file)
    kernels = [k for k in program.kernels if kernel is None or k.name == kernel]
    if not kernels:
        raise PxError(f"no kernel named {kernel!r} in {file}" if kernel
                      else f"{file} has no kernels")
    if explain:
        if target != "c":
            raise PxError(f"--explain reports gcc's vectorization: it needs --target c, "
                          f"not {target}")
        out.print(_vector_text(kernels))
        return
    text = render_unit_for(target, kernels, checked)
    if output is None:
        out.print(text)
    else:
        write_output(output, text.encode())
        out.print(f"wrote {output}")


def _vector_text(kernels) -> str:
    """``compile --explain``: each kernel's loops, vectorized or why not."""
    from pxos.backends import get
    from pxos.backends.c_report import vector_report

    cc = get("c").cc
    lines = []
    for k in kernels:
        lines.append(f"kernel {k.name} ({k.span.file}:{k.span.line}):")
        loops = vector_report(k, cc)
        lines += [f"  {loop.render()}" for loop in loops] or ["  no loops reported by gcc"]
    return "\n".join(lines)


@app.command()
@_guarded
def demo(
    folder: Path = typer.Option(Path("pxos-demo"), "--out", "-o", metavar="DIR",
                                help="Folder for the demo's program, photo and outputs."),
    device: str = DeviceOption,
):
    """Run the bundled image example: grayscale, Gaussian blur and Sobel edges of a photo."""
    from pxos.examples_path import examples_dir
    from pxos.host.program import ProgramRun

    src = examples_dir()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "data").mkdir(exist_ok=True)
    shutil.copy(src / "edges.px", folder / "edges.px")
    shutil.copy(src / "data" / "astronaut.png", folder / "data" / "astronaut.png")
    program = _load(folder / "edges.px")
    result = ProgramRun(program, device=device,
                        emit=out.print).run()
    kernels = sum(1 for s in result.steps if s.what == "RUN")
    seconds = sum(s.seconds for s in result.steps)
    devices = sorted({s.device for s in result.steps if s.what == "RUN"})
    out.print(f"ran {kernels} kernels on {', '.join(devices)} in {seconds:.2f} s; outputs:")
    for path in result.written:
        out.print(f"  {path}")


from pxos.cli import export, lint, planner, profile  # noqa: E402,F401  (register commands)
from pxos.cli import diversity, inference, pipeline, ternary  # noqa: E402  (libraries)

app.add_typer(ternary.app, name="ternary")
app.add_typer(pipeline.app, name="pipeline")
app.add_typer(diversity.app, name="diversity")
app.command("embed")(inference.embed_command)  # pxos embed texts.txt -o emb.npy
app.command("quantize")(inference.quantize_command)  # pxos quantize MODEL --method int8
app.command("infer")(inference.infer_command)  # pxos infer MODEL --calibrate --explain


def main() -> None:
    """Entry point of the ``pxos`` console script."""
    app()


if __name__ == "__main__":  # `python -m pxos.cli.main`: one app (cli/app), every command on it
    sys.exit(main())
