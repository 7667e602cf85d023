"""The ``pxos`` Typer app every command registers on, and what the commands share: the
program loader and a run's decisions with its host steps (``run --explain``, ``profile``). Its own module so that ``cli/main`` imports the command modules (``cli/export``,
``cli/lint`` …) and they import this, without a cycle (tests/test_layers.py).
"""

from __future__ import annotations

from pathlib import Path

from pxos.cli.options import PxApp, PxGroup, VersionOption

app = PxApp(
    name="pxos", no_args_is_help=True, add_completion=False, cls=PxGroup,
    help="Write a data-parallel kernel once (.px); pxos checks it, generates C (or CUDA / "
         "OpenCL), compiles, runs and measures it.")


@app.callback()
def _main(version: bool = VersionOption):
    """pxos's own options (``--version``); the app's help text is the one shown."""


def _load(file: Path, allow: list[Path] | None = None):
    """Parse and check ``file``; arrays read from files that exist have their shapes
    checked now (``allow``: the run's extra folders).

    Returns:
        the checked ``ir.Program``.

    Raises:
        PxError: a parse or check error, or a Python file given as a program.
    """
    from pxos.host.files import FileAccess
    from pxos.ir.check_host import check_program
    from pxos.lang.px.hints import refuse_python
    from pxos.lang.px.parser import parse_file

    refuse_python(file)
    program = parse_file(file)
    files = FileAccess(Path(program.file).resolve().parent, list(allow or []))
    return check_program(program, peek=files.peek)


def _with_host_steps(result):
    """A run's decisions, one per statement that ran (host statements as plain host
    decisions); a statement run several times (a host loop) shows its mean time."""
    from pxos.ir import nodes as ir
    from pxos.planner.decision import Decision
    from pxos.planner.reason import host_reason
    from pxos.planner.model import Copies

    lines = result.program.source.splitlines()
    stmts = {(s.span.line, s.span.col): s for s in ir.walk(result.program.statements)}
    groups: dict[tuple, list] = {}
    for step in result.steps:
        groups.setdefault((step.span.line, step.span.col), []).append(step)
    rows = []
    for key, steps in groups.items():
        last = steps[-1]
        d = last.decision
        if d is None:
            moved = last.transfers
            d = Decision(last.span.line, lines[last.span.line - 1].strip(), last.device,
                         reason=host_reason(stmts[key], Copies(
                             down=moved.to_host, down_bytes=moved.bytes_to_host)))
        d.measured = sum(s.seconds for s in steps) / len(steps)
        if len(steps) > 1:
            d.statement = f"{lines[last.span.line - 1].strip()}   (ran {len(steps)} times; " \
                          "mean time)"
        rows.append(d)
    return rows
