"""Planning cost (issue 14): a run plans the rest of the program once and plans again only
where it leaves the plan, so planning grows linearly with the number of statements."""

from __future__ import annotations

import numpy as np
import pytest

import pxos
from pxos import backends
from pxos.host.program import ProgramRun
from pxos.ir.check_host import check_program
from pxos.lang.px.parser import parse_program
from pxos.planner import program as planner_program
from pxos.planner.calibration import Machine
from pxos.planner.history import History
from tests.planner.conftest import figures, make_machine

FW = """GPU_KERNEL fw
    GPU_PARAM d float[,]
    GPU_PARAM k int
GPU_THREAD_CODE:
    THREAD_ID → j, i
    SET via = d[i, k] + d[k, j]
    IF via < d[i, j]:
        STORE via → d[i, j]
GPU_END

ALLOC d float SIZE {n}, {n}
RANDOM d SEED 7 RANGE 1.0 100.0
"""


def _machine() -> Machine:
    """c, and opencl (with its own memory) where this machine has it."""
    m = make_machine(gpu=False)
    if "opencl" in backends.available():
        m.devices["opencl"] = figures("opencl", "opencl", False, 20e-6, 10e9, 1e10,
                                      upload=5e9)
    return m


def _run(text: str, monkeypatch, tmp_path):
    counts = {"estimate": 0}
    real = planner_program.Planner.estimate

    def counting(self, *args):
        counts["estimate"] += 1
        return real(self, *args)

    monkeypatch.setattr(planner_program, "this_machine", _machine)
    monkeypatch.setattr(planner_program, "history_for", lambda key: History(tmp_path / "h"))
    monkeypatch.setattr(planner_program.Planner, "estimate", counting)
    program = check_program(parse_program(text, "<fw>"))
    run = ProgramRun(program, device="auto", emit=lambda s: None).run()
    return run, counts["estimate"]


def _floyd(n: int, steps: int) -> np.ndarray:
    d = pxos.random((n, n), pxos.f32, 7, 1.0, 100.0)
    for k in range(steps):
        d = np.minimum(d, d[:, k:k + 1] + d[k:k + 1, :])
    return d


@pytest.mark.parametrize("loop", [False, True])
def test_a_long_program_is_planned_a_bounded_number_of_times(monkeypatch, tmp_path, loop):
    n, devices = 24, len(_machine().devices)
    costs = []
    for runs in (12, 24):
        body = f"FOR k IN 0..{runs}:\n    RUN fw d k\n" if loop else \
            "".join(f"RUN fw d {k}\n" for k in range(runs))
        run, estimates = _run(FW.format(n=n) + body, monkeypatch, tmp_path / str(runs))
        # once at the start, and at most once more per kernel and device whose first
        # measurement surprised the model
        assert 1 <= run.follower.plans <= 1 + devices
        assert sum(s.what == "RUN" for s in run.steps) == runs
        np.testing.assert_array_equal(run.residency.on_host("d"), _floyd(n, runs))
        costs.append(estimates)
    # twice the statements: about twice the estimates (re-planning at every RUN: 4x)
    assert costs[1] <= 2.5 * costs[0]


def test_a_state_the_plan_did_not_foresee_is_planned_again(monkeypatch, tmp_path):
    from pxos.planner.ahead import PlanFollower

    text = FW.format(n=8) + "RUN fw d 0\nRUN fw d 1\n"
    program = check_program(parse_program(text, "<fw>"))
    planner = planner_program.Planner(program, "auto", _machine(), History(tmp_path / "h"))
    follower = PlanFollower(planner)
    runs = [s for s in program.statements if type(s).__name__ == "Run"]
    d = np.zeros((8, 8), np.float32)
    first = follower.decide(runs[0], {"d": d}, {"d": {"host"}}, ())
    assert follower.plans == 1
    memory = planner_program.memory_of(planner.machine, first.device)
    follower.decide(runs[1], {"d": d}, {"d": {memory}}, ())  # where the plan left it
    assert follower.plans == 1
    follower.decide(runs[1], {"d": np.zeros((9, 9), np.float32)}, {"d": {memory}}, ())
    assert follower.plans == 2  # other sizes
    elsewhere = "host" if memory != "host" else "opencl"
    follower.decide(runs[1], {"d": np.zeros((9, 9), np.float32)}, {"d": {elsewhere}}, ())
    assert follower.plans == 3  # another residency


def test_alike_runs_are_planned_as_one_loop(monkeypatch, tmp_path):
    # issue 14: 16 RUN fw d k were 16 steps of the dry run and the search; alike
    # statements (same kernel, arrays and sizing values) are laid out as a loop is
    from pxos.planner import alike

    outcomes = {"n": 0}
    real = planner_program.Planner._outcome

    def counting(self, *args):
        outcomes["n"] += 1
        return real(self, *args)

    monkeypatch.setattr(planner_program.Planner, "_outcome", counting)
    text = FW.format(n=16) + "".join(f"RUN fw d {k}\n" for k in range(16))
    program = check_program(parse_program(text, "<fw>"))
    planner = planner_program.Planner(program, "auto", _machine(), History(tmp_path / "h"))
    # ALLOC, RANDOM, the first RUN, and the second standing for the 14 after it
    assert [len(e.alike) for e in planner.entries] == [0, 0, 0, 14]
    runs = [d for d in planner.plan_statements() if d.fingerprint]
    assert [d.line for d in runs] == list(range(13, 29))
    assert [d.statement for d in runs] == [f"RUN fw d {k}" for k in range(16)]
    assert len({d.device for d in runs}) == 1  # nothing moves them
    devices = len(planner.kernel_devices)
    assert outcomes["n"] <= 2 + devices * (1 + devices)
    # the same plan as a line without alike statements, one step per RUN
    monkeypatch.setattr(alike._Alike, "__call__", lambda self, a, b: False)
    monkeypatch.setattr(alike, "_LINES", {})
    fresh = planner_program.Planner(program, "auto", _machine(), History(tmp_path / "h2"))
    assert len(fresh.entries) == 18
    assert [(d.line, d.device) for d in fresh.plan_statements()] == \
        [(d.line, d.device) for d in planner.plan_statements()]


