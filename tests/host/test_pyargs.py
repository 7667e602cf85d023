"""Python kernel calls refuse bad arguments by name, before anything runs, on every
backend; checked mode (decorator, per call, PXOS_CHECKED=1) reports an out-of-bounds
access at its Python line; overlapping inputs read the values from before the call."""

from __future__ import annotations

import numpy as np
import pytest

import pxos
from pxos.errors import (
    PxArgumentError, PxBoundsError, PxShapeError, PxSyntaxError, PxTypeError,
)
from pxos.ir.analysis.features import MAX_ELEMENTS
from tests.conftest import BACKENDS


@pxos.kernel
def scaled(x: pxos.Array[pxos.f32, 1], k: pxos.i32, out: pxos.Array[pxos.f32, 1]):
    for i in pxos.parallel(len(x)):
        out[i] = x[i] * k


@pxos.kernel
def blur3(src: pxos.Array[pxos.f32, 1], dst: pxos.Array[pxos.f32, 1]):
    for i in pxos.parallel(len(dst) - 2):
        dst[i + 1] = (src[i] + src[i + 1] + src[i + 2]) / 3.0


@pxos.kernel
def gather(x: pxos.Array[pxos.f32, 1], idx: pxos.Array[pxos.i32, 1],
           out: pxos.Array[pxos.f32, 1]):
    for i in pxos.parallel(len(out)):
        out[i] = x[idx[i]]  # not affine: only checked mode sees a bad index


def ones(n=100):
    return np.ones(n, np.float32)


def test_read_only_outputs_are_refused(backend, tmp_path):
    x = ones()
    ro = ones()
    ro.flags.writeable = False
    mm = np.lib.format.open_memmap(tmp_path / "m.npy", mode="w+", dtype=np.float32,
                                   shape=(100,))
    del mm
    mapped = np.load(tmp_path / "m.npy", mmap_mode="r")
    frozen = np.frombuffer(bytes(400), np.float32)
    for out in (ro, mapped, frozen):
        with pytest.raises(PxArgumentError, match="argument 'out' is read-only"):
            scaled(x, 2, out, device=backend)
    scaled(ro, 2, np.zeros(100, np.float32), device=backend)  # read-only inputs are fine


def test_scalars_follow_same_kind_casting(backend):
    x, out = ones(), np.zeros(100, np.float32)
    for bad in (2.7, float("nan"), np.float32(2.0), "2"):
        with pytest.raises(PxArgumentError, match="argument 'k'"):
            scaled(x, bad, out, device=backend)
    scaled(x, np.int8(3), out, device=backend)
    np.testing.assert_array_equal(out, x * 3)
    scaled(x, True, out, device=backend)
    np.testing.assert_array_equal(out, x)


@pytest.mark.parametrize("threads", [2**32 + 10, 10**12, -1, (2**16, 2**16)])
def test_thread_limits_are_those_of_px(threads):
    @pxos.kernel
    def touch(x: pxos.Array[pxos.f32, 1]):
        i = pxos.thread_id()
        if i < len(x):
            x[i] = 1.0
    with pytest.raises(PxArgumentError, match=f"0..{MAX_ELEMENTS}"):
        touch(ones(), threads=threads)


@pytest.mark.parametrize("threads", [2.5, "a", None.__class__])
def test_thread_counts_must_be_integers(threads):
    with pytest.raises(PxArgumentError, match="expected an int"):
        scaled(ones(), 1, ones(), threads=threads)


def test_an_array_over_the_element_limit_is_refused():
    if "c" not in BACKENDS:
        pytest.skip("no C compiler here")
    big = np.empty(2**31 + 16, np.uint8)  # never touched: no memory is used

    @pxos.kernel
    def first(x: pxos.Array[pxos.u8, 1]):
        for i in pxos.parallel(1):
            x[i] = 1
    with pytest.raises(PxArgumentError, match=f"argument 'x' has {2**31 + 16} elements"):
        first(big, device="c")


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")  # numpy.matrix
def test_argument_errors_name_the_argument(backend):
    x = ones()
    with pytest.raises(PxArgumentError, match=r"argument 'x' is a list; pass "
                                              r"numpy.asarray\(x\)"):
        scaled([1.0, 2.0], 1, x, device=backend)
    with pytest.raises(PxArgumentError, match="argument 'x' is a numpy.matrix"):
        scaled(np.matrix(x), 1, x, device=backend)
    masked = np.ma.masked_array(x, mask=np.arange(x.size) % 2 == 0)
    with pytest.raises(PxArgumentError, match=r"argument 'x' is a masked array.*x\.filled"):
        scaled(masked, 1, x, device=backend)  # its mask would be ignored
    with pytest.raises(PxArgumentError, match=r"argument 'x'.*C-contiguous.*"
                                              r"ascontiguousarray\(x\)"):
        scaled(np.ones(200, np.float32)[::2], 1, x, device=backend)
    with pytest.raises(PxTypeError, match=r"argument 'x': expected f32\[\], got f64\[\]") \
            as err:
        scaled(x.astype(np.float64), 1, x, device=backend)
    assert "astype(numpy.float32)" in err.value.hint
    with pytest.raises(PxArgumentError, match="expected a 1-D array") as err:
        scaled(np.ones((10, 10), np.float32), 1, x, device=backend)
    assert "reshape" in err.value.hint and "astype" not in err.value.hint
    with pytest.raises(PxShapeError):
        scaled(np.ones((2,) * 4, np.float32), 1, x, device=backend)


