"""A Kernel's prepared call on device arrays, taken in C by ``host/native_call``'s
``Dispatch`` (without a GPU: a stand-in for the ``host/native_device_call`` launcher that
records what it is given). The C path hands the launcher the call's own argument tuple and
makes its decision the Kernel's; a listener, another keyword, or a launch the launcher
does not take goes the Python way, whose results equal NumPy's."""

from __future__ import annotations

import numpy as np
import pytest

import pxos
from pxos import events
from pxos.host.native_call import LAUNCHED, NOT_TAKEN, helper
from pxos.host.pykernel import Kernel, _native_class
from tests.conftest import BACKENDS

pytestmark = pytest.mark.skipif("c" not in BACKENDS, reason="no C compiler here")


def scale(a: pxos.f32, x: pxos.Array[pxos.f32, 1], out: pxos.Array[pxos.f32, 1]):
    for i in pxos.parallel(len(x)):
        out[i] = a * x[i]


class StandIn:
    """Takes the place of a DeviceLauncher: returns ``answer``, records each tuple."""

    def __init__(self, answer: int):
        self.answer, self.calls = answer, []

    def __call__(self, args):
        self.calls.append(args)
        return self.answer


def _kernel(answer: int) -> tuple[Kernel, StandIn]:
    if helper() is None:
        pytest.skip("the native call helper cannot be built here")
    k = pxos.kernel(scale)
    launcher = StandIn(answer)
    k._device_native["c"] = (launcher, "the decision", None, (8,))  # pinned: no planner
    k.__class__ = _native_class()
    return k, launcher


def test_a_prepared_device_call_is_launched_from_c_with_its_own_arguments():
    k, launcher = _kernel(LAUNCHED)
    args = (np.float32(3), np.ones(8, np.float32), np.zeros(8, np.float32))
    assert k(*args, device="c") is None
    assert len(launcher.calls) == 1 and launcher.calls[0] == args
    assert all(a is b for a, b in zip(launcher.calls[0], args))
    assert k.decision == "the decision"
    assert not args[2].any()  # the stand-in launched nothing: the Python path did not run


def test_what_the_device_launcher_does_not_take_goes_the_python_way():
    k, launcher = _kernel(NOT_TAKEN)
    x = np.arange(8, dtype=np.float32)
    out = np.zeros_like(x)
    k(np.float32(3), x, out, device="interp")  # another device= than the prepared one
    assert launcher.calls == []
    np.testing.assert_array_equal(out, 3 * x)
    out[:] = 0
    k(np.float32(2), x, out, device="c")  # the prepared one's, refused: the general path
    assert len(launcher.calls) >= 1
    np.testing.assert_array_equal(out, 2 * x)


def test_a_listener_sees_the_python_path():
    k, launcher = _kernel(LAUNCHED)
    seen = []

    class Listener:
        def begin(self, kind, name, device, span, info):
            seen.append(kind)

        def end(self, mark, result=None):
            pass

    listener = Listener()
    events.subscribe(listener)
    try:
        x = np.arange(8, dtype=np.float32)
        out = np.zeros_like(x)
        k(np.float32(2), x, out, device="c")
    finally:
        events.unsubscribe(listener)
    assert launcher.calls == [] and "launch" in seen
    np.testing.assert_array_equal(out, 2 * x)
