"""A host loop of RUN statements launched from C (``host/run_loop``): its arrays equal NumPy's,
its steps and loop variable equal those of the general path, Ctrl-C stops it between two
launches, and a kernel that faults in it raises at its iteration."""

from __future__ import annotations

import _thread
import signal
import textwrap
import threading

import numpy as np
import pytest

from pxos.host import control
from tests.conftest import BACKENDS, run_native_script

pytestmark = pytest.mark.skipif("c" not in BACKENDS, reason="no C compiler here")

PINGPONG = """
GPU_KERNEL blur
    GPU_PARAM src float[]
    GPU_PARAM dst float[]
    GPU_PARAM w float
GPU_THREAD_CODE:
    THREAD_ID → i
    SET left = src[max(i - 1, 0)]
    SET right = src[min(i + 1, LEN(src) - 1)]
    STORE (left + right) * w + src[i] * (1.0 - 2.0 * w) → dst[i]
GPU_END

ALLOC a float SIZE 5000
ALLOC b LIKE a
RANDOM a SEED 3 RANGE 0.0 1.0
FOR k IN 0..{stop}:
    RUN blur a b 0.25
    RUN blur b a 0.25
PRINT k
"""


def _run(text: str, spy=None):
    from pxos.host.program import ProgramRun
    from pxos.ir.check_host import check_program
    from pxos.lang.px.parser import parse_program

    printed = []
    run = ProgramRun(check_program(parse_program(text, "<loop>")), device="c",
                     emit=printed.append)
    return run.run(), printed


def _spied(monkeypatch) -> list:
    """The (i, j) the native part returned, per loop (``control.native_iterations``)."""
    taken = []

    def spy(run, body, count, at):
        taken.append(native(run, body, count, at))
        return taken[-1]
    native = control.native_iterations
    monkeypatch.setattr(control, "native_iterations", spy)
    return taken


def _blur(a: np.ndarray, w: np.float32) -> np.ndarray:
    left = np.concatenate([a[:1], a[:-1]])
    right = np.concatenate([a[1:], a[-1:]])
    return (left + right) * w + a * (np.float32(1.0) - np.float32(2.0) * w)


@pytest.mark.parametrize("stop", [30, 3, 1])
def test_a_loop_of_runs_equals_numpy_and_the_general_path(monkeypatch, stop):
    from pxos.host.rng import random_fill

    taken = _spied(monkeypatch)
    run, printed = _run(PINGPONG.format(stop=stop))
    if stop > 2 and taken[0] == (0, 0):
        pytest.skip("the native call helper cannot be built here")
    assert taken == ([(stop - 2, 0)] if stop > 2 else [])
    a = np.empty(5000, np.float32)
    random_fill(a, 3, 0.0, 1.0, None)
    for _ in range(stop):
        b = _blur(a, np.float32(0.25))
        a = _blur(b, np.float32(0.25))
    np.testing.assert_allclose(run.residency.on_host("a"), a, rtol=1e-6, atol=1e-7)
    monkeypatch.setenv("PXOS_NATIVE_CALL", "0")  # the general path, for the record
    general, general_printed = _run(PINGPONG.format(stop=stop))
    assert printed == general_printed == [str(stop - 1)]
    assert type(run.values["k"]) is type(general.values["k"])
    assert [(s.what, s.device, s.span, s.transfers, s.decision) for s in run.steps] == \
        [(s.what, s.device, s.span, s.transfers, s.decision) for s in general.steps]
    assert sum(s.what == "RUN" for s in run.steps) == 2 * stop
    assert all(s.seconds >= 0 for s in run.steps)


def test_ctrl_c_stops_a_native_loop_between_launches():
    from pxos.host.interrupt import current
    from pxos.host.native_call import loaded
    from pxos.host.program import ProgramRun
    from pxos.ir.check_host import check_program
    from pxos.lang.px.parser import parse_program

    text = PINGPONG.replace("SIZE 5000", "SIZE 16")
    _run(text.format(stop=5))  # compiled, and the helper loaded, before the clock starts
    run = ProgramRun(check_program(parse_program(text.format(stop=10**9), "<loop>")),
                     device="c", emit=lambda s: None)
    # a job started in the background by a shell has SIGINT ignored, and then
    # interrupt_main does nothing: Python's own handler, for this test
    handler = signal.signal(signal.SIGINT, signal.default_int_handler)
    timer = threading.Timer(0.5, _thread.interrupt_main)  # Ctrl-C, as the handler sees it
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            run.run()
    finally:
        timer.cancel()
        signal.signal(signal.SIGINT, handler)
    if loaded() is None:
        pytest.skip("the native call helper cannot be built here")
    runs = sum(s.what == "RUN" for s in run.steps)
    assert runs > 100  # stopped in the native part, between two launches
    assert run.values["k"] == runs // 2  # the iteration it stopped in
    assert current() is None  # no statement is left marked running


FAULT = """
GPU_KERNEL smash
    GPU_PARAM a float[]
    GPU_PARAM n int[]
GPU_THREAD_CODE:
    THREAD_ID → i
    SET j = n[i]
    STORE j + 1 → n[i]
    IF j == 6:
        STORE 1.0 → a[j * 300000000]
GPU_END

ALLOC a float SIZE 4
ALLOC n int SIZE 4
FOR k IN 0..10:
    RUN smash a n
"""


def test_a_fault_in_a_native_loop_raises_at_its_iteration(tmp_path, tmp_path_factory):
    script = tmp_path / "fault.py"
    script.write_text(textwrap.dedent(f"""\
        from pxos.errors import PxError
        from pxos.host.program import ProgramRun
        from pxos.ir.check_host import check_program
        from pxos.lang.px.parser import parse_program

        from pxos.host.native_call import loaded

        run = ProgramRun(check_program(parse_program({FAULT!r}, "<fault>")), device="c")
        try:
            run.run()
        except PxError as e:
            print(type(e).__name__)
        print("native", loaded() is not None, "k", run.values["k"],
              "runs", sum(s.what == "RUN" for s in run.steps))
        """))
    out = run_native_script(script, tmp_path, tmp_path_factory.getbasetemp() / "pxos-cache")
    assert out.split() == ["PxFaultError", "native", "True", "k", "6", "runs", "6"]


def test_a_ctrl_c_the_main_thread_sees_first_still_names_the_run(monkeypatch):
    """Ctrl-C raised in the main thread before the watcher thread gets the GIL (a wait that
    polls from Python): the command line's message still names the RUN (host/interrupt)."""
    from pxos.host import interrupt
    from pxos.host.program import ProgramRun
    from pxos.ir.check_host import check_program
    from pxos.lang.px.parser import parse_program

    text = PINGPONG[:PINGPONG.index("FOR")].replace("SIZE 5000", "SIZE 16") + \
        "RUN blur a b 0.25\n"
    run = ProgramRun(check_program(parse_program(text, "<one>")), device="c",
                     emit=lambda s: None)

    def stopped(self, stmt):
        raise KeyboardInterrupt

    monkeypatch.setattr(ProgramRun, "_run", stopped)
    interrupt.LEFT[0] = None
    try:
        with pytest.raises(KeyboardInterrupt):
            run.run()
        assert interrupt.current() is None
        assert interrupt.message() == "interrupted: RUN blur at <one>:16"  # its line
    finally:
        interrupt.LEFT[0] = None
