"""``pxos export --standalone``: the exported CUDA programs build, make pxos's inputs, run.

Three levels, each on what the machine has:

* the host section (plain C: sizes, ``RANDOM``, ``FILL``, the ``.npy`` reader) is built with
  the C compiler and must make exactly the inputs pxos had at the ``RUN`` (any machine;
  test_standalone_host);
* every exported program is built with ``nvcc -arch=sm_90`` (skipped without nvcc, a failure
  when ``PXOS_REQUIRE_NVCC=1``);
* on a machine with a GPU (``nvidia-smi -L`` works), every program runs and prints PASS.
"""

from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from pxos.cli.main import _load, app
from pxos.host.export import plan_export
from tests.conftest import EXAMPLES
from tests.codegen.standalone_cases import CASES, IDS, _need_nvcc, export, has_gpu, runner, source


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Every case exported and built with nvcc (two at a time): (.cu, exe, build log)."""
    nvcc = _need_nvcc()
    folder = tmp_path_factory.mktemp("built")
    sources = [export(folder, name, k) for name, k in CASES]

    def build(cu: Path):
        exe = cu.with_suffix("")
        proc = subprocess.run([nvcc, "-O3", "-arch=sm_90", "-fmad=false", "-Xcompiler",
                               "-ffp-contract=off", str(cu), "-o", str(exe)],
                              capture_output=True, text=True, timeout=600)
        return cu, exe, proc.returncode, proc.stdout + proc.stderr

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(IDS, pool.map(build, sources)))


@pytest.mark.parametrize("case", IDS)
def test_export_builds_with_nvcc(built, case):
    cu, exe, rc, log = built[case]
    assert rc == 0, log
    assert "warning" not in log, log


def test_built_program_takes_its_options_without_a_gpu(built):
    """--plan stops before the first CUDA call, so the options can be tried anywhere."""
    def run(case, *args):
        cu, exe, rc, log = built[case]
        assert rc == 0, log
        return subprocess.run([str(exe), *args], capture_output=True, text=True,
                              cwd=cu.parent, timeout=60)

    assert "size N = 1000000" in run("saxpy-saxpy", "--plan").stdout
    assert "float32[1234]" in run("saxpy-saxpy", "--plan", "--size=1234").stdout
    np.save(built["saxpy-saxpy"][0].parent / "x77.npy", np.arange(77, dtype=np.float32))
    out = run("saxpy-saxpy", "77", "--plan", "--input", "x=x77.npy").stdout
    assert "x    r   float32[77]  x77.npy" in out and "threads 77 x 1 x 1" in out
    assert "partial  w   float32[4]" in run("reduce-block_sum", "1000", "--plan").stdout
    fixed = run("mandelbrot-mandelbrot", "100", "--plan")
    assert "refused" in fixed.stderr and "uint8[512, 768]" in fixed.stdout
    help_ = run("saxpy-saxpy", "--help")
    assert help_.returncode == 0 and "--input NAME=FILE.npy" in help_.stdout
    for args, message in [(["--bogus"], "unknown option --bogus"),
                          (["--input", "q=a.npy"], "NAME one of the kernel's arrays"),
                          (["--repeat", "0"], "at least 1"), (["ten"], "whole number"),
                          (["--rtol"], "--rtol needs a value")]:
        proc = run("saxpy-saxpy", *args)
        assert proc.returncode == 2 and message in proc.stderr, (args, proc.stderr)


@pytest.mark.skipif(not has_gpu(), reason="no GPU here (nvidia-smi -L fails)")
@pytest.mark.parametrize("case", IDS)
def test_exported_program_passes_on_the_gpu(built, case):
    cu, exe, rc, log = built[case]
    assert rc == 0, log
    proc = subprocess.run([str(exe), "--repeat", "3"], capture_output=True, text=True,
                          cwd=cu.parent, timeout=600)
    assert proc.returncode == 0 and proc.stdout.rstrip().endswith("PASS"), \
        proc.stdout + proc.stderr
    assert "kernel:" in proc.stdout and "GB/s" in proc.stdout
    if "size N =" in proc.stdout:  # a size that can change: a smaller one passes too
        proc = subprocess.run([str(exe), "777"], capture_output=True, text=True,
                              cwd=cu.parent, timeout=600)
        assert proc.returncode == 0 and "size N = 777" in proc.stdout, proc.stdout


@pytest.mark.skipif(not has_gpu(), reason="no GPU here (nvidia-smi -L fails)")
def test_a_wrong_result_fails_with_the_first_mismatch(built):
    cu, exe, rc, log = built["saxpy-saxpy"]
    gpu, cpu = cu.read_text().split("namespace pxos_cpu {")
    bad = cu.with_name("bad.cu")  # the CPU reference subtracts y instead of adding it
    bad.write_text(gpu + "namespace pxos_cpu {" + cpu.replace("+ v_y[v_i]", "- v_y[v_i]", 1))
    subprocess.run([_need_nvcc(), "-arch=sm_90", str(bad), "-o", str(exe.with_name("bad"))],
                   check=True, capture_output=True)
    proc = subprocess.run([str(exe.with_name("bad")), "1000"], capture_output=True,
                          text=True, cwd=cu.parent, timeout=600)
    assert proc.returncode == 1 and proc.stdout.rstrip().endswith("FAIL"), proc.stdout
    assert "values differ; first at out[0]: gpu" in proc.stdout

# ---------------------------------------------------------------------- the plan and the text
def test_sizes_that_cannot_change_say_why(tmp_path):
    mandel = plan_export(_load(EXAMPLES / "mandelbrot.px"), "mandelbrot")
    assert mandel.size is None and "2 places" in mandel.fixed_why
    hist = plan_export(_load(EXAMPLES / "histogram.px"), "histogram")
    assert hist.size is None and "file" in hist.fixed_why
    assert plan_export(_load(EXAMPLES / "reduce.px"), "block_sum").size.value == 1000000
    mix = plan_export(_load(source(tmp_path, "mix.px")), "mix")
    assert mix.size.label.startswith("SET n = 1000") and mix.order_dependent


def test_program_text_is_readable_and_line_directives_are_right(tmp_path):
    cu = export(tmp_path, "saxpy.px", "saxpy")
    text = cu.read_text()
    lines = text.split("\n")
    assert f'#line 9 "{EXAMPLES / "saxpy.px"}"' in text  # the kernel points at the .px
    assert "namespace pxos_cpu {" in text and "nvcc -O3 -arch=native -fmad=false" in text
    resets = [i for i, x in enumerate(lines) if x.startswith("#line") and "saxpy.cu" in x]
    assert len(resets) == 2
    for i in resets:  # each points the next line back at its own number in the .cu
        assert lines[i] == f'#line {i + 2} "saxpy.cu"'
    assert "CHECK(cudaMalloc" in text and "cudaEventElapsedTime" in text


def test_cli_errors(tmp_path):
    saxpy = str(EXAMPLES / "saxpy.px")
    cases = [
        (["export", saxpy, "-k", "nope", "--standalone"], "no kernel named 'nope'"),
        (["export", str(EXAMPLES / "histogram.px"), "-k", "histogram", "--standalone"],
         "pass -o FILE.cu"),
    ]
    never = tmp_path / "never.px"
    never.write_text((EXAMPLES / "saxpy.px").read_text().split("ALLOC x")[0])
    cases.append((["export", str(never), "-k", "saxpy", "--standalone"], "never RUN"))
    for args, message in cases:
        result = runner.invoke(app, args)
        assert result.exit_code == 2 and message in result.output, result.output
    result = runner.invoke(app, ["export", saxpy, "-k", "saxpy", "--standalone"])
    assert result.exit_code == 0 and "int main(int argc, char **argv)" in result.output


def test_export_needs_no_standalone_flag(tmp_path):
    # before: without --standalone, "error: pxos export needs --standalone", exit 2
    saxpy = str(EXAMPLES / "saxpy.px")
    written = []
    for folder, flag in (("plain", []), ("flagged", ["--standalone"])):
        (tmp_path / folder).mkdir()
        out = tmp_path / folder / "saxpy.cu"
        result = runner.invoke(app, ["export", saxpy, "-k", "saxpy", *flag, "-o", str(out)])
        assert result.exit_code == 0, result.output
        written.append(out.read_text())
    assert "int main(int argc, char **argv)" in written[0]
    assert written[0] == written[1]  # the flag is accepted and changes nothing
