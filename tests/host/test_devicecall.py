"""Prepared calls (host/devicecall): a Python kernel called again on CuPy arrays of the same
shapes launches without the general path, and still gives NumPy's results whenever
shapes, scalars, contiguity or threads change. The key itself is tested without a GPU."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import pxos
from pxos.host.devicecall import call_key
from tests.conftest import BACKENDS


class StandIn:
    """A class that reads as a CuPy array to call_key (module ``cupy…``, ``_c_contiguous``)."""

    __module__ = "cupy._standin"
    _c_contiguous = True  # a class attribute in CuPy (a Cython readonly field)

    def __init__(self, shape, dtype=np.float32, contiguous=True):
        self.shape, self.dtype, self._c_contiguous = shape, np.dtype(dtype), contiguous


def test_the_key_tells_apart_everything_the_general_path_decides_on():
    a = StandIn((4,))
    base = call_key(None, (np.float32(2), a))
    assert base == call_key(None, (np.float32(2), StandIn((4,))))  # another array, same key
    others = [call_key(None, (np.float32(3), a)),             # scalar value
              call_key(None, (np.float64(2), a)),             # scalar type
              call_key(None, (np.float32(2), StandIn((5,)))),  # shape
              call_key(None, (np.float32(2), StandIn((4, 1)))),  # rank
              call_key(None, (np.float32(2), StandIn((4,), np.int32))),  # dtype
              call_key(None, (np.float32(2), StandIn((4,), contiguous=False))),
              call_key("cuda", (np.float32(2), a))]           # device=
    assert all(k is not None and k != base for k in others)
    assert len(set(others)) == len(others)
    assert call_key(None, (True, a)) != call_key(None, (1, a))  # equal in Python, not here
    assert call_key(None, (1, a)) != call_key(None, (1.0, a))


def test_host_arrays_and_unknown_objects_take_the_general_path():
    assert call_key(None, (np.zeros(3, np.float32), 2.0)) is None
    assert call_key(None, ([1, 2], StandIn((2,)))) is None



def test_numpy_calls_are_never_prepared():
    @pxos.kernel
    def twice(x: pxos.Array[pxos.f32, 1]):
        for i in pxos.parallel(len(x)):
            x[i] = x[i] * 2

    x = np.arange(5, dtype=np.float32)
    twice(x, device=BACKENDS[0])
    twice(x, device=BACKENDS[0])
    assert not twice._ready
    np.testing.assert_array_equal(x, np.arange(5, dtype=np.float32) * 4)


@pxos.kernel
def axpy(a: pxos.f32, x: pxos.Array[pxos.f32, 1], y: pxos.Array[pxos.f32, 1]):
    for i in pxos.parallel(len(x)):
        y[i] = a * x[i] + y[i]


def cupy_or_skip():
    if "cuda" not in BACKENDS:
        pytest.skip("no cuda backend here")
    return pytest.importorskip("cupy")


def test_repeated_calls_on_cupy_arrays_are_prepared_and_right():
    cp = cupy_or_skip()
    rng = np.random.default_rng(3)
    for n in (1, 31, 1000, 1000, 4097):
        for a in (2.0, np.float32(0.5), 2.0):
            x_host = rng.random(n, dtype=np.float32)
            y_host = rng.random(n, dtype=np.float32)
            x, y = cp.asarray(x_host), cp.asarray(y_host)
            for _ in range(3):
                axpy(a, x, y, device="cuda")  # pinned: the planner may put small n on c
                y_host = np.float32(a) * x_host + y_host
            np.testing.assert_allclose(cp.asnumpy(y), y_host, rtol=1e-6)
    assert axpy._ready  # the later calls took the prepared launch
    y = cp.zeros(4, cp.float32)
    axpy(1.0, cp.ones(4, cp.float32), y, checked=True)  # checked: the general path
    np.testing.assert_array_equal(cp.asnumpy(y), np.ones(4, np.float32))
    with pytest.raises(pxos.PxError, match="C-contiguous"):
        axpy(2.0, cp.zeros(8, cp.float32)[::2], cp.zeros(4, cp.float32))


def test_two_threads_launching_one_kernel_give_each_its_result():
    """Each thread launches the same compiled kernel with its own arrays and scalar, on its
    own stream, many times; a shared parameter buffer would mix them up."""
    cp = cupy_or_skip()
    n, rounds = 4096, 500
    results = {}

    def work(tag: int):
        with cp.cuda.Stream(non_blocking=True):
            x = cp.ones(n, cp.float32)
            y = cp.zeros(n, cp.float32)
            for _ in range(rounds):
                axpy(np.float32(tag), x, y, device="cuda")
            results[tag] = cp.asnumpy(y)
    threads = [threading.Thread(target=work, args=(tag,)) for tag in (1, 3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for tag in (1, 3):
        np.testing.assert_array_equal(results[tag], np.full(n, tag * rounds, np.float32))


@pxos.kernel
def scale(a: pxos.f32, x: pxos.Array[pxos.f32, 1], y: pxos.Array[pxos.f32, 1]):
    for i in pxos.parallel(len(x)):
        y[i] = a * x[i]


def test_the_native_prepared_call_takes_only_calls_that_match_it():
    """host/native_device_call: the launcher made at the first prepared call launches
    other arrays of the same class, dtype and shape with the same scalar, and refuses (1,
    nothing launched) anything else, which the Python path then serves."""
    cp = cupy_or_skip()
    from pxos.host import native_device_call

    if native_device_call._native_module() is None:
        pytest.skip("no C compiler or Python headers for the helper here")
    x, y = cp.arange(10, dtype=cp.float32), cp.zeros(10, cp.float32)
    for _ in range(2):
        scale(np.float32(2), x, y, device="cuda")
    launcher = scale._device_native["cuda"][0][0]  # the last prepared one's
    x2, y2 = cp.arange(10, 20, dtype=cp.float32), cp.zeros(10, cp.float32)
    assert launcher((np.float32(2), x2, y2)) == 0
    np.testing.assert_array_equal(cp.asnumpy(y2), 2 * np.arange(10, 20, dtype=np.float32))
    refused = [(np.float32(3), x2, y2), (2.0, x2, y2), (np.float32(2), x2[:5], y2[:5]),
               (np.float32(2), x2[::2], y2[::2]), (np.float32(2), x2.astype(cp.float64), y2),
               (np.float32(2), cp.asnumpy(x2), y2), (np.float32(2), x2), ()]
    y2[...] = -1
    for args in refused:
        assert launcher(args) == 1
    cp.cuda.Device().synchronize()
    assert bool((y2 == -1).all())  # nothing ran
    other = []
    thread = threading.Thread(target=lambda: other.append(launcher((np.float32(2), x2, y2))))
    thread.start()
    thread.join()
    assert other == [1]
    scale(np.float32(3), x2, y2, device="cuda")  # the Python path, then prepared
    scale(np.float32(3), x2, y2, device="cuda")
    np.testing.assert_array_equal(cp.asnumpy(y2), 3 * np.arange(10, 20, dtype=np.float32))
