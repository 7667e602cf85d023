"""Launch checks (ir/analysis/bounds): an affine access that some thread of a launch would
make outside its array refuses the launch before it runs, on every compiling backend and
from `.px` RUN, run_kernel and Python calls alike; guarded accesses and in-bounds
launches run as before, with results equal to NumPy's."""

from __future__ import annotations

import numpy as np
import pytest

import pxos
from pxos.errors import PxBoundsError
from pxos.host.launch import run_kernel
from pxos.host.program import ProgramRun
from pxos.ir.analysis.bounds import launch_checker
from pxos.ir.check_host import check_program
from pxos.lang.px.parser import parse_program
from pxos.testing import for_each_backend


COPY = """\
GPU_KERNEL copy
    GPU_PARAM src float[]
    GPU_PARAM dst float[]
GPU_THREAD_CODE:
    THREAD_ID → i
    STORE src[i] * 2.0 → dst[i]
GPU_END
"""
GUARDED = """\
GPU_KERNEL shift
    GPU_PARAM src float[]
    GPU_PARAM dst float[]
GPU_THREAD_CODE:
    THREAD_ID → i
    IF i >= LEN(dst) - 1:
        RETURN
    STORE src[i + 1] → dst[i]
GPU_END
"""
GRID = """\
GPU_KERNEL fill
    GPU_PARAM w int
    GPU_PARAM img float[]
GPU_THREADS 8, 6
GPU_THREAD_CODE:
    THREAD_ID → x, y
    IF x < w AND y < 6:
        STORE 1.0 → img[y * w + x]
GPU_END
"""


def kernel(src: str):
    return check_program(parse_program(src, "t.px")).kernels[0]


@for_each_backend(require=("compiled",), argname="device")
def test_output_shorter_than_the_launch_is_refused(device):
    k = kernel(COPY)
    src, dst = np.ones(1000, np.float32), np.zeros(10, np.float32)
    with pytest.raises(PxBoundsError) as err:
        run_kernel(device, k, [src, dst], [1000])
    assert ("a launch of 1000 threads would index array 'dst' at 999 (thread 999), outside "
            "its extent 10; the launch was refused") in err.value.message
    assert err.value.span.line == 6 and not dst.any()  # nothing ran


@for_each_backend(require=("compiled",), argname="device")
def test_empty_output_with_threads_is_refused(device):
    with pytest.raises(PxBoundsError, match="'dst' at 0 .* extent 0"):
        run_kernel(device, kernel(COPY), [np.ones(1000, np.float32),
                                          np.zeros(0, np.float32)], [1000])


@for_each_backend(argname="device")
def test_guarded_accesses_run_and_match_numpy(device):
    src = np.arange(100, dtype=np.float32)
    dst = np.zeros(40, np.float32)  # shorter than src: the guard keeps i < 39
    run_kernel(device, kernel(GUARDED), [src, dst], [100])
    np.testing.assert_array_equal(dst[:39], src[1:40])
    img = np.zeros(5 * 6, np.float32)  # w = 5 of 8 threads per row
    run_kernel(device, kernel(GRID), [np.int32(5), img], [8, 6])
    np.testing.assert_array_equal(img, np.ones(30, np.float32))


@for_each_backend(require=("compiled",), argname="device")
def test_guard_that_lets_too_many_threads_through_is_refused(device):
    img = np.zeros(5 * 5, np.float32)  # 6 rows are written
    with pytest.raises(PxBoundsError, match=r"'img' at 25 \(thread \(x=0, y=5\)\).* 25"):
        run_kernel(device, kernel(GRID), [np.int32(5), img], [8, 6])


@for_each_backend(require=("compiled",), argname="device")
def test_px_run_is_refused_with_the_run_line(device):
    prog = check_program(parse_program(COPY + "ALLOC a float SIZE 100\nALLOC b float SIZE 99\n"
                                       "RUN copy a b\n", "t.px"))
    with pytest.raises(PxBoundsError, match="'dst' at 99 .* extent 99"):
        ProgramRun(prog, device=device).run()


@pxos.kernel
def twice(x: pxos.Array[pxos.f32, 1], out: pxos.Array[pxos.f32, 1]):
    for i in pxos.parallel(len(x)):
        out[i] = x[i] * 2.0


@for_each_backend(require=("compiled",), argname="device")
def test_python_call_with_a_short_output_is_refused(device):
    x, out = np.ones(1000, np.float32), np.zeros(10, np.float32)
    with pytest.raises(PxBoundsError, match="'out' at 999") as err:
        twice(x, out, device=device)
    assert err.value.span.file == __file__ and not out.any()
    with pytest.raises(PxBoundsError, match="'out' at 0 .* extent 0"):
        twice(x, np.zeros(0, np.float32), device=device)
    out = np.zeros(1000, np.float32)
    twice(x, out, device=device)
    np.testing.assert_array_equal(out, x * 2)


def test_checks_are_made_once_per_kernel():
    k = kernel(COPY)
    assert launch_checker(k) is launch_checker(k)
    launch_checker(k)([np.ones(5), np.ones(5)], (5,))  # fits: no error
    launch_checker(k)([np.ones(5), np.ones(0)], (0,))  # no threads: nothing to check


GATHER = """\
GPU_KERNEL pick
    GPU_PARAM x float[]
    GPU_PARAM idx int[]
    GPU_PARAM out float[]
GPU_THREADS LEN(out)
GPU_THREAD_CODE:
    THREAD_ID → i
    STORE x[idx[i]] → out[i]
GPU_END

ALLOC x float SIZE 10
ALLOC idx int SIZE 4
FILL idx 12
ALLOC out float SIZE 4
RUN pick x idx out
"""