def test_statements_alike_need_the_same_arrays_and_sizing_values():
    from pxos.planner.alike import planner_line

    text = """GPU_KERNEL scale
    GPU_PARAM x float[]
    GPU_PARAM n int
    GPU_PARAM f float
GPU_THREAD_CODE:
    THREAD_ID → i
    SET v = x[i]
    FOR k IN 0..n:
        SET v = v * f
    STORE v → x[i]
GPU_END

ALLOC a float SIZE 64
ALLOC b float SIZE 64
SET m = 3
RUN scale a 2 2.0
RUN scale a 2 3.0
RUN scale a 2 5.0
RUN scale a 3 3.0
RUN scale b 3 3.0
RUN scale b m 3.0
RUN scale b m 4.0
RUN scale b -3 4.0
RUN scale b -3 5.0
"""
    program = check_program(parse_program(text, "<alike>"))
    entries, positions = planner_line(program)
    runs = [(e.stmt.span.line, [s.span.line for s in e.alike]) for e in entries
            if type(e.stmt).__name__ == "Run"]
    # f does not size the launch (n does: a loop trip): 16-18 alike, 21-22, 23-24
    assert runs == [(16, []), (17, [18]), (19, []), (20, []), (21, []), (22, []),
                    (23, []), (24, [])]
    by_line = {s.span.line: s for s in program.statements}
    assert positions[id(by_line[18])] == positions[id(by_line[17])]
    assert all(id(s) in positions for s in program.statements)


def test_alike_runs_take_one_decision_each_with_its_own_line(monkeypatch, tmp_path):
    from pxos.planner.ahead import TEACHING

    taught = []
    real = History.learn

    def learning(self, *args):
        taught.append(args)
        return real(self, *args)

    monkeypatch.setattr(History, "learn", learning)
    runs = 24
    text = FW.format(n=runs) + "".join(f"RUN fw d {k}\n" for k in range(runs))
    run, _ = _run(text, monkeypatch, tmp_path)
    decisions = [d for d in run.decisions if d.fingerprint]
    assert [d.line for d in decisions] == list(range(13, 13 + runs))
    assert [d.statement for d in decisions] == [f"RUN fw d {k}" for k in range(runs)]
    assert all(d.measured is not None for d in decisions)  # each its own time
    assert len({id(d) for d in decisions}) == runs
    # a decision shared by alike statements teaches from the first few only (a surprise
    # starts a new one: at most one per kernel and device)
    devices = len(_machine().devices)
    assert TEACHING <= len(taught) <= TEACHING * (1 + devices)
    np.testing.assert_array_equal(run.residency.on_host("d"), _floyd(runs, runs))


def test_a_split_that_lost_is_not_taken_again_by_statements_alike():
    from pxos.planner.ahead import PlanFollower
    from pxos.planner.decision import Decision

    class Line:
        def text(self, stmt):
            return "RUN poly x y"

    follower = PlanFollower(Line())
    split = Decision(3, "RUN poly x y", "c+cuda", {"c+cuda": 0.5, "cuda": 1.0, "c": 2.0},
                     fingerprint="poly", size=10**7)
    follower._alike[("poly", 0, ())] = [split, 0, 8]
    generation = follower.generation
    split.measured = 0.9  # slower than predicted, still faster than cuda alone: kept
    follower.measured(split)
    assert follower.generation == generation and follower._alike
    split.measured = 1.2  # slower than cuda alone was predicted: lost
    follower.measured(split)
    assert follower.generation == generation + 1 and not follower._alike


def test_a_run_slower_than_another_devices_prediction_contradicts_the_plan():
    """``PlanFollower.contradicted`` (what ``host/program_memo`` drops a run's decisions
    on): set by a measured time longer than another candidate's prediction and twice its
    own, first runs included; not by one that is only off its own prediction, nor by one
    that ran as predicted where another device was predicted faster (a step chosen for
    the steps after it, as a first RUN that copies its data to the GPU)."""
    from pxos.planner.ahead import PlanFollower
    from pxos.planner.decision import Decision

    def measured(seconds: float) -> bool:
        follower = PlanFollower(None)
        follower.measured(Decision(1, "RUN k", "c", {"c": 1e-3, "opencl": 2e-3},
                                   measured=seconds, fingerprint="k"))
        return follower.contradicted
    assert measured(3e-3)  # opencl was predicted at 2 ms: it may have won
    assert not measured(1.9e-3) and not measured(1e-4)  # off its own prediction only

    def chosen_ahead(seconds: float) -> bool:  # c predicted faster here, cuda chosen
        follower = PlanFollower(None)
        follower.measured(Decision(1, "RUN k", "cuda", {"c": 1e-5, "cuda": 5e-5},
                                   measured=seconds, fingerprint="k"))
        return follower.contradicted
    assert not chosen_ahead(6e-5)  # ran as predicted: the plan knew c was faster here
    assert chosen_ahead(1.1e-4)  # more than twice its prediction
