"""The runs of one program share what they make (``host/program_memo``): a later run
reuses the prepared launches and the planner, gives NumPy's results with arrays of its
own, and a host loop of RUNs placed by the planner goes native with its decisions in its
steps (``host/run_loop``)."""

from __future__ import annotations

import gc

import numpy as np
import pytest

from pxos.host import control, program_memo
from pxos.host.program import ProgramRun
from pxos.ir.check_host import check_program
from pxos.lang.px.parser import parse_program
from pxos.planner.history import history_for
from tests.conftest import BACKENDS

pytestmark = pytest.mark.skipif("c" not in BACKENDS, reason="no C compiler here")

SCALE = """
GPU_KERNEL scale
    GPU_PARAM src float[]
    GPU_PARAM dst float[]
    GPU_PARAM w float
GPU_THREAD_CODE:
    THREAD_ID → i
    STORE src[i] * w + 1.0 → dst[i]
GPU_END

ALLOC a float SIZE 64
ALLOC b LIKE a
RANDOM a SEED {seed} RANGE 0.0 1.0
FOR k IN 0..20:
    RUN scale a b 0.5
    RUN scale b a 0.5
"""


def _expected(seed: int) -> np.ndarray:
    from pxos.host.rng import random_fill

    a = np.empty(64, np.float32)
    random_fill(a, seed, 0.0, 1.0, None)
    for _ in range(20):
        a = (a * np.float32(0.5) + np.float32(1)) * np.float32(0.5) + np.float32(1)
    return a


def _native_loops(monkeypatch) -> list:
    """The (i, j) each host loop's native part returned (``control.native_iterations``)."""
    taken = []
    native = control.native_iterations

    def spy(run, body, count, at):
        taken.append(native(run, body, count, at))
        return taken[-1]
    monkeypatch.setattr(control, "native_iterations", spy)
    return taken


def test_later_runs_reuse_the_launches_and_keep_their_own_arrays(monkeypatch):
    program = check_program(parse_program(SCALE.format(seed=5), "<memo>"))
    taken = _native_loops(monkeypatch)
    runs = [ProgramRun(program, device="c", emit=print).run() for _ in range(3)]
    if taken[0] == (0, 0):
        pytest.skip("the native call helper cannot be built here")
    memo = program_memo.memo_for(program)
    assert len(memo.launches_for(False)) == 2  # one prepared launch per RUN, shared
    for run in runs:  # each run's arrays hold its own result (no tuple of another run's)
        np.testing.assert_allclose(run.residency.on_host("a"), _expected(5), rtol=1e-6)
    assert runs[0].values["a"] is not runs[2].values["a"]
    assert all(launch._ready == (None, ()) for launch in memo.launches_for(False).values())
    assert taken == [(18, 0)] * 3


def test_a_memo_goes_with_its_program():
    program = check_program(parse_program(SCALE.format(seed=6), "<memo>"))
    ProgramRun(program, device="c", emit=print).run()
    key = id(program)
    assert key in program_memo._MEMOS
    del program
    gc.collect()
    assert key not in program_memo._MEMOS


def test_planned_loops_go_native_with_their_decisions_and_reuse_the_planner(monkeypatch):
    program = check_program(parse_program(SCALE.format(seed=7), "<memo>"))
    taken = _native_loops(monkeypatch)
    first, second = (ProgramRun(program, device="c", explain=True, emit=print).run()
                     for _ in range(2))
    if taken[0] == (0, 0):
        pytest.skip("the native call helper cannot be built here")
    assert taken == [(18, 0)] * 2
    # the native part's first steps taught each decision until settled (Decision.TAUGHT)
    assert all(s.decision.settled for s in first.steps[-2:])
    for run in (first, second):
        np.testing.assert_allclose(run.residency.on_host("a"), _expected(7), rtol=1e-6)
        steps = [s for s in run.steps if s.what == "RUN"]
        assert len(steps) == 40
        assert all(s.decision is not None and s.decision.device == s.device == "c"
                   for s in steps)
    assert second.planner is first.planner
    memo = program_memo.memo_for(program).plans[("c", False)]  # no READ_FILE: no files key
    memo.follower.contradicted = True  # a measured time far off its prediction
    ProgramRun(program, device="c", explain=True, emit=print).run()
    assert memo.follower is not second.follower and not memo.follower.contradicted
    assert memo.planner is first.planner  # the decisions go; the planner stays
    history_for(first.planner.machine.key).forget()  # as `pxos calibrate` does
    third = ProgramRun(program, device="c", explain=True, emit=print).run()
    assert third.planner is not first.planner
    np.testing.assert_allclose(third.residency.on_host("a"), _expected(7), rtol=1e-6)


