"""``pxos lint``: the kernel advisor (``ir/lint``, ``docs/lint.md``).

    pxos lint FILE.px [--json]

prints each finding as the compiler errors are printed, ``file:line:col: warning[code]:
message``, the source line with a caret under the column and ``  hint: …``, then a summary
(``2 warnings, 0 errors``). With ``--json`` it prints a JSON list of ``{code, severity,
message, line, col, hint, file}`` instead. Exit code: 0 when there is no error lint (warnings
alone do not fail), 2 when there is one (a barrier some threads miss) or when the program
does not parse or check (that error is printed as by ``pxos check``).
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from pxos.cli.app import app
from pxos.cli.report import _guarded, out
from pxos.cli.options import ProgramArgument


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'s' * (n != 1)}"


@app.command("lint")
@_guarded
def lint(
    file: Path = ProgramArgument,
    as_json: bool = typer.Option(False, "--json", help="Print the lints as a JSON list."),
):
    """Advise on a program's kernels: uncoalesced (strided) accesses, stencils without a
    shared tile, blocks that are not whole warps, divergent branches, contended atomics,
    and barriers that some threads miss (an error)."""
    from pxos.ir.lint import lint_program
    from pxos.lang.px.hints import refuse_python
    from pxos.lang.px.parser import parse_file

    refuse_python(file)
    lints = lint_program(parse_file(file))
    errors = sum(1 for x in lints if x.severity == "error")
    if as_json:
        out.print(json.dumps([x.as_dict() for x in lints], indent=2, ensure_ascii=False))
    else:
        for x in lints:
            out.print(x.render())
        out.print(f"{_count(len(lints) - errors, 'warning')}, {_count(errors, 'error')}")
    if errors:
        raise typer.Exit(2)
