"""Language version 2 on the host: FOR/WHILE/IF/BREAK/CONTINUE, SWAP, CONST, scalars as
RUN arguments, and `.npy` shapes; every backend present, against NumPy and plain Python."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from pxos.errors import PxError, PxNameError, PxSyntaxError, PxTypeError
from pxos.host.program import ProgramRun
from pxos.ir.check_host import check_program
from pxos.lang.px.parser import parse_program

ADD = """GPU_KERNEL add
GPU_PARAM src float[]
GPU_PARAM dst float[]
GPU_PARAM k float
GPU_THREAD_CODE:
    THREAD_ID → i
    STORE src[i] + k → dst[i]
GPU_END
"""

# one explicit step of 2-D heat diffusion, edges held fixed
DIFFUSE = """GPU_KERNEL diffuse
GPU_PARAM a float[,]
GPU_PARAM b float[,]
GPU_PARAM alpha float
GPU_THREAD_CODE:
    THREAD_ID → x, y
    IF x == 0 OR y == 0 OR x == COLS(a) - 1 OR y == ROWS(a) - 1:
        STORE a[y, x] → b[y, x]
        RETURN
    SET lap = a[y - 1, x] + a[y + 1, x] + a[y, x - 1] + a[y, x + 1] - 4.0 * a[y, x]
    STORE a[y, x] + alpha * lap → b[y, x]
GPU_END
"""


def run(text: str, folder, backend: str = "interp", **options) -> ProgramRun:
    path = folder / "prog.px"
    path.write_text(text)
    printed: list[str] = []
    program = parse_program(text, str(path))
    result = ProgramRun(check_program(program), device=backend, emit=printed.append,
                        **options).run()
    result.printed = printed
    return result


def check(text: str):
    return check_program(parse_program(text, "prog.px"))


def test_for_loop_variable_is_a_run_argument(backend, tmp_path):
    r = run(ADD + """ALLOC a float SIZE 7
ALLOC b LIKE a
FOR t IN 1..6 STEP 2:
    RUN add a b t
    RUN add b a 0
PRINT t
""", tmp_path, backend)
    np.testing.assert_array_equal(r.array("a", None), np.full(7, 1 + 3 + 5, np.float32))
    assert r.printed == ["5"]
    assert sum(s.what == "RUN" for s in r.steps) == 6


def test_for_counts_down_and_an_empty_range_runs_nothing(tmp_path):
    r = run("""SET total = 0
FOR i IN 10..0 STEP -3:
    SET total = total * 100 + i
FOR j IN 5..5:
    SET total = -1
PRINT total
""", tmp_path)
    assert r.printed == [str(10_07_04_01)]  # 10, 7, 4, 1 as in Python's range(10, 0, -3)


def test_for_bounds_are_evaluated_once(tmp_path):
    r = run("""SET n = 3
SET count = 0
FOR i IN 0..n:
    SET n = n + 1
    SET count = count + 1
PRINT count, n
""", tmp_path)
    assert r.printed == ["3 6"]


def test_break_continue_and_nested_loops(tmp_path):
    got = run("""SET s = 0
FOR i IN 0..10:
    IF i % 2 == 1:
        CONTINUE
    IF i > 6:
        BREAK
    FOR j IN 0..100:
        IF j == i:
            BREAK
        SET s = s + j
PRINT s
""", tmp_path).printed
    expected = 0
    for i in range(10):
        if i % 2 == 1:
            continue
        if i > 6:
            break
        expected += sum(range(i))
    assert got == [str(expected)]


def test_if_elif_else_at_host_level(tmp_path):
    text = """SET x = {x}
IF x < 0:
    PRINT "negative"
ELIF x == 0:
    PRINT "zero"
ELSE:
    PRINT "positive"
"""
    assert [run(text.format(x=x), tmp_path).printed[0] for x in (-2, 0, 5)] == \
        ["negative", "zero", "positive"]


def test_while_converges_on_a_reduce_result(backend, tmp_path):
    # halve every element until the largest is at most 1; REDUCE feeds WHILE and RUN
    r = run("""GPU_KERNEL scale
GPU_PARAM a float[]
GPU_PARAM k float
GPU_THREAD_CODE:
    THREAD_ID → i
    STORE a[i] * k → a[i]
GPU_END
ALLOC a float SIZE 100
RANDOM a SEED 3 RANGE 0.0 1000.0
REDUCE MAX a → top
SET rounds = 0
WHILE top > 1.0:
    RUN scale a 0.5
    REDUCE MAX a → top
    SET rounds = rounds + 1
PRINT rounds
""", tmp_path, backend)
    start = r.array("a", None) * np.float32(2) ** int(r.printed[0])
    rounds = 0
    top = float(start.max())
    while top > 1.0:
        top /= 2
        rounds += 1
    assert int(r.printed[0]) == rounds
    assert float(r.array("a", None).max()) <= 1.0


def test_heat_diffusion_with_swap_matches_numpy(backend, tmp_path):
    grid = np.zeros((24, 30), np.float32)
    grid[8:14, 10:20] = 100.0
    np.save(tmp_path / "grid.npy", grid)
    r = run(DIFFUSE + """CONST STEPS = 25