def test_not_a_function_is_refused():
    import functools
    for fn in (len, functools.partial(scaled.fn, ones())):
        with pytest.raises(PxTypeError, match="needs a Python function"):
            pxos.kernel(fn)


def test_asarray_takes_a_numpy_scalar_type():
    a = pxos.asarray([1.0, 2.0], dtype=np.float32)
    assert a.numpy().dtype == np.float32 and a.numpy().tolist() == [1.0, 2.0]
    with pytest.raises(PxArgumentError, match="not a data type"):
        pxos.asarray([1.0], dtype="no-such-type")


def test_in_place_stencil_reads_the_values_from_before_the_call(backend):
    rng = np.random.default_rng(1)
    a = rng.random(1000, dtype=np.float32)
    want = a.copy()
    want[1:-1] = (a[:-2] + a[1:-1] + a[2:]) / np.float32(3.0)
    blur3(a, a, device=backend)  # the same array in and out
    np.testing.assert_allclose(a, want, rtol=1e-6)
    b = rng.random(1000, dtype=np.float32)
    want = b.copy()
    want[1:-1] = (b[:-2] + b[1:-1] + b[2:]) / np.float32(3.0)
    view = b[:]
    blur3(view, b, device=backend)  # an overlapping view
    np.testing.assert_allclose(b, want, rtol=1e-6)


def test_two_overlapping_outputs_are_refused(backend):
    @pxos.kernel
    def both(a: pxos.Array[pxos.f32, 1], b: pxos.Array[pxos.f32, 1]):
        for i in pxos.parallel(len(a)):
            a[i] = 1.0
            b[i] = 2.0
    x = np.zeros(200, np.float32)
    with pytest.raises(PxArgumentError, match="'a' and 'b' overlap"):
        both(x[:100], x[50:150], device=backend)


def test_loop_over_range_without_parallel_is_refused():
    @pxos.kernel
    def inc(x: pxos.Array[pxos.f32, 1], n: pxos.i32):
        for i in range(n):
            x[i] += 1.0
    with pytest.raises(PxSyntaxError, match="no pxos.parallel loop") as err:
        inc(np.zeros(1000, np.float32), 1000)
    assert err.value.span.file == __file__ and "for i in range(n)" in err.value.span.text
    assert "pxos.parallel(n)" in err.value.hint


def _bad_index():
    return ones(10), np.array([0, 3, 12, 1], np.int32), np.zeros(4, np.float32)


def _line_of(fn, text: str) -> int:
    import inspect
    lines, first = inspect.getsourcelines(fn.fn)
    return first + next(i for i, ln in enumerate(lines) if text in ln)


def test_checked_per_call_reports_the_python_line(backend):
    with pytest.raises(PxBoundsError, match="index 12 is out of bounds of array 'x'") as err:
        gather(*_bad_index(), device=backend, checked=True)
    assert err.value.span.file == __file__
    assert err.value.span.line == _line_of(gather, "out[i] = x[idx[i]]")


def test_checked_decorator_and_environment(backend, monkeypatch):
    checked = pxos.kernel(gather.fn, checked=True)
    with pytest.raises(PxBoundsError, match="index 12"):
        checked(*_bad_index(), device=backend)
    monkeypatch.setenv("PXOS_CHECKED", "1")
    with pytest.raises(PxBoundsError, match="index 12"):
        gather(*_bad_index(), device=backend)
    x, idx, out = _bad_index()
    idx[2] = 9
    gather(x, idx, out, device=backend)  # in bounds, checked: the right result
    np.testing.assert_array_equal(out, x[idx])
