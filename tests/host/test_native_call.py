"""The native launcher of C kernels (host/native_call): after a signature's first calls,
a call on NumPy arrays is checked and launched in C; its results equal NumPy's, and what
the Python path refuses or converts is still refused or converted the same way."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

import pxos
from pxos.errors import PxArgumentError, PxBoundsError
from pxos.host.native_call import AFTER_CALLS
from tests.conftest import BACKENDS, run_native_script

pytestmark = pytest.mark.skipif("c" not in BACKENDS, reason="no C compiler here")


@pxos.kernel
def axpb(a: pxos.f32, x: pxos.Array[pxos.f32, 1], b: pxos.i32, out: pxos.Array[pxos.f32, 1]):
    for i in pxos.parallel(len(x)):
        out[i] = a * x[i] + b


@pxos.kernel
def rows(k: pxos.i64, m: pxos.Array[pxos.f64, 2], out: pxos.Array[pxos.f64, 2]):
    for j, i in pxos.parallel(m.shape[1], m.shape[0]):
        out[i, j] = m[i, j] * k


def _warm(kernel, *args):
    for _ in range(AFTER_CALLS + 1):
        kernel(*args, device="c")
    if not kernel._native:
        pytest.skip("the native call helper cannot be built here (no Python.h?)")


def test_native_calls_equal_numpy_as_values_and_sizes_change():
    rng = np.random.default_rng(0)
    x = rng.random(1000, dtype=np.float32)
    out = np.zeros_like(x)
    _warm(axpb, np.float32(2.5), x, 3, out)
    for a, b in [(np.float32(2.5), 3), (1.25, -7), (np.float32(-1.0), 2**31 - 1), (True, 0),
                 (np.float64(0.1), np.int64(-5)), (np.int32(3), np.int16(9)),
                 (np.float16(0.3), np.uint8(200))]:
        x[:] = rng.random(1000, dtype=np.float32)
        axpb(a, x, b, out, device="c")
        np.testing.assert_array_equal(out, np.float32(a) * x + np.float32(b))
    small = rng.random(17, dtype=np.float32)
    out17 = np.empty_like(small)
    axpb(0.5, small, 1, out17, device="c")  # other sizes: checked again, then native
    axpb(0.5, small, 1, out17, device="c")
    np.testing.assert_array_equal(out17, np.float32(0.5) * small + 1)
    empty = np.zeros(0, np.float32)
    axpb(0.5, empty, 1, empty.copy(), device="c")


def test_a_2d_kernel_with_an_i64_scalar():
    m = np.arange(35, dtype=np.float64).reshape(5, 7)
    out = np.zeros_like(m)
    _warm(rows, 3, m, out)
    for k in (3, -2**40, np.int64(5)):
        rows(k, m, out, device="c")
        np.testing.assert_array_equal(out, m * np.float64(k))


def test_what_the_python_path_refuses_is_still_refused():
    x = np.ones(64, np.float32)
    out = np.zeros_like(x)
    _warm(axpb, 1.0, x, 1, out)
    with pytest.raises(PxArgumentError, match="same_kind"):
        axpb(1.0, x, 1.5, out, device="c")  # a float for an int parameter
    with pytest.raises(PxArgumentError, match="C-contiguous"):
        axpb(1.0, np.ones(128, np.float32)[::2], 1, out, device="c")
    ro = np.zeros_like(x)
    ro.flags.writeable = False
    with pytest.raises(PxArgumentError, match="read-only"):
        axpb(1.0, x, 1, ro, device="c")
    with pytest.raises(PxBoundsError):
        axpb(1.0, x, 1, np.zeros(10, np.float32), device="c")  # out too short
    axpb(1.0, x, 1, out, device="c")  # and the validated launch still runs natively
    np.testing.assert_array_equal(out, x + 1)


def test_integer_wrap_and_overlap_as_the_python_path():
    x = np.arange(8, dtype=np.float32)
    out = np.zeros_like(x)
    _warm(axpb, 1.0, x, 1, out)
    axpb(1.0, x, 2**32 + 5, out, device="c")  # wraps to 5, as NumPy converts
    np.testing.assert_array_equal(out, x + 5)
    buf = np.arange(9, dtype=np.float32)
    axpb(2.0, buf[:8], 0, buf[1:], device="c")  # x overlaps out: read from a copy
    np.testing.assert_array_equal(buf, [0, 0, 2, 4, 6, 8, 10, 12, 14])


def test_a_fault_in_a_native_launch_raises(tmp_path, tmp_path_factory):
    script = tmp_path / "fault.py"
    script.write_text(textwrap.dedent("""\
        import numpy as np
        import pxos

        @pxos.kernel
        def smash(a: pxos.Array[pxos.f32, 1], idx: pxos.Array[pxos.i32, 1], k: pxos.i32):
            for i in pxos.parallel(len(idx)):
                a[idx[i] + k] = 1.0

        a = np.zeros(1000, np.float32)
        idx = np.arange(1000, dtype=np.int32)
        for _ in range(5):
            smash(a, idx, 0, device="c")
        print("native", bool(smash._native))
        idx[0] = 2_000_000_000  # the same sizes and scalars: the native launch faults
        try:
            smash(a, idx, 0, device="c")
        except pxos.PxError as e:
            print(type(e).__name__)
        idx[0] = 0
        smash(a, idx, 0, device="c")
        print("after", a.sum())
        """))
    out = run_native_script(script, tmp_path, tmp_path_factory.getbasetemp() / "pxos-cache")
    assert "PxFaultError" in out and "after 1000.0" in out


FLOYD = """GPU_KERNEL fw
    GPU_PARAM d float[,]
    GPU_PARAM k int
