"""Single launches over host data placed on the H200 machine's stored calibration
(``data/h200_calibration.json``), against what ``benchmarks/placement.py`` measured there
on 2026-12-04 (the final run of the sixth session): the cases its model got wrong."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pxos.ir.analysis.features import launch_threads
from pxos.ir.check_host import check_program
from pxos.lang.px.parser import parse_file
from pxos.planner import history as history_module
from pxos.planner.calibration import VERSION, Machine
from pxos.planner.call import place_call
from pxos.planner.history import History

from tests.conftest import ROOT
from tests.planner.test_h200_like import DATA


@pytest.fixture
def h200(tmp_path, monkeypatch) -> Machine:
    stored = json.loads(DATA.read_text())
    stored["version"] = VERSION
    machine = Machine.from_json(json.dumps(stored))
    monkeypatch.setitem(history_module._OPEN, machine.key, History(tmp_path / "h.json"))
    return machine


def placed(machine: Machine, kernel_name: str, values: dict) -> dict:
    """The predicted seconds per device of one launch of ``kernel_name`` (an example's)
    over ``values`` kept on the host, built (as the benchmark times it)."""
    kernels = {k.name: k for path in sorted((ROOT / "examples").glob("*.px"))
               for k in check_program(parse_file(path)).kernels}
    kernel = kernels[kernel_name]
    args = [values[p.name] for p in kernel.params]
    memories = ["host" if isinstance(a, np.ndarray) else None for a in args]
    return place_call(kernel, args, launch_threads(kernel, values), memories, machine,
                      ["c", "cuda"], amortized=True).predicted


@pytest.mark.parametrize("side, ran", [(10, {"c": 0.024e-3, "cuda": 0.054e-3}),
                                       (32, {"c": 0.078e-3, "cuda": 0.057e-3}),
                                       (100, {"c": 0.457e-3, "cuda": 0.063e-3})])
def test_mandelbrot_on_the_cpu_is_predicted_one_thread_at_a_time(h200, side, ran):
    # an escape-time WHILE: the c backend runs its threads one at a time, not as SIMD
    # lanes; at the vectorised rate c was predicted 4-5x faster than it ran (0.014 ms at
    # 32 x 32) and chosen over cuda there
    predicted = placed(h200, "mandelbrot", {"image": np.zeros((side, side), np.uint8),
                                            "max_iter": np.int32(256)})
    assert min(predicted, key=predicted.get) == min(ran, key=ran.get)
    assert predicted["c"] > ran["c"] / 2
