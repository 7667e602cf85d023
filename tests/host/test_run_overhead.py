"""A RUN's per-launch work is done once where it can be (issue 14, call overhead): its
argument checks once per set of argument types, its thread counts by a Python expression
made once per kernel. What they refuse is still refused."""

from __future__ import annotations

import numpy as np
import pytest

from pxos.errors import PxArgumentError, PxShapeError
from pxos.host.program import ProgramRun
from pxos.ir import nodes as ir
from pxos.ir.check_host import check_program
from pxos.lang.px.parser import parse_program

SCALE = """GPU_KERNEL scale
    GPU_PARAM n int
    GPU_PARAM x float[]
    GPU_PARAM out float[]
    GPU_THREADS n - 2
GPU_THREAD_CODE:
    THREAD_ID → i
    STORE 3.0 * x[i] → out[i]
GPU_END

ALLOC x float SIZE 8
ALLOC out LIKE x
RANDOM x SEED 3
SET n = 8
FOR k IN 0..3:
    RUN scale n x out
"""


def _run(backend, text=SCALE):
    program = check_program(parse_program(text, "<scale>"))
    run = ProgramRun(program, device=backend, emit=lambda s: None).run()
    stmt = next(s for s in ir.walk(program.statements) if isinstance(s, ir.Run))
    return run, stmt


def test_thread_counts_and_results_of_a_run_in_a_loop(backend):
    run, _ = _run(backend)
    x = run.residency.on_host("x")
    out = run.residency.on_host("out")
    np.testing.assert_array_equal(out[:6], np.float32(3) * x[:6])  # n - 2 threads
    np.testing.assert_array_equal(out[6:], 0)


def test_a_run_is_checked_again_when_its_argument_types_change(backend):
    run, stmt = _run(backend)
    run.values["x"] = np.zeros(8, np.int32)  # the same RUN, now with an int array
    run.residency.define("x", run.values["x"])
    with pytest.raises(PxShapeError, match=r"parameter 'x' of 'scale' is f32\[\]; got i32"):
        run.run_statement(stmt)


def test_a_negative_thread_count_is_still_refused(backend):
    run, stmt = _run(backend)
    run.values["n"] = np.int32(1)  # n - 2 = -1 threads
    with pytest.raises(PxArgumentError, match="would launch"):
        run.run_statement(stmt)


@pytest.mark.parametrize("bounds", [(0, 10000, 1), (9000, -5, -7), (3, 4, 5), (5, 5, 1),
                                    (-2**31, -2**31 + 5000, 3)])
def test_loop_values_made_in_chunks_are_the_range_in_the_variable_type(bounds):
    from pxos.host.control import _typed

    values = list(_typed(range(*bounds), np.dtype(np.int32)))
    assert values == list(range(*bounds))
    assert all(type(v) is np.int32 for v in values)


def test_loop_values_beyond_the_variable_type_raise_as_one_by_one():
    from pxos.host.control import _typed

    with pytest.raises(OverflowError):  # as np.int8(200) does
        list(_typed(range(120, 200, 10), np.dtype(np.int8)))


def test_a_loop_of_one_statement_sums_like_python():
    text = ("SET s = 0\nFOR k IN 2..9000 STEP 3:\n    SET s = s + k\nPRINT s\n")
    printed: list[str] = []
    ProgramRun(check_program(parse_program(text, "sum.px")), device="interp",
               emit=printed.append).run()
    assert printed == [str(sum(range(2, 9000, 3)))]