GPU_THREAD_CODE:
    THREAD_ID → j, i
    SET via = d[i, k] + d[k, j]
    IF via < d[i, j]:
        STORE via → d[i, j]
GPU_END

ALLOC d float SIZE 40, 40
RANDOM d SEED 7 RANGE 1.0 100.0
FOR k IN 0..{stop}:
    RUN fw d k
"""


def _floyd_run(stop: int):
    from pxos.host.program import ProgramRun
    from pxos.ir.check_host import check_program
    from pxos.lang.px.parser import parse_program

    program = check_program(parse_program(FLOYD.format(stop=stop), "<floyd>"))
    return ProgramRun(program, device="c", emit=lambda s: None)


def test_a_run_in_a_host_loop_goes_native_and_equals_numpy():
    from pxos.host.rng import random_fill

    run = _floyd_run(40).run()
    if all(p.native is None for p in run._run_launches.values()):
        pytest.skip("the native call helper cannot be built here")
    d = np.zeros((40, 40), np.float32)
    random_fill(d, 7, 1.0, 100.0, None)
    for k in range(40):
        np.minimum(d, d[:, k:k + 1] + d[k:k + 1, :], out=d)
    np.testing.assert_array_equal(run.residency.on_host("d"), d)
    assert len(run.steps) == 2 + 40  # every launch still recorded as a step


def test_a_native_run_out_of_bounds_is_refused_at_its_iteration():
    run = _floyd_run(41)
    with pytest.raises(PxBoundsError, match="outside"):
        run.run()
    assert [s.what for s in run.steps].count("RUN") == 40  # k = 40 never ran


SWAPS = """
GPU_KERNEL step
    GPU_PARAM c float
    GPU_PARAM src float[]
    GPU_PARAM dst float[]
GPU_THREAD_CODE:
    THREAD_ID → i
    STORE src[i] * c + 1.0 → dst[i]
GPU_END

ALLOC a float SIZE 8
ALLOC b LIKE a
FILL a 1.0
FOR k IN 0..12:
    RUN step 2.0 a b
    SWAP a b
    IF k == 6:
        FILL b 0.5
        ALLOC a float SIZE 8
"""


def test_a_reused_native_launch_follows_swaps_fills_and_new_arrays():
    # a RUN whose scalars are constants reuses its argument tuple while nothing moved;
    # SWAP and ALLOC move things (new arrays under the names), FILL writes in place
    from pxos.host.program import ProgramRun
    from pxos.ir.check_host import check_program
    from pxos.lang.px.parser import parse_program

    run = ProgramRun(check_program(parse_program(SWAPS, "<swaps>")), device="c",
                     emit=lambda s: None).run()
    if all(p.native is None for p in run._run_launches.values()):
        pytest.skip("the native call helper cannot be built here")
    a, b = np.ones(8, np.float32), np.zeros(8, np.float32)
    for k in range(12):
        b[...] = a * np.float32(2.0) + np.float32(1.0)
        a, b = b, a
        if k == 6:
            b[...] = 0.5
            a = np.zeros(8, np.float32)
    np.testing.assert_array_equal(run.residency.on_host("a"), a)
    np.testing.assert_array_equal(run.residency.on_host("b"), b)


def test_sizes_called_in_turn_are_checked_once_each():
    """A launcher remembers its last ``kept`` checked launches: sizes called in turn run
    the launch check once each (a fifth size pushes the oldest out); with ``kept`` 1, at
    every change."""
    from pxos.host.native_call import launcher

    _warm(axpb, np.float32(1), np.ones(8, np.float32), 1, np.zeros(8, np.float32))
    plan = axpb._native["c"][1]
    for kept, sizes, expect in [(4, (5, 6, 7, 5, 6, 7, 8, 9, 5), [5, 6, 7, 8, 9, 5]),
                                (1, (5, 6, 5, 5), [5, 6, 5])]:
        checked = []
        native = launcher(plan.backend, plan.compiled, plan.kernel,
                          lambda args, threads: checked.append(threads[0]), kept)
        for n in sizes:
            x, out = np.arange(n, dtype=np.float32), np.zeros(n, np.float32)
            assert native((np.float32(2), x, 3, out)) == 0
            np.testing.assert_array_equal(out, 2 * x + 3)
        assert checked == expect
    with pytest.raises(ValueError, match="kept"):
        launcher(plan.backend, plan.compiled, plan.kernel, None, 5)
