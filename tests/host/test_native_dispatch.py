"""A ``@pxos.kernel`` whose call signature went native is called in C (``host/native_call``'s
``Dispatch``): its results equal NumPy's, every call the C path does not take goes the
Python way with the same results and errors as a kernel that never went native, and two
threads may call one kernel at once."""

from __future__ import annotations

import pickle
import threading

import numpy as np
import pytest

import pxos
from pxos.errors import PxError
from pxos.host.native_call import AFTER_CALLS
from pxos.host.pykernel import Kernel
from tests.conftest import BACKENDS

pytestmark = pytest.mark.skipif("c" not in BACKENDS, reason="no C compiler here")


def axpb(a: pxos.f32, x: pxos.Array[pxos.f32, 1], b: pxos.i32, out: pxos.Array[pxos.f32, 1]):
    for i in pxos.parallel(len(x)):
        out[i] = a * x[i] + b


def _native(device: str | None = "c") -> Kernel:
    """A fresh kernel of ``axpb``, warmed until its calls go native (else skipped)."""
    k = pxos.kernel(axpb)
    x = np.ones(8, np.float32)
    k(np.float32(1), x, 1, np.empty_like(x), device="c")  # built: auto charges c no build
    for _ in range(AFTER_CALLS + 1):
        k(np.float32(1), x, 1, np.empty_like(x), **({} if device is None else
                                                    {"device": device}))
    if type(k) is Kernel:
        pytest.skip("the native call helper cannot be built here (no Python.h?)")
    return k


def _python(monkeypatch) -> Kernel:
    """A fresh kernel of ``axpb`` that never goes native (the reference path)."""
    monkeypatch.setenv("PXOS_NATIVE_CALL", "0")
    k = pxos.kernel(axpb)
    x = np.ones(8, np.float32)
    for _ in range(AFTER_CALLS + 1):
        k(np.float32(1), x, 1, np.empty_like(x), device="c")
    assert type(k) is Kernel
    monkeypatch.delenv("PXOS_NATIVE_CALL")
    return k


def test_a_native_kernel_is_still_a_kernel_and_pickles():
    k = _native()
    assert isinstance(k, Kernel) and type(k) is not Kernel
    assert type(k).__call__ is not Kernel.__call__  # the helper's call, in C
    assert k.__name__ == "axpb" and k.ir is not None
    again = pickle.loads(pickle.dumps(k))  # pxos.dask sends kernels to workers
    x = np.arange(5, dtype=np.float32)
    out = np.zeros_like(x)
    again(np.float32(2), x, 3, out, device="c")
    np.testing.assert_array_equal(out, np.float32(2) * x + 3)


@pytest.mark.parametrize("device", ["c", None])
def test_native_calls_equal_numpy_as_values_and_sizes_change(device):
    k = _native(device)
    kw = {} if device is None else {"device": device}
    rng = np.random.default_rng(1)
    for n in (1000, 17, 5000, 0):  # 5000: the GIL released around the kernel
        x = rng.random(n, dtype=np.float32)
        out = np.zeros_like(x)
        for a, b in [(np.float32(2.5), 3), (1.25, -7), (np.float64(0.1), np.int64(-5)),
                     (True, np.int16(9)), (np.float32(-1), 2**31 - 1)]:
            k(a, x, b, out, **kw)
            np.testing.assert_array_equal(out, np.float32(a) * x + np.float32(b))


CASES = [  # arguments the C path does not take, or refuses: the Python path's answer
    lambda x, o: ((1.0, x, 2**32 + 5, o), {}),  # wraps as NumPy converts
    lambda x, o: ((1.0, x, 1.5, o), {}),  # a float for an i32 parameter
    lambda x, o: ((1.0, x.astype(np.float64), 1, o), {}),  # another dtype: a new plan
    lambda x, o: ((1.0, x[::2], 1, o[:32]), {}),  # not contiguous
    lambda x, o: ((1.0, x, 1, o[:10]), {}),  # out too short: a bounds error
    lambda x, o: ((1.0, x, 1, o), {"threads": 16}),  # another keyword
    lambda x, o: ((1.0, x, 1, o), {"checked": True}),
    lambda x, o: ((1.0, x, 1), {}),  # too few arguments
    lambda x, o: ((1.0, x.tolist(), 1, o), {}),  # a list
    lambda x, o: ((1.0, x, 1, o), {"device": "interp"}),  # another device
    lambda x, o: ((1.0, x, 1, o), {"device": 3}),  # a device that is no name
    lambda x, o: ((1.0, x, 1, o), {"bogus": 1}),
]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_what_the_c_path_does_not_take_goes_the_python_way(monkeypatch, case):
    results = []
    for k in (_python(monkeypatch), _native()):
        x = np.arange(64, dtype=np.float32)
        out = np.full(64, -1, np.float32)
        args, kw = CASES[case](x, out)
        kw = {"device": "c", **kw}
        try:
            k(*args, **kw)
            results.append(("ok", out.tolist()))
        except (PxError, TypeError) as e:
            results.append((type(e).__name__, str(e)))
    assert results[0] == results[1]
    k = _native()  # and after such a call the native path still serves
    x = np.arange(64, dtype=np.float32)
    out = np.zeros_like(x)
    k(1.0, x, 2, out, device="c")
    np.testing.assert_array_equal(out, x + 2)


