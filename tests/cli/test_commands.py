"""The command line's working paths: run, check, compile, demo (errors: tests/errors/)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from pxos import backends
from pxos.cli.main import app
from tests.conftest import EXAMPLES

runner = CliRunner()


def test_demo_writes_real_images(tmp_path):
    result = runner.invoke(app, ["demo", "--out", str(tmp_path / "demo")])
    assert result.exit_code == 0, result.output
    for name in ("gray.png", "edges.png"):
        path = tmp_path / "demo" / "out" / name
        assert str(path) in result.output
        image = np.asarray(Image.open(path))
        assert image.shape == (512, 512) and image.std() > 10
    assert "ran 4 kernels" in result.output


def test_run_with_code_and_times(tmp_path, backend):
    prog = tmp_path / "saxpy.px"
    prog.write_text((EXAMPLES / "saxpy.px").read_text())
    result = runner.invoke(app, ["run", str(prog), "--device", backend, "--show-code",
                                 "--time"])
    assert result.exit_code == 0, result.output
    assert "out = [" in result.output and f"RUN         {backend}" in result.output
    if backend == "c":
        assert f'#line 9 "{prog}"' in result.output and "#pragma omp parallel" in result.output
        assert "sigsetjmp(pxos_jb, 0)" in result.output  # the code run: with the fault guard
    if backend in ("cuda", "opencl"):
        assert f'#line 9 "{prog}"' in result.output and "k_saxpy(" in result.output
    assert (tmp_path / "out" / "saxpy.npy").exists()
    # --time reports the host-device copies: on a device, x and y go up and out comes back
    # for PRINT; the two later WRITE_FILEs of x and y find the host copies current
    total = next(ln for ln in result.output.splitlines() if "copies in all" in ln)
    on_device = backends.get(backend).memory != "host"
    assert total.split(": ", 1)[1] == (
        "2 to device (8.0 MB), 1 to host (4.0 MB)" if on_device
        else "0 to device (0 B), 0 to host (0 B)")


def test_compile_writes_c(tmp_path):
    out = tmp_path / "reduce.c"
    result = runner.invoke(app, ["compile", str(EXAMPLES / "reduce.px"), "--target", "c",
                                 "-o", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text()
    # the block's thread loops of the barrier fission rewrite (ir/passes/fission.py)
    assert "void k_block_sum(" in text and "#pragma omp simd" in text


@pytest.mark.parametrize("target,marks", [
    ("c", ["void k_block_sum(", "#pragma omp parallel for"]),
    ("cuda", ['extern "C" __global__', "__syncthreads();", "__shared__ float v_tile[256];"]),
    ("opencl", ["__kernel", "barrier(CLK_LOCAL_MEM_FENCE", "__local float v_tile[256];"]),
])
def test_compile_every_target(target, marks):
    result = runner.invoke(app, ["compile", str(EXAMPLES / "reduce.px"), "-t", target,
                                 "--checked"])
    assert result.exit_code == 0, result.output
    assert all(m in result.output for m in marks) and "pxos_bound_i64(" in result.output
    assert f'#line 14 "{EXAMPLES / "reduce.px"}"' in result.output


def test_unknown_target_is_a_clear_error():
    result = runner.invoke(app, ["compile", str(EXAMPLES / "reduce.px"), "-t", "metal"])
    assert result.exit_code == 2 and "unknown target 'metal'" in result.output


def test_unknown_device_is_a_clear_error(tmp_path):
    result = runner.invoke(app, ["run", str(EXAMPLES / "saxpy.px"), "--device", "tpu"])
    assert result.exit_code == 2 and "unknown device 'tpu'" in result.output


def test_help_lists_the_commands():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("run", "check", "compile", "demo"):
        assert command in result.output


def test_without_a_c_compiler_runs_on_interp(tmp_path):
    """No compiler on PATH: `auto` never picks the C backend (here: the interpreter)."""
    import os
    import shutil
    import subprocess
    import sys

    prog = tmp_path / "histogram.px"
    prog.write_text((EXAMPLES / "histogram.px").read_text())
    shutil.copytree(EXAMPLES / "data", tmp_path / "data")
    env = {k: v for k, v in os.environ.items() if k != "CC"} | {"PATH": str(tmp_path / "none")}
    proc = subprocess.run([sys.executable, "-m", "pxos.cli.main", "run", str(prog), "--time"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    # the planner chooses among what can run without a compiler: the interpreter, or a GPU
    ran = {line.split()[3] for line in proc.stdout.splitlines() if "  RUN  " in line}
    assert ran and "c" not in ran
    assert ran <= {"interp", "cuda", "opencl", "webgpu"}
    assert np.load(tmp_path / "out" / "histogram.npy").sum() == 512 * 512
