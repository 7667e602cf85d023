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
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Sequence

from pxos.backends.base import Launch
from pxos.backends.c import compiler
from pxos.host.native_call import LAUNCHED, extension

SOURCE = Path(__file__).with_name("native_device_call.c")
NAME = "pxos_native_device_call"


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
    driver_launch, function, sizes, stream, template, slots = parts
    expect = tuple((type(a), a.dtype, shape, slot) if slot >= 0 else (type(a), None, a, -1)
                   for a, (slot, shape) in zip(args, slots))
    return module.DeviceLauncher(driver_launch, function, sizes, stream, template, expect)


def _native_module():
    """The built and loaded extension module, or None where it cannot be built."""
    cc = compiler()
    return None if cc is None else extension(cc, SOURCE, NAME)


__all__ = ["LAUNCHED", "device_launcher"]
