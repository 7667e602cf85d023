"""Native prepared calls of GPU kernels: a Python kernel called again on device arrays of
the same shapes, launched from C.

A prepared call (``host/devicecall``) is one dictionary lookup and the backend's launch, but
in Python: reading each argument's class, dtype and shape for the key, packing every
parameter again, and two layers of calls cost a few microseconds more than CuPy's
``RawKernel``, whose launch is written in Cython. ``native_device_call.c`` (beside this
file, built like ``host/native_call``'s helper) takes over the call for one signature:
the kernel's parameter buffer is packed once (launch counts, extents, scalars), and a
call checks each argument against what was packed (the same class, dtype and shape,
C-contiguous; a scalar of the same class and value), writes the arrays' device pointers
and calls ``cuLaunchKernel`` directly. Anything else is "not taken", and the Python path
serves the call as before.

The backend gives what the launcher needs (:meth:`Backend.launch_parts`: the driver's
launch function, the kernel's handle, the packed buffer); only ``cuda`` gives it.
``PXOS_NATIVE_CALL=0`` turns this off, as it does ``host/native_call``.

The profiler's launch record (``lib/profile/recorder``): between :func:`record_launches`
``(True)`` and ``(False)``, each native launch is kept in C with its calling line, and the
launches it times (a launcher's first 8, then one per 2 ms, or per 2 sampler periods where
the profile's sampler paces it: ``native_record.h``) with their host clock readings,
stream and a CUDA event recorded on it right before ``cuLaunchKernel`` and one right
after (:func:`recorded_launches`); the events go back to the helper's pool with
:func:`spare_events` once read. A profiled call on CuPy arrays comes from the Kernel's call
in C (``host/native_call``) with the profile's launch-log serial, once that log noted the
launcher (``note``). So a profiled launch costs little more than an unprofiled one, and a
timed launch's device time holds no host work.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Sequence

from pxos.backends.base import Launch
from pxos.backends.c import compiler
from pxos.host.native_call import LAUNCHED, extension, extension_loaded as loaded

SOURCE = Path(__file__).with_name("native_device_call.c")
NAME = "pxos_native_device_call"
_recording: list = []  # [True] while the profiler records launches (record_launches)


def device_launcher(backend, compiled, args: Sequence, placed: Sequence,
                    launch: Launch) -> Callable | None:
    """A native launcher repeating ``launch`` of ``compiled`` for calls whose arguments
    match ``args`` (the call's own, checked against later calls) and pack as ``placed``
    (the same, scalars converted to the parameters' types), or None where the backend
    gives no launch parts, the helper cannot be built, or ``PXOS_NATIVE_CALL=0``.

    Returns:
        A callable of the argument tuple giving ``LAUNCHED`` (0) or ``NOT_TAKEN`` (1).
    """
    if os.environ.get("PXOS_NATIVE_CALL", "1") == "0":
        return None
    parts = backend.launch_parts(compiled, placed, launch)
    if parts is None:
        return None
    module = _native_module()
    if module is None:
        return None
    timing = backend.event_parts()
    if timing is not None:
        module.set_event_driver(*timing)
    driver_launch, function, sizes, stream, template, slots = parts
    return module.DeviceLauncher(driver_launch, function, sizes, stream, template,
                                 expected_arguments(args, slots))


def expected_arguments(args: Sequence, slots: Sequence) -> tuple:
    """What the C launcher checks each later argument against: ``(type, dtype, shape,
    slot)`` for an array in parameter slot ``slot`` (from ``LaunchPlan.bind``), and
    ``(type, None, value, -1)`` for a scalar, which must equal the bound one."""
    return tuple((type(a), a.dtype, shape, slot) if slot >= 0 else (type(a), None, a, -1)
                 for a, (slot, shape) in zip(args, slots))


def record_launches(on: bool) -> None:
    """Start (``on``) or stop recording native device launches (the module docstring);
    a helper loaded later, while on, records from its start."""
    _recording[:] = [True] if on else []
    module = loaded(NAME)
    if module is not None:
        module.record_launches(bool(on))


def recorded_launches() -> list:
    """The launches recorded since the last call, in launch order, as ``(launcher,
    start_s, end_s, code, lasti, stream, start_event, end_event)`` tuples: ``perf_counter``
    seconds around the call, the calling frame's code object (or None) and instruction
    offset, and the ``CUstream`` and ``CUevent`` handles (0 for an event that could not
    be made); empty where the helper is not loaded."""
    module = loaded(NAME)
    return [] if module is None else module.recorded_launches()


def spare_events(handles: Sequence[int]) -> None:
    """Give events of :func:`recorded_launches` back to the helper's pool, once their
    times are read (they are recorded again by later profiled launches)."""
    module = loaded(NAME)
    if module is not None and handles:
        module.spare_events(list(handles))


def helper():
    """The helper module, built or loaded now where it is not yet (None where it cannot be
    built here, or ``PXOS_NATIVE_CALL=0``); what the profile's sampler paces
    (``lib/profile/native_sampler``)."""
    if os.environ.get("PXOS_NATIVE_CALL", "1") == "0":
        return None
    return _native_module()


def _native_module():
    """The built and loaded extension module, or None where it cannot be built."""
    cc = compiler()
    module = None if cc is None else extension(cc, SOURCE, NAME)
    if module is not None and _recording:
        module.record_launches(True)
    return module


__all__ = ["LAUNCHED", "device_launcher"]