def test_a_run_on_another_thread_meanwhile_plans_with_a_planner_of_its_own():
    import threading

    program = check_program(parse_program(SCALE.format(seed=8), "<memo>"))
    held = ProgramRun(program, device="c", explain=True, emit=print)
    for stmt in program.statements:  # statement by statement: the run has not ended
        held.run_statement(stmt)
    other = []
    thread = threading.Thread(target=lambda: other.append(
        ProgramRun(program, device="c", explain=True, emit=print).run()))
    thread.start()
    thread.join()
    assert other[0].planner is not held.planner
    for run in (held, other[0]):
        np.testing.assert_allclose(run.residency.on_host("a"), _expected(8), rtol=1e-6)


def test_a_runs_first_execution_teaches_no_launch_overhead(tmp_path, monkeypatch):
    """A ``RUN``'s first execution in a process prepares its launch (checks, argument
    packing, the backend's first calls): its time is not a launch overhead to learn (on
    the H200 machine 90 µs on c, against 10 µs once prepared, sent later runs to cuda),
    nor does it contradict the plan; the measured time is still recorded."""
    from pxos.planner import history as history_module
    from pxos.planner.calibration import machine
    from pxos.planner.history import LAUNCHES, History

    history = History(tmp_path / "h.json")
    monkeypatch.setitem(history_module._OPEN, machine().key, history)
    text = SCALE.split("FOR")[0].format(seed=1) + "RUN scale a b 0.5\n" * 12
    program = check_program(parse_program(text))
    run = ProgramRun(program, device="auto", emit=lambda _t: None).run()
    assert all(d.measured is not None for d in run.decisions)
    assert not [k for k in history.data.get(LAUNCHES, {}) if k.startswith("RUN ")]
    memo = next(iter(program_memo.memo_for(program).plans.values()))
    assert not memo.follower.contradicted


def test_the_plans_of_a_program_that_reads_files_are_kept_per_working_directory(tmp_path):
    """A READ_FILE's shape is peeked at through the run's file access (planner/dryrun):
    its plans are kept per ``--allow-path`` and working directory; a program without one
    does not ask for the working directory (issue 14: 1-3 µs of every ``auto`` run)."""
    memo = program_memo.ProgramMemo()
    reads = check_program(parse_program('READ_FILE "a.npy" INTO a\n'))
    plain = check_program(parse_program(SCALE.format(seed=1)))
    assert memo.plan_key(reads, "auto", False, [tmp_path]) == (
        "auto", False, program_memo.files_key([tmp_path]))
    assert program_memo.ProgramMemo().plan_key(plain, "auto", True, [tmp_path]) == (
        "auto", True)


def test_a_straight_programs_later_runs_take_each_statements_last_decision():
    """Each RUN of a straight program (no sizing argument) takes its decision of the
    last run while the residency state and the follower's generation stand; once the
    follower forgets (a surprise), the statements are decided again."""
    text = SCALE.split("FOR")[0].format(seed=2) + "RUN scale a b 0.5\nRUN scale b a 0.5\n" * 3
    program = check_program(parse_program(text))
    # a run whose measured time contradicts a decision has the next run planned anew, at
    # most once per kernel and device (PlanFollower.measured): on a machine with a GPU
    # the first runs may learn (a decision first measured at its statement's first use
    # teaches at its next run: Decision.settled); the runs after them take the last
    # decisions
    runs = [ProgramRun(program, device="auto", emit=lambda _t: None).run() for _ in range(6)]
    earlier, last = runs[-2], runs[-1]
    assert [id(d) for d in earlier.decisions] == [id(d) for d in last.decisions]
    assert len(last.decisions) == 6
    expected = np.empty(64, np.float32)
    from pxos.host.rng import random_fill

    random_fill(expected, 2, 0.0, 1.0, None)
    for _ in range(6):
        expected = expected * np.float32(0.5) + np.float32(1)
    np.testing.assert_allclose(last.residency.on_host("a"), expected, rtol=1e-6)
    last.follower.forget()
    third = ProgramRun(program, device="auto", emit=lambda _t: None).run()
    assert not {id(d) for d in third.decisions} & {id(d) for d in last.decisions}
