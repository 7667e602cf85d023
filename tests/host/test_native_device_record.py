"""The native device launcher's profiled launch, without a GPU: while the profiler records
(``native_device_call.record_launches``), a launch records a CUDA event on its stream right
before ``cuLaunchKernel`` and one right after (so the kernel's device time has no host work
in it), and keeps the launch in C with its stream, events, clock readings and calling line.
The driver's launch and event functions are ctypes stand-ins logging the order of calls."""

from __future__ import annotations

import ctypes
import inspect
import itertools
import time

import numpy as np
import pytest

from pxos.backends.base import make_launch
from pxos.host.native_device_call import expected_arguments
from tests.host.test_native_device_call import LAUNCH, DeviceArray, _plan, module  # noqa: F401

CREATE = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_void_p), ctypes.c_uint)
RECORD = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)


@pytest.fixture()
def driver(module):  # noqa: F811
    """(calls, launcher made with stand-ins, args): calls logs ("create", handle),
    ("record", event, stream) and ("launch", stream) in order."""
    calls, handles = [], itertools.count(0x1000, 0x10)

    @LAUNCH
    def launch(function, gx, gy, gz, bx, by, bz, shared, stream, params, extra):
        calls.append(("launch", stream))
        return 0

    @CREATE
    def create(out, flags):
        out[0] = next(handles)
        calls.append(("create", out[0]))
        return 0

    @RECORD
    def record(event, stream):
        calls.append(("record", event, stream))
        return 0

    kernel, plan = _plan()
    args = (np.float32(2), DeviceArray(4096, (1000,)), DeviceArray(8192, (1000, 3)))
    sizes, template, slots = plan.bind(args, make_launch(kernel, (1000,)))
    expect = expected_arguments(args, slots)
    launcher = module.DeviceLauncher(ctypes.cast(launch, ctypes.c_void_p).value, 77, sizes,
                                     lambda: 5, template, expect)
    before = module.set_event_driver(ctypes.cast(create, ctypes.c_void_p).value,
                                     ctypes.cast(record, ctypes.c_void_p).value)
    kept = module.take_spare_events()  # the real pool, if a GPU test filled one
    module.recorded_launches()
    try:
        yield calls, launcher, args
    finally:
        module.record_launches(False)
        module.recorded_launches()
        module.take_spare_events()  # no stand-in handle stays for a real launch
        module.spare_events(kept)
        module.set_event_driver(*before)


def test_a_recorded_launch_sits_between_its_two_events_on_its_stream(module, driver):  # noqa: F811
    calls, launcher, args = driver
    module.record_launches(True)
    before = time.perf_counter()
    line = inspect.currentframe().f_lineno + 1
    assert _call(launcher, args) == 0
    after = time.perf_counter()
    (who, start, end, code, lasti, stream, first, last), = module.recorded_launches()
    assert [c[0] for c in calls] == ["create", "create", "record", "launch", "record"]
    assert calls[2] == ("record", first, 5) and calls[4] == ("record", last, 5)
    assert {first, last} == {calls[0][1], calls[1][1]} and first != last
    assert who is launcher and stream == 5 and before <= start <= end <= after
    # the frame that called the launcher's caller (Kernel.__call__ in use): the line here
    assert code is test_a_recorded_launch_sits_between_its_two_events_on_its_stream.__code__
    assert next(n for a, b, n in code.co_lines() if a <= lasti < b) == line


def _call(launcher, args):
    """Stands for ``Kernel.__call__``, the launcher's caller."""
    return launcher(args)


def test_read_events_are_recorded_again_and_nothing_is_kept_unrecorded(module, driver):  # noqa: F811
    calls, launcher, args = driver
    launcher(args)  # not recording: the plain launch, no event
    assert calls == [("launch", 5)]
    module.record_launches(True)
    launcher(args)
    records = module.recorded_launches()
    handles = [records[0][6], records[0][7]]
    module.spare_events(handles)
    calls.clear()
    launcher(args)
    (_, _, _, _, _, _, first, last), = module.recorded_launches()
    assert "create" not in [c[0] for c in calls]  # the pool's events, recorded again
    assert sorted([first, last]) == sorted(handles)
    assert launcher((np.float32(3),) + args[1:]) == 1  # not taken: no record, no event
    assert module.recorded_launches() == [] and calls[-1][0] == "record"


def test_a_launchers_first_8_launches_are_timed_then_one_per_2_ms(module, driver):  # noqa: F811
    """Events cost the host a driver call each: back to back, a launcher's first 8
    launches in a recording session are timed, then one at most per 2 ms of the host's
    clock; every launch is recorded, the untimed ones with no events (0); a new session
    starts the count again."""
    calls, launcher, args = driver
    for session in range(2):
        module.record_launches(True)
        t0 = time.perf_counter()
        for _ in range(40):
            assert _call(launcher, args) == 0
        t1 = time.perf_counter()
        time.sleep(0.0025)  # more than the gap: the next launch is timed
        assert _call(launcher, args) == 0
        module.record_launches(False)
        found = module.recorded_launches()
        assert len(found) == 41 and all(f[0] is launcher for f in found)
        timed = [f for f in found if f[6] and f[7]]
        assert all(f[6] == f[7] == 0 for f in found if f not in timed)
        assert found[:8] == timed[:8] and found[-1] is timed[-1]
        assert len(timed) <= 8 + (t1 - t0) / 2e-3 + 2
        module.spare_events([h for f in timed for h in f[6:8]])
        del calls[:]