READ_FILE "grid.npy" INTO a
ALLOC b LIKE a
FOR t IN 0..STEPS:
    RUN diffuse a b 0.2
    SWAP a b
""", tmp_path, backend)
    a = grid.copy()
    for _ in range(25):
        b = a.copy()
        lap = a[:-2, 1:-1] + a[2:, 1:-1] + a[1:-1, :-2] + a[1:-1, 2:] - np.float32(4) * a[1:-1, 1:-1]
        b[1:-1, 1:-1] = a[1:-1, 1:-1] + np.float32(0.2) * lap
        a = b
    np.testing.assert_allclose(r.array("a", None), a, rtol=1e-5, atol=1e-4)


def test_floyd_warshall_k_loop_matches_numpy(backend, tmp_path):
    rng = np.random.default_rng(5)
    n = 33
    dist = rng.uniform(1, 10, (n, n)).astype(np.float32)
    dist[rng.random((n, n)) < 0.6] = 1e6
    np.fill_diagonal(dist, 0)
    np.save(tmp_path / "d.npy", dist)
    r = run("""GPU_KERNEL relax
GPU_PARAM d float[,]
GPU_PARAM k int
GPU_THREAD_CODE:
    THREAD_ID → j, i
    SET via = d[i, k] + d[k, j]
    IF via < d[i, j]:
        STORE via → d[i, j]
GPU_END
READ_FILE "d.npy" INTO d
FOR k IN 0..ROWS(d):
    RUN relax d k
""", tmp_path, backend)
    ref = dist.copy()
    for k in range(n):
        ref = np.minimum(ref, ref[:, k:k + 1] + ref[k:k + 1, :])
    # row k and column k do not change in step k, so the in-place kernel is exact
    np.testing.assert_array_equal(r.array("d", None), ref)


def test_swap_exchanges_without_copies(tmp_path):
    r = run("""ALLOC a float SIZE 4
ALLOC b float SIZE 4
FILL a 1.0
FILL b 2.0
SWAP a b
""", tmp_path)
    assert r.array("a", None)[0] == 2.0 and r.array("b", None)[0] == 1.0
    assert r.residency.transfers.to_device == 0


@pytest.mark.parametrize("text, message", [
    ("ALLOC a float SIZE 4\nALLOC b int SIZE 4\nSWAP a b\n", "same type and shape"),
    ("ALLOC a float SIZE 4\nALLOC b float SIZE 2, 2\nSWAP a b\n", "same type and shape"),
    ("ALLOC a float SIZE 4\nSET b = 1\nSWAP a b\n", "scalar"),
    ("BREAK\n", "BREAK outside a loop"),
    ("IF TRUE:\n    CONTINUE\n", "CONTINUE outside a loop"),
    ("FOR i IN 0..2.5:\n    PRINT i\n", "FOR bounds must be integers"),
    ("FOR i IN 0..4 STEP 0:\n    PRINT i\n", "STEP must not be 0"),
    ("SET x = 1.5\nFOR x IN 0..3:\n    PRINT x\n", "must be an integer"),
    ("IF TRUE:\n    CONST N = 3\n", "only allowed at top level"),
    ("CONST N = 3\nCONST N = 4\n", "defined twice"),
    ("CONST N = 3\nSET N = 4\n", "is a constant"),
    ("CONST N = 3\nFOR N IN 0..2:\n    PRINT N\n", "is a constant"),
    ("SET a = 2\nCONST N = a * 3\n", "not a constant defined above"),
    ("CONST N = M + 1\nCONST M = 2\n", "not a constant defined above"),
    ("CONST N = 4 / 0\n", "division by zero"),
    ("CONST N = 1e308 * 10.0\n", "must be finite"),
    ("CONST N = 9223372036854775807 * 4\n", "does not fit in 64 bits"),
    ("CONST N = 1 << 70\n", "shifts are by 0 to 63"),
    ("ALLOC a float SIZE 4\nCONST N = LEN(a)\n", "literal expression"),
])
def test_control_flow_swap_and_const_errors(text, message):
    with pytest.raises(PxError, match=message) as err:
        check(text)
    assert err.value.span is not None and err.value.span.line >= 1


def test_swap_of_different_shapes_known_only_at_run_time(tmp_path):
    np.save(tmp_path / "x.npy", np.zeros(5, np.float32))
    np.save(tmp_path / "y.npy", np.zeros(6, np.float32))
    text = 'READ_FILE "x.npy" INTO x\nREAD_FILE "y.npy" INTO y\nSWAP x y\n'
    with pytest.raises(PxTypeError, match="same type and shape") as err:
        run(text, tmp_path)
    assert err.value.span.line == 3


def test_const_in_kernels_and_host_statements(backend, tmp_path):
    r = run("""CONST N = 8 * 4
CONST HALF = N / 2
CONST DT = 0.1 / 4
CONST BIG = 3000000000
GPU_KERNEL fill
GPU_PARAM out double[]
GPU_PARAM count long[]
GPU_THREADS HALF
GPU_THREAD_CODE:
    THREAD_ID → i
    STORE f64(i) * DT → out[i]
    STORE BIG + i → count[i]
