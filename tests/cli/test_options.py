"""How the command line presents itself: metavars in --help, --version, and the options that
every command shares (one wording for each)."""

from __future__ import annotations

import re

from pxos.version import __version__ as pxos_version

import pytest
import typer
from typer.testing import CliRunner

from pxos.cli.main import app

runner = CliRunner()
COMMANDS = ["check", "run", "compile", "demo", "lint", "explain", "calibrate", "export"]


def help_of(*args: str) -> str:
    result = runner.invoke(app, [*args, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    return result.output


def option_row(text: str, option: str) -> list[str]:
    """The cells of Click's help row for ``option`` (``-d, --device DEVICE  help``):
    ``option``, its other names, its metavar (if any), then the help text."""
    row = next(line for line in text.splitlines() if re.search(rf"\s{option}\s", line))
    cells = [c for c in re.split(r"\s{2,}", row.strip()) if c]
    words = cells[0].replace(",", " ").split()
    names = [w for w in words if w.startswith("-")]
    assert option in names, row
    return ([option] + [n for n in names if n != option]
            + [w for w in words if not w.startswith("-")] + cells[1:])


@pytest.mark.parametrize("command", [[]] + [[c] for c in COMMANDS])
def test_help_shows_no_type_noise(command):
    # before: every flag showed <bool>, --allow-path <list[Path]>, --device <str>
    text = help_of(*command)
    assert not re.search(r"<(bool|str|int|list\[Path\]|path)>", text.split("Options")[1]), text


def test_run_help_metavars():
    text = help_of("run")
    assert "FILE" in text.split("Options")[0]  # the argument
    assert option_row(text, "--device")[:3] == ["--device", "-d", "DEVICE"]
    assert option_row(text, "--allow-path")[:2] == ["--allow-path", "DIR"]
    for flag in ("--show-code", "--time", "--checked", "--explain", "--json", "--help"):
        cells = option_row(text, flag)
        assert cells[0] == flag and not cells[1].isupper(), cells  # help text, no metavar
    assert "(implies --explain)" in text


def test_compile_and_export_metavars():
    text = help_of("compile")
    assert option_row(text, "--target")[:3] == ["--target", "-t", "TARGET"]
    assert option_row(text, "--kernel")[:3] == ["--kernel", "-k", "NAME"]
    assert option_row(text, "--output")[:3] == ["--output", "-o", "FILE"]
    text = help_of("export")
    assert option_row(text, "--kernel")[:3] == ["--kernel", "-k", "NAME"]


def test_version():
    # before: "No such option: --version", exit 2
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output == f"pxos {pxos_version}\n"


def test_allow_path_is_worded_the_same_everywhere():
    # before: "may read and write" (run), "may read" (explain, export)
    group = typer.main.get_command(app)
    helps = {name: next(p.help for p in cmd.params if p.name == "allow_path")
             for name, cmd in group.commands.items()
             if any(p.name == "allow_path" for p in cmd.params)}
    assert set(helps) == {"run", "explain", "export"}
    assert len(set(helps.values())) == 1, helps


_FLAGS_ONLY = """
import sys
import typer
from pxos.cli.main import app
command = typer.main.get_command(app)
with command.make_context("pxos", ["calibrate", "--json"]) as ctx:
    sub = command.get_command(ctx, "calibrate")
    with sub.make_context("calibrate", ["--json"], parent=ctx) as inner:
        print(inner.params, "pydantic" in sys.modules)
"""


def test_flags_are_taken_without_pydantic():
    # Typer 0.29 built a Pydantic adapter for --help's None value: ~0.3 s of every command
    import os
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", _FLAGS_ONLY], capture_output=True,
                          text=True, env=dict(os.environ), check=True)
    assert done.stdout.split() == ["{'as_json':", "True,", "'everything':", "False}",
                                   "False"], done.stdout
