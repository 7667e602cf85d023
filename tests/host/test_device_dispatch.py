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
    k._device_native["c"] = ((launcher, "the decision", None, (8,)),)  # pinned: no planner
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


def test_each_kept_device_launcher_is_tried_in_turn_in_c():
    k, refusing = _kernel(NOT_TAKEN)
    taking = StandIn(LAUNCHED)
    k._device_native["c"] += ((taking, "the second decision", None, (8,)),)
    args = (np.float32(3), np.ones(8, np.float32), np.zeros(8, np.float32))
    assert k(*args, device="c") is None
    assert len(refusing.calls) == 1 and len(taking.calls) == 1
    assert all(a is b for a, b in zip(taking.calls[0], args))
    assert k.decision == "the second decision"
    assert not args[2].any()  # the second stand-in took it: the Python path did not run


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


class Prepared:
    """Stands in for ``host/devicecall``'s ``prepare`` (on ``interp``, NumPy arrays): each
    signature's Python prepared call and native launcher record what they serve; the
    launcher takes a call only with its own scalar (class and value), as the C one does."""

    def __init__(self):
        self.python, self.native = [], []

    def key(self, device, args):
        return device, type(args[0]), args[0]

    def prepare(self, plan, args, launch):
        mine = type(args[0]), args[0]

        def call(given):
            self.python.append(mine)

        def native(given):
            if (type(given[0]), given[0]) != mine:
                return NOT_TAKEN
            self.native.append(mine)
            return LAUNCHED
        return call, native


def test_signatures_called_in_turn_each_keep_their_native_call(monkeypatch):
    """Two signatures of one device= called in turn (issue 14: ``auto`` with a NumPy and a
    Python scalar) are both served in C, not only the one prepared last; a signature
    dropped from the kept few comes back first at its next call."""
    if helper() is None:
        pytest.skip("the native call helper cannot be built here")
    from pxos.host import devicecall, pykernel

    fake = Prepared()
    monkeypatch.setattr(pykernel, "prepare", fake.prepare)
    monkeypatch.setattr(pykernel, "call_key", fake.key)
    k = pxos.kernel(scale)
    x = np.arange(8, dtype=np.float32)
    out = np.zeros_like(x)
    k(np.float32(3), x, out, device="interp")  # the general path, then prepared
    k(2.0, x, out, device="interp")
    np.testing.assert_array_equal(out, 2 * x)  # two launches that ran
    for _ in range(3):
        k(np.float32(3), x, out, device="interp")
        k(2.0, x, out, device="interp")
    assert fake.python == []  # every later call in C
    assert fake.native == [(np.float32, 3), (float, 2.0)] * 3
    np.testing.assert_array_equal(out, 2 * x)  # the stand-ins launched nothing
    for a in range(devicecall.KEPT + 1):
        k(a, x, out, device="interp")
    kept = k._device_native["interp"]
    assert len(kept) == devicecall.KEPT
    k(np.float32(3), x, out, device="interp")  # no longer kept: the Python path's lookup
    assert fake.native[-1] == (np.float32, 3) and fake.python == []
    assert len(k._device_native["interp"]) == devicecall.KEPT
    assert k._device_native["interp"][1:] == kept[:-1]