GPU_END
ALLOC out double SIZE N
ALLOC count long SIZE N
RUN fill out count
PRINT N, HALF
""", tmp_path, backend)
    assert r.printed == ["32 16"]
    expected = np.zeros(32)
    expected[:16] = np.arange(16) * (0.1 / 4)  # a float CONST is a double-precision literal
    np.testing.assert_array_equal(r.array("out", None), expected)
    np.testing.assert_array_equal(r.array("count", None)[:16], 3_000_000_000 + np.arange(16))


def test_const_integer_arithmetic_is_exact(tmp_path):
    r = run("CONST A = -7 / 2\nCONST B = -7 % 2\nCONST C = 65536 * 65537\nPRINT A, B, C\n",
            tmp_path)
    assert r.printed == [f"-3 -1 {65536 * 65537}"]  # truncation toward zero, as C


def test_npy_rank_read_from_the_header_when_checking(tmp_path):
    from pxos.host.files import FileAccess

    np.save(tmp_path / "m.npy", np.ones((3, 5), np.float32))
    text = 'READ_FILE "m.npy" INTO m\nSET c = COLS(m)\nPRINT c\n'
    program = parse_program(text, str(tmp_path / "prog.px"))
    check_program(program, peek=FileAccess(tmp_path).peek)  # was: "COLS needs a 2-D …"
    assert run(text, tmp_path).printed == ["5"]


def test_npy_rank_checked_when_read_if_the_file_is_made_by_the_run(tmp_path):
    text = """ALLOC v float SIZE 4
WRITE_FILE v TO "v.npy"
READ_FILE "v.npy" INTO m
SET c = COLS(m)
"""
    check(text)  # the file does not exist yet: the rank is checked when it is read
    with pytest.raises(PxTypeError, match="COLS needs a 2-D or 3-D array") as err:
        run(text, tmp_path)
    assert (err.value.span.line, err.value.span.col) == (4, 9)


def test_undefined_on_a_path_not_taken_is_a_clear_error(tmp_path):
    with pytest.raises(PxNameError, match="undefined name 'y'"):
        run("SET x = 0\nIF x > 1:\n    SET y = 2\nPRINT y\n", tmp_path)


def test_a_loop_is_planned_once_per_residency_state(tmp_path, monkeypatch):
    from pxos.planner.program import Planner

    calls = []
    original = Planner.plan

    def counting(self, *args, **kwargs):
        calls.append(args[0] if args else 0)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Planner, "plan", counting)
    r = run(ADD + """ALLOC a float SIZE 1000
ALLOC b LIKE a
FOR t IN 0..200:
    RUN add a b 1.0
    SWAP a b
""", tmp_path, "auto")
    assert r.array("a", None)[0] == 200.0
    assert sum(s.what == "RUN" for s in r.steps) == 200
    assert len(calls) <= 4  # once per distinct residency state, not once per iteration


def test_explain_gives_one_row_per_statement_of_a_loop(tmp_path):
    from pxos.planner.program import Planner
    from tests.planner.conftest import make_machine
    from pxos.planner.history import History

    text = ADD + "ALLOC a float SIZE 1000000\nALLOC b LIKE a\nFOR t IN 0..50:\n" \
        "    RUN add a b 1.0\n    SWAP a b\nPRINT a[0]\n"
    program = check(text)
    no_split = dataclasses.replace(make_machine(True), hybrid={})  # GPU or CPU, not both
    planner = Planner(program, machine=no_split, history=History(tmp_path / "h.json"))
    rows = planner.plan_statements()
    assert [d.line for d in rows] == [9, 10, 11, 12, 13, 14]
    # 50 launches over 4 MB arrays: the data goes to the GPU once and stays there
    assert rows[3].device == "cuda"


def test_reduce_results_are_run_arguments(backend, tmp_path):
    data = np.array([1.5, 8.0, 3.25, 2.0, 5.5], np.float32)
    np.save(tmp_path / "a.npy", data)
    r = run("""GPU_KERNEL scale
GPU_PARAM a float[]
GPU_PARAM k float
GPU_PARAM n int
GPU_THREAD_CODE:
    THREAD_ID → i
    STORE a[i] / k + f32(n) → a[i]
GPU_END
READ_FILE "a.npy" INTO a
ALLOC c int SIZE 3
FILL c 2
REDUCE MAX a → top
REDUCE SUM c → total
RUN scale a top total
""", tmp_path, backend)
    assert r.values["top"] == np.float32(8.0) and r.values["total"] == 6
    np.testing.assert_array_equal(r.array("a", None), data / np.float32(8) + np.float32(6))


def test_dim_of_every_axis_sizes_an_alloc(tmp_path):
    r = run("ALLOC u float SIZE 2, 3, 4\nALLOC v float SIZE DIM(u, 2) * 2, DIM(u, 0)\n"
            "PRINT DIM(v, 0), DIM(v, 1)\n", tmp_path)
    assert r.values["v"].shape == (8, 2) and r.printed == ["8 2"]
