"""A ``RUN`` whose launch is not yet in its final form (``RunLaunch.warming``: its first
run in the process, and the Python way before its native launcher) teaches the planner
nothing of a short kernel: on the H100 machine such runs on ``c`` took 32–55 µs against
12 µs natively, taught ``c`` a correction of 3.2, and kept a program on ``cuda`` at 1.6×
the time of ``c``."""

from __future__ import annotations

import numpy as np

from pxos import registry
from pxos.host.native_call import AFTER_CALLS
from pxos.host.program import ProgramRun
from pxos.ir.check_host import check_program
from pxos.lang.px.parser import parse_program
from pxos.planner import program as planner_program
from pxos.planner.decision import TAUGHT
from pxos.planner import history as planner_history
from pxos.planner.history import History
from tests.planner.conftest import make_machine
from tests.planner.test_ahead import FW, _floyd


def test_warming_runs_teach_nothing_and_the_first_native_one_does(monkeypatch, tmp_path):
    machine = make_machine(gpu=False)  # c alone: 1 µs a launch, so the work is significant
    machine.devices["c"].launch_s = 1e-6
    history = History(tmp_path / "h.json")
    # (a warming run of a long kernel teaches its correction: tests/planner/test_model)
    monkeypatch.setattr(planner_history, "WARMING_FLOOR", float("inf"))
    monkeypatch.setattr(planner_program, "this_machine", lambda: machine)
    monkeypatch.setattr(planner_program, "history_for", lambda key: history)
    taught = []  # per run: each time a RUN's time was kept (a correction, a launch)
    for name in ("record", "record_launch"):
        kept = getattr(History, name)
        monkeypatch.setattr(history, name, lambda what, *a, kept=kept: (
            "REDUCE" in what or taught[-1].append(what), kept(history, what, *a))[1])
    text = FW.format(n=64) + "".join(f"RUN fw d {k}\n" for k in range(6))
    program = check_program(parse_program(text, "<fw>"))
    first_steady = AFTER_CALLS if registry.native_calls("c") else 1
    for _ in range(first_steady + 3 * TAUGHT):
        taught.append([])
        run = ProgramRun(program, device="auto", emit=lambda s: None).run()
        assert {s.device for s in run.steps if s.what == "RUN"} == {"c"}
        np.testing.assert_array_equal(run.residency.on_host("d"), _floyd(64, 6))
    counts = [len(t) for t in taught]
    assert counts[:first_steady] == [0] * first_steady, counts  # warming: nothing
    assert all(c >= 6 for c in counts[first_steady:first_steady + TAUGHT]), counts
    # each RUN teaches TAUGHT times, then its decision is settled (a plan made again
    # after a surprise, its decisions TAUGHT times more)
    assert counts[-TAUGHT:] == [0] * TAUGHT, counts
