"""The C renderer and the fission of barrier kernels: generated code that a person can read
and a strict compiler accepts."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from typer.testing import CliRunner

from pxos.cli.main import app
from pxos.codegen.targets import render_unit_for
from pxos.ir.passes.fission import BlockLoop, Region, lane_variables, split
from pxos.ir.check_host import check_program
from pxos.lang.px.parser import parse_file
from tests.conftest import EXAMPLES

CC = shutil.which("cc") or shutil.which("gcc")


@pytest.mark.skipif(CC is None, reason="no C compiler")
@pytest.mark.parametrize("example", sorted(p.name for p in EXAMPLES.glob("*.px")))
def test_examples_compile_without_warnings(example, tmp_path):
    kernels = list(check_program(parse_file(EXAMPLES / example)).kernels)
    source = tmp_path / "unit.c"
    source.write_text(render_unit_for("c", kernels))
    proc = subprocess.run([CC, "-std=gnu11", "-fopenmp", "-Wall", "-Werror", "-fsyntax-only",
                           str(source)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_reduction_is_split_at_its_barriers():
    kernel = check_program(parse_file(EXAMPLES / "reduce.px")).kernel("block_sum")
    items = split(kernel.body)
    assert [type(i).__name__ for i in items] == ["Region", "Region", "BlockLoop", "Region"]
    loop = items[2]
    assert isinstance(loop, BlockLoop) and [type(i) for i in loop.items] == [Region, Region]
    lanes = lane_variables(items, {n for n, _ in kernel.variables})
    # values that cross a barrier are kept per thread; `tid` and `v` live in one region
    assert lanes == {"lid", "bid", "stride"}


def test_compile_command_prints_the_code_verbatim():
    result = CliRunner().invoke(app, ["compile", str(EXAMPLES / "reduce.px")])
    assert result.exit_code == 0
    assert "v_tile[v_lid] = v_v;" in result.output
    assert "while (v_stride__lane[0] > 0) {" in result.output
    assert all(len(line) < 400 for line in result.output.splitlines())
