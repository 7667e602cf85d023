"""The ``pxos`` Typer app every command registers on, and the program loader the commands
share. Its own module so that ``cli/main`` imports the command modules (``cli/export``,
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
