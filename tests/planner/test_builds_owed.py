"""Ski rental across runs (issue 14: ``--device auto`` never loses to a pinned device): a
program whose every run is too short to pay a build on the faster device stays on the
device its kernel is built for only until those runs have lost as much time as the build
costs (``History.owe``), then moves."""

from __future__ import annotations

import numpy as np
import pytest

from pxos import backends
from pxos.host.program import ProgramRun
from pxos.ir.check_host import check_program
from pxos.lang.px.parser import parse_program
from pxos.planner import costs as planner_costs
from pxos.planner import program as planner_program
from pxos.planner.history import History, fingerprint
from tests.planner.conftest import figures, make_machine
from tests.planner.test_ahead import FW, _floyd

pytestmark = pytest.mark.skipif("opencl" not in backends.available(),
                                reason="needs the opencl backend (PoCL on a CPU)")

RUNS = 20


def test_runs_elsewhere_pay_for_the_faster_devices_build(monkeypatch, tmp_path):
    # opencl is built (a millisecond to build) and modelled at 0.5 ms a launch; c at 10 µs
    # once built, which costs 40 ms: a run of 20 RUNs saves less than that, so each plan
    # alone keeps opencl
    machine = make_machine(gpu=False)
    machine.devices["c"].compile_s = 0.04
    machine.devices["opencl"] = figures("opencl", "opencl", False, 5e-4, 10e9, 1e10,
                                        upload=5e9)
    machine.devices["opencl"].compile_s = 1e-3
    history = History(tmp_path / "h.json")
    monkeypatch.setattr(planner_program, "this_machine", lambda: machine)
    monkeypatch.setattr(planner_program, "history_for", lambda key: history)
    monkeypatch.setattr(planner_costs, "is_cached", lambda device, kernel, checked=False:
                        device != "c")  # as if c's builds never stayed
    program = check_program(parse_program(
        FW.format(n=24) + "".join(f"RUN fw d {k}\n" for k in range(RUNS)), "<fw>"))
    kernel = fingerprint(program.kernels[0])
    ran, owed = [], []
    for _ in range(400):
        run = ProgramRun(program, device="auto", emit=lambda s: None).run()
        ran.append({s.device for s in run.steps if s.what == "RUN"})
        owed.append(history.data.get(kernel, {}).get("c owed", [[0.04, 0.0]])[0][1])
        np.testing.assert_array_equal(run.residency.on_host("d"), _floyd(24, RUNS))
        if ran[-1] == {"c"}:
            break
    assert ran[0] == {"opencl"}  # the first run: the build does not pay within it
    assert ran[-1] == {"c"}, ran  # moved once the runs on opencl had paid for it
    assert all(r == {"opencl"} for r in ran[:-1])
    assert owed[-2] >= 0.04 and all(o < 0.04 for o in owed[:-2])  # at once, not before
    assert history.paid(kernel, "c") and not history.paid(kernel, "opencl")


def test_what_is_owed_is_kept_and_a_paid_build_changes_the_generation(tmp_path):
    history = History(tmp_path / "h.json")
    history.owe("k", "c", 0.01, 0.05)
    history.owe("k", "c", 0.0, 0.05)  # nothing lost: nothing kept
    assert not history.paid("k", "c") and history.generation == 0
    history.owe("k", "c", 0.04, 0.05)
    assert history.paid("k", "c") and history.generation == 1
    history.owe("k", "c", 0.04, 0.05)  # paid once: no new generation
    assert history.generation == 1 and not history.paid("k", "cuda")
    history.save()
    again = History(tmp_path / "h.json")  # read back as written
    assert again.paid("k", "c") and again.data["k"]["c owed"] == [[0.05, pytest.approx(0.09)]]