@for_each_backend(argname="device")
def test_pxos_checked_environment_checks_px_runs(device, monkeypatch):
    monkeypatch.setenv("PXOS_CHECKED", "1")
    prog = check_program(parse_program(GATHER, "t.px"))
    with pytest.raises(PxBoundsError, match="index 12 is out of bounds of array 'x'") as err:
        ProgramRun(prog, device=device).run()
    assert err.value.span.line == 8


CAREFUL = """\
GPU_KERNEL careful
    GPU_PARAM a float[]
    GPU_PARAM out float[]
GPU_THREADS 100
GPU_THREAD_CODE:
    THREAD_ID → i
    SET j = i
    IF j >= LEN(out):
        SET j = LEN(out) - 1
    IF i >= 0:
        STORE a[j] → out[j]
    ELIF a[i + 1000] > 0.0:
        STORE 0.0 → out[i + 1000]
    WHILE i > 1000:
        STORE 1.0 → out[i]
        BREAK
GPU_END
"""


@for_each_backend(argname="device")
def test_what_may_not_run_is_not_refused(device):
    """Clamped indices, an ELIF that no thread reaches, a loop that never runs: in bounds
    at run time, so the launch runs (no false refusal) and matches NumPy."""
    a = np.arange(1, 11, dtype=np.float32)
    out = np.zeros(10, np.float32)
    run_kernel(device, kernel(CAREFUL), [a, out], [100])
    np.testing.assert_array_equal(out, a)


ROWSUM = """\
GPU_KERNEL rowsum
    GPU_PARAM n int
    GPU_PARAM m float[]
    GPU_PARAM out float[]
GPU_THREADS LEN(out)
GPU_THREAD_CODE:
    THREAD_ID → i
    SET acc = 0.0
    FOR k IN 0..n + EXTRA:
        IF k >= n:
            CONTINUE
        SET at = i * n + k
        SET acc = acc + m[at]
    FOR k2 IN 0..n + 100 STEP 2:
        IF k2 >= n:
            BREAK
        SET acc = acc + 0.0 * m[i * n + k2]
    STORE acc → out[i]
GPU_END
"""


@for_each_backend(argname="device")
def test_loops_with_uniform_bounds_are_checked(device):
    """A FOR over a uniform range is an axis of its own: past the end refused; a CONTINUE
    guard narrows it; a loop with a BREAK (not every iteration runs) is not checked."""
    m = np.arange(12, dtype=np.float32)  # 3 rows of 4
    out = np.zeros(3, np.float32)
    run_kernel(device, kernel(ROWSUM.replace("EXTRA", "3")), [np.int32(4), m, out], [3])
    np.testing.assert_array_equal(out, m.reshape(3, 4).sum(axis=1))
    if device != "interp":
        with pytest.raises(PxBoundsError, match="'m' at 12 .* extent 12") as err:
            run_kernel(device, kernel(ROWSUM.replace("EXTRA", "1").replace("k >= n", "k > n")),
                       [np.int32(4), m, out], [3])
        assert err.value.span.line == 13


TILE = """\
GPU_KERNEL tiled
    GPU_PARAM a float[]
    GPU_PARAM b float[]
GPU_BLOCK 64
GPU_SHARED_MEM tile float 64
GPU_THREAD_CODE:
    THREAD_ID → i
    LOCAL_ID → l
    STORE a[i] → tile[l + SHIFT]
    SYNC_THREADS
    IF l >= SHIFT:
        STORE tile[l] → b[i]
GPU_END
"""


@for_each_backend(argname="device")
def test_shared_memory_indices_are_checked_against_their_size(device):
    a = np.arange(256, dtype=np.float32)
    b = np.zeros(256, np.float32)
    run_kernel(device, kernel(TILE.replace("SHIFT", "0")), [a, b], [256])
    np.testing.assert_array_equal(b, a)
    if device != "interp":
        with pytest.raises(PxBoundsError, match="'tile' at 64 .* extent 64") as err:
            run_kernel(device, kernel(TILE.replace("SHIFT", "1")), [a, b], [256])
        assert err.value.span.line == 9


CLAMPED = """\
GPU_KERNEL clamped
    GPU_PARAM a float[]
    GPU_PARAM out float[]
GPU_THREAD_CODE:
    THREAD_ID → i
    STORE a[(i * 65536) * 65536] + 1.0 → out[min(i + SHIFT, LEN(out) - 1 + SLACK)]
GPU_END
"""


@for_each_backend(argname="device")
def test_indices_follow_c_arithmetic_at_the_corners(device):
    """min/max (and / %) are evaluated where the launch surely goes; i32 arithmetic wraps
    as in C, so (i * 65536) * 65536 is 0 for every thread and is not refused."""
    a, out = np.full(100, 2.0, np.float32), np.zeros(100, np.float32)
    run_kernel(device, kernel(CLAMPED.replace("SHIFT", "2").replace("SLACK", "0")),
               [a, out], [100])
    want = np.zeros(100, np.float32)
    want[2:] = 3.0
    np.testing.assert_array_equal(out, want)
    if device != "interp":
        with pytest.raises(PxBoundsError, match="'out' at 100 .* extent 100"):
            run_kernel(device, kernel(CLAMPED.replace("SHIFT", "2").replace("SLACK", "1")),
                       [a, out], [100])