def test_a_listener_sees_the_python_path():
    from pxos import events

    k = _native()
    seen = []

    class Listener:
        def begin(self, kind, name, device, span, info):
            seen.append((kind, name, device))
            return None

        def end(self, mark, result=None):
            pass

    listener = Listener()
    events.subscribe(listener)
    try:
        x = np.arange(8, dtype=np.float32)
        out = np.zeros_like(x)
        k(1.0, x, 1, out, device="c")
    finally:
        events.unsubscribe(listener)
    assert ("launch", "axpb", "c") in seen
    np.testing.assert_array_equal(out, x + 1)


def test_two_threads_call_one_kernel_at_once():
    k = _native()
    errors = []

    def work(seed: int, n: int):
        try:
            x = np.random.default_rng(seed).random(n, dtype=np.float32)
            out = np.empty_like(x)
            for i in range(300):
                k(np.float32(i), x, seed, out, device="c")
                np.testing.assert_array_equal(out, np.float32(i) * x + np.float32(seed))
        except Exception as e:  # noqa: BLE001  (handed to the main thread to fail on)
            errors.append(e)

    threads = [threading.Thread(target=work, args=(s, n))
               for s, n in ((1, 5000), (2, 9000), (3, 64))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


def test_under_auto_new_sizes_are_placed_and_launched_in_c(monkeypatch):
    """Under the planner a launch of new sizes asks it again (they may change the device):
    placed on the native launcher's device, it runs in C with its decision, which the
    launcher keeps for those sizes; placed elsewhere, the Python path runs it there; a
    launch out of bounds is refused."""
    k = _native(None)
    placed, python = [], []
    real_place, real_call = k._placement, Kernel._call
    where = ["c"]

    def place(args, device, *rest):
        placed.append(len(args[1]))
        real_place(args, device, *rest)
        return where[0], True
    monkeypatch.setattr(k, "_placement", place)
    monkeypatch.setattr(Kernel, "_call", lambda self, *a, **kw: python.append(1) or
                        real_call(self, *a, **kw))
    decided = []
    for n in (9, 10, 9, 10):
        x = np.arange(n, dtype=np.float32)
        out = np.zeros_like(x)
        k(np.float32(2), x, 1, out)
        np.testing.assert_array_equal(out, 2 * x + 1)
        decided.append(k.decision)
    assert placed == [9, 10] and python == []  # sizes seen again: kept with the launcher
    assert decided[0] is decided[2] and decided[1] is decided[3]
    assert decided[0] is not decided[1] and decided[0].device == "c"
    where[0] = "interp"  # the planner puts size 11 elsewhere
    x = np.arange(11, dtype=np.float32)
    out = np.zeros_like(x)
    k(np.float32(2), x, 1, out)
    np.testing.assert_array_equal(out, 2 * x + 1)
    assert python == [1] and set(placed[2:]) == {11}
    assert any(key[0] == "interp" for key in k._plans)  # where the Python path ran it
    where[0] = "c"
    with pytest.raises(PxError, match="out of bounds|bounds"):
        k(np.float32(2), np.arange(12, dtype=np.float32), 1, np.zeros(6, np.float32))


def test_a_kernel_gone_native_under_auto_is_freed():
    """Its launcher's check (kept by the kernel) holds the kernel weakly: the C launcher
    is no object the cycle collector follows, so a strong reference would keep it."""
    import gc
    import weakref

    ref = weakref.ref(_native(None))
    gc.collect()
    assert ref() is None
