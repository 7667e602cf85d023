"""``pxos export``: a kernel as a standalone CUDA C program (``docs/export.md``).

    pxos export FILE.px --kernel NAME -o prog.cu

writes ``prog.cu`` (and, for inputs the program cannot make again, ``prog.<array>.npy``
beside it), each file atomically. Without ``-o`` the program goes to standard output, which
is refused when it needs such side files. ``--standalone`` is still accepted and changes
nothing: the standalone program is the only kind of export.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from pxos.cli.app import _load, app
from pxos.cli.report import _guarded, out
from pxos.cli.options import AllowPathOption, ProgramArgument
from pxos.errors import PxError


@app.command("export")
@_guarded
def export(
    file: Path = ProgramArgument,
    kernel: str = typer.Option(..., "--kernel", "-k", metavar="NAME",
                               help="The kernel to export."),
    standalone: bool = typer.Option(
        False, "--standalone",
        help="Accepted and ignored: the export is always one CUDA C file with main() that "
             "nvcc builds alone."),
    output: Optional[Path] = typer.Option(
        None, "--output", "-o", metavar="FILE",
        help="The .cu file to write (side .npy inputs go beside it); default: stdout."),
    allow_path: Optional[list[Path]] = AllowPathOption,
):
    """Export a kernel as a CUDA program: its inputs as the program makes them (RANDOM,
    FILL, or saved .npy files), timing, and verification against a CPU reference."""
    from pxos.host.files import write_output
    from pxos.host.export import export_standalone

    del standalone  # the only kind of export: kept so that older command lines still work
    program = _load(file)
    result = export_standalone(program, kernel, output.name if output else "",
                               list(allow_path or []))
    if output is None:
        if result.files:
            raise PxError(f"kernel {kernel!r} needs input files ({', '.join(result.files)}) "
                          "beside the program; pass -o FILE.cu to write them")
        out.print(result.source, end="")
        return
    for name, data in result.files.items():
        write_output(output.parent / name, data)
        out.print(f"wrote {output.parent / name}")
    write_output(output, result.source.encode())
    out.print(f"wrote {output}")
    exe = output.with_suffix("")
    out.print(f"build: nvcc -O3 -arch=native -fmad=false -Xcompiler -ffp-contract=off "
              f"{output} -o {exe}")
