"""Every example exists as a Python kernel (examples/python/) and gives the same output as
its `.px` twin on every backend present: same inputs (RANDOM's generator), same results,
bit for bit."""

from __future__ import annotations

import importlib.util
import shutil

import numpy as np
import pytest

from pxos.host.program import ProgramRun
from pxos.ir.check_host import check_program
from pxos.lang.px.parser import parse_file
from tests.conftest import EXAMPLES

# example -> {python output name: .px array name}
OUTPUTS = {
    "saxpy": {"x": "x", "y": "y", "out": "out"},
    "reduce": {"data": "data", "partial": "partial"},
    "grid_sum": {"data": "data", "partial": "partial"},
    "histogram": {"hist": "hist"},
    "mandelbrot": {"image": "image"},
    "edges": {"gray8": "gray8", "blurred": "blurred", "edges": "edges"},
    "heat": {"heat": "a", "img": "img"},
    "heat3d": {"u": "u"},
}


def python_example(name: str):
    path = EXAMPLES / "python" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"pxos_example_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_px_example_has_a_python_twin():
    px = {p.stem for p in EXAMPLES.glob("*.px")}
    assert px == set(OUTPUTS) == {p.stem for p in (EXAMPLES / "python").glob("*.py")}


@pytest.mark.parametrize("name", sorted(OUTPUTS))
def test_python_twin_equals_px(name, backend, tmp_path):
    shutil.copy(EXAMPLES / f"{name}.px", tmp_path / f"{name}.px")
    shutil.copytree(EXAMPLES / "data", tmp_path / "data")
    run = ProgramRun(check_program(parse_file(tmp_path / f"{name}.px")), device=backend,
                     emit=lambda _: None).run()
    got = python_example(name).run(device=backend)
    for py_name, px_name in OUTPUTS[name].items():
        want = run.array(px_name, None)
        assert got[py_name].dtype == want.dtype and got[py_name].shape == want.shape
        np.testing.assert_array_equal(got[py_name], want, err_msg=f"{name}: {py_name}")
