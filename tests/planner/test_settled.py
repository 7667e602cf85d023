"""A decision kept for a program's next runs teaches there (``Decision.settled``): each
``RUN`` of a straight program is executed once per run, so in the first run every one was
a first use (its time includes preparing the launch), which teaches no launch overhead; a
device whose launches were far dearer than calibrated kept the program for good."""

from __future__ import annotations

import numpy as np
import pytest

from pxos import backends
from pxos.host.program import ProgramRun
from pxos.ir.check_host import check_program
from pxos.lang.px.parser import parse_program
from pxos.planner import program as planner_program
from pxos.planner.history import History
from tests.planner.conftest import figures, make_machine
from tests.planner.test_ahead import FW, _floyd

pytestmark = pytest.mark.skipif("opencl" not in backends.available(),
                                reason="needs the opencl backend (PoCL on a CPU)")


def test_a_dear_device_is_left_once_its_launches_are_learned(monkeypatch, tmp_path):
    # opencl calibrated at 2 µs a launch and a GPU's rates (it runs on PoCL, dearer by
    # far); c at 20 µs: the plan puts the program on opencl
    machine = make_machine(gpu=False)
    machine.devices["c"].launch_s = 20e-6
    machine.devices["opencl"] = figures("opencl", "opencl", True, 2e-6, 2e12, 1e13,
                                        upload=10e9)
    history = History(tmp_path / "h.json")
    monkeypatch.setattr(planner_program, "this_machine", lambda: machine)
    monkeypatch.setattr(planner_program, "history_for", lambda key: history)
    text = FW.format(n=32) + "".join(f"RUN fw d {k}\n" for k in range(24))
    for device in ("c", "opencl"):  # both built, as a user's earlier runs would leave them
        ProgramRun(check_program(parse_program(text, "<fw>")), device=device,
                   emit=lambda s: None).run()
    program = check_program(parse_program(text, "<fw>"))  # its launches not yet prepared
    ran = []
    for _ in range(4):
        run = ProgramRun(program, device="auto", emit=lambda s: None).run()
        ran.append({s.device for s in run.steps if s.what == "RUN"})
        np.testing.assert_array_equal(run.residency.on_host("d"), _floyd(32, 24))
    assert ran[0] == {"opencl"}
    assert ran[-1] == {"c"}, ran  # the second run taught opencl's launches; the third left
    learned = history.launch("RUN opencl", None)
    assert learned is not None and learned > 10 * 2e-6
