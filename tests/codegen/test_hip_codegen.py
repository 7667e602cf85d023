"""The HIP dialect renders every example's kernels (CUDA's kernel language with HIP's
headers), and where ``hipcc`` is installed (CI: Debian's ``hipcc``), the code compiles for an
AMD GPU (gfx90a). pxos has no AMD GPU to run it on: rendered and compiled, not run."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from pxos.codegen.cuda import render_cuda
from pxos.codegen.hip import render_hip
from pxos.codegen.targets import render_unit_for
from pxos.ir.check_host import check_program
from pxos.lang.px.parser import parse_file
from tests.conftest import EXAMPLES

PROGRAMS = sorted(EXAMPLES.rglob("*.px"))


@pytest.mark.parametrize("path", PROGRAMS, ids=[p.name for p in PROGRAMS])
def test_every_example_renders_as_hip(path):
    for k in check_program(parse_file(path)).kernels:
        for checked in (False, True):
            hip, cuda = render_hip(k, checked), render_cuda(k, checked)
            assert "#include <hip/hip_runtime.h>" in hip.source
            assert hip.function.replace("hip dialect", "cuda dialect") == cuda.function
            assert f'extern "C" __global__ void' in hip.function and hip.entry == cuda.entry


@pytest.mark.skipif(shutil.which("hipcc") is None, reason="hipcc is not installed")
@pytest.mark.parametrize("path", PROGRAMS, ids=[p.name for p in PROGRAMS])
def test_every_example_compiles_with_hipcc(path, tmp_path):
    kernels = check_program(parse_file(path)).kernels
    for checked in (False, True):
        src = tmp_path / f"{path.stem}{'_checked' * checked}.hip"
        src.write_text(render_unit_for("hip", kernels, checked))
        env = dict(os.environ, HIP_PLATFORM="amd")  # not nvcc, which the machine may have
        done = subprocess.run(["hipcc", "--offload-arch=gfx90a", "-c", str(src), "-o",
                               str(src.with_suffix(".o"))], capture_output=True, text=True,
                              env=env, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
