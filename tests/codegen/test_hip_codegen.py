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
def test_every_example_compiles_with_hipcc(tmp_path):
    """Every example's unit, plain and checked, compiled for the device (gfx90a): the host
    side is C++ that the C++ compiler checks elsewhere. Two hipcc processes at once, each
    given half of the files (hipcc's own start costs a second or two a call)."""
    sources = []
    for path in PROGRAMS:
        kernels = check_program(parse_file(path)).kernels
        for checked in (False, True):
            src = tmp_path / f"{path.stem}{'_checked' * checked}.hip"
            src.write_text(render_unit_for("hip", kernels, checked))
            sources.append(str(src))
    env = dict(os.environ, HIP_PLATFORM="amd")  # not nvcc, which the machine may have
    halves = [sources[0::2], sources[1::2]]
    runs = [subprocess.Popen(["hipcc", "--offload-arch=gfx90a", "--offload-device-only", "-c",
                              *half], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True) for half in halves]
    for run, half in zip(runs, halves):
        output, _ = run.communicate(timeout=600)
        assert run.returncode == 0, f"{half}: {output[-3000:]}"
    assert len(list(tmp_path.glob("*.hipfb"))) == len(sources)  # one device bundle each
