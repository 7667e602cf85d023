"""A profiled Kernel call on device arrays, taken in C (issue 20), without a GPU: under
``pxos.profile()``, the Kernel's dispatch in C (``host/native_call``) hands the call to its
prepared device launcher (``host/native_device_call``) with the profile's launch-log
serial once the log noted the launcher, so that no Python frame runs per launch; the
record names the user's line. The driver's launch and event functions are ctypes
stand-ins (``test_native_device_record``'s fixture)."""

from __future__ import annotations

import ctypes
import inspect
import sys
from contextlib import contextmanager
from types import SimpleNamespace

import numpy as np

import pxos
from pxos.host.devicecall import call_key
from pxos.host.native_call import helper
from pxos.host.pykernel import Kernel, _native_class
from tests.host.test_native_device_call import _plan, axpy, module  # noqa: F401
from tests.host.test_native_device_record import driver  # noqa: F401

import pytest


def _kernel(launcher, args) -> Kernel:
    """A Kernel whose prepared call on device ``c`` is ``launcher`` (the stand-in driver's;
    ``c`` is timed by the clock: no CuPy reference event), dispatched in C, else by its
    Python path ``Kernel._call``."""
    if helper() is None:
        pytest.skip("the native call helper cannot be built here")
    kernel, _ = _plan()
    k = pxos.kernel(axpy)
    plan = SimpleNamespace(kernel=kernel, device="c")
    entry = (launcher, "the decision", plan, (1000,))
    k._device_native["c"] = (entry,)
    # a prepared call was made for these arguments (host/devicecall: its function, the
    # decision, its native call), which the Python path takes under a profile
    k._ready = {call_key("c", args): (None, "the decision", entry)}
    k.__class__ = _native_class()
    return k


@contextmanager
def python_calls():
    """A list of the frames of ``Kernel.__call__`` (the Python path) run in the block."""
    served, code = [], Kernel.__call__.__code__

    def seen(frame, event, arg):
        if event == "call" and frame.f_code is code:
            served.append(frame.f_lineno)

    sys.setprofile(seen)
    try:
        yield served
    finally:
        sys.setprofile(None)


def test_a_profiled_device_call_is_launched_from_c_once_noted(module, driver):  # noqa: F811
    calls, launcher, args = driver
    k = _kernel(launcher, args)
    with python_calls() as served, pxos.profile(out=None) as p:
        line = inspect.currentframe().f_lineno + 2
        for _ in range(5):
            k(*args, device="c")
    assert len(served) == 1  # the first call, which noted the launcher; then all in C
    assert [c[0] for c in calls].count("launch") == 5
    (stats,) = p.kernels
    assert (stats.name, stats.device, stats.launches) == ("axpy", "c", 5)
    assert stats.file == __file__ and stats.line == line
    assert k.decision == "the decision"
    with python_calls() as served:
        k(*args, device="c")  # no profile: in C, unrecorded
    assert served == [] and module.recorded_launches() == []


def test_each_profile_notes_the_launcher_once_and_counts_its_own_launches(module, driver):  # noqa: F811
    calls, launcher, args = driver
    k = _kernel(launcher, args)
    with python_calls() as served:
        profiles = []
        for launches in (3, 4):
            with pxos.profile(out=None) as p:
                for _ in range(launches):
                    k(*args, device="c")
            profiles.append(p)
    assert len(served) == 2  # the first call of each profile
    assert [[s.launches for s in p.kernels] for p in profiles] == [[3], [4]]
    assert [c[0] for c in calls].count("launch") == 7


def test_a_launcher_takes_a_serial_call_only_when_that_log_noted_it(module, driver):  # noqa: F811
    calls, launcher, args = driver
    assert launcher(args, 7) == 1  # not recording: not taken
    module.record_launches(True)
    assert launcher(args, 7) == 1  # recording, but no log 7 noted it
    launcher.note(7)
    assert launcher(args, 8) == 1 and calls == []
    line = inspect.currentframe().f_lineno + 1
    assert launcher(args, 7) == 0
    (who, _, _, code, lasti, *_), = module.recorded_launches()
    # from C (no Python frame of the Kernel's): the running frame's line
    assert who is launcher and code is inspect.currentframe().f_code
    assert next(n for a, b, n in code.co_lines() if a <= lasti < b) == line
    with pytest.raises(TypeError):
        launcher(args, 7, 8)
    np.testing.assert_equal([c[0] for c in calls], ["create", "create", "record",
                                                    "launch", "record"])


def test_paced_a_launcher_times_its_first_8_then_one_per_2_sampler_periods(module, driver):  # noqa: F811
    """Paced by the sampler (here the test bumps the epoch), the launches not timed by
    events read no clock either: placed between the timed ones, with no length."""
    calls, launcher, args = driver
    bump = ctypes.c_long.from_address(module.epoch_address())
    module.record_launches(True)
    module.pace(True)
    try:
        for i in range(40):
            if i in (20, 30, 31):
                bump.value += 1
            assert launcher(args) == 0
        found = module.recorded_launches()
    finally:
        module.pace(False)
    timed = [i for i, f in enumerate(found) if f[6] and f[7]]
    # 2 periods after the last timed one (7) at 30; 31 is one period after 30
    assert len(found) == 40 and timed == [0, 1, 2, 3, 4, 5, 6, 7, 30]
    assert all(f[1] == f[2] for i, f in enumerate(found) if i not in timed)
    starts = [f[1] for f in found]
    assert starts == sorted(starts)
    assert [c[0] for c in calls].count("record") == 2 * len(timed)
    module.spare_events([h for i in timed for h in found[i][6:8]])
