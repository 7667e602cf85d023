"""host/native_device_call without a GPU: the C launcher packs the parameter buffer the
way backends/cuda_launch's Python path does and calls the driver's launch function (here
a ctypes stand-in recording what it receives), and refuses every call that differs from
the one it was made for."""

from __future__ import annotations

import ctypes
import threading
from types import SimpleNamespace

import numpy as np
import pytest

from pxos.backends.base import make_launch
from pxos.backends.cuda_launch import LaunchPlan
from pxos.host import native_device_call
from pxos.host.native_device_call import expected_arguments
from pxos.host.pykernel import Kernel
import pxos

LAUNCH = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, *[ctypes.c_uint] * 7,
                          ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p), ctypes.c_void_p)


class DeviceArray:
    """Reads as a CuPy array to the launcher: class, dtype, shape, ``_c_contiguous`` and
    ``data.ptr``."""

    def __init__(self, ptr, shape, dtype=np.float32, contiguous=True):
        self.data = SimpleNamespace(ptr=ptr)
        self.shape, self.dtype, self._c_contiguous = shape, np.dtype(dtype), contiguous


def axpy(a: pxos.f32, x: pxos.Array[pxos.f32, 1], y: pxos.Array[pxos.f32, 2]):
    for i in pxos.parallel(len(x)):
        y[i, 0] = a * x[i]


@pytest.fixture()
def module():
    found = native_device_call._native_module()
    if found is None:
        pytest.skip("no C compiler or Python headers for the helper here")
    return found


def _plan():
    kernel = Kernel(axpy).ir(np.float32(2), np.zeros(1000, np.float32),
                             np.zeros((1000, 3), np.float32))
    return kernel, LaunchPlan(kernel, 77, None, lambda: 5, 0, False)


def test_the_c_launcher_packs_as_the_python_path_and_refuses_what_differs(module):
    received = []

    @LAUNCH
    def driver(function, gx, gy, gz, bx, by, bz, shared, stream, params, extra):
        slots = [ctypes.cast(params[k], ctypes.POINTER(ctypes.c_uint64))[0] for k in range(9)]
        received.append((function, (gx, gy, gz, bx, by, bz), shared, stream, slots))
        return 0

    kernel, plan = _plan()
    launch = make_launch(kernel, (1000,))
    args = (np.float32(2), DeviceArray(4096, (1000,)), DeviceArray(8192, (1000, 3)))
    sizes, template, slots = plan.bind(args, launch)
    address = ctypes.cast(driver, ctypes.c_void_p).value
    expect = expected_arguments(args, slots)
    launcher = module.DeviceLauncher(address, 77, sizes, lambda: 5, template, expect)

    other = (np.float32(2), DeviceArray(1 << 20, (1000,)), DeviceArray(1 << 21, (1000, 3)))
    assert launcher(other) == 0
    function, got_sizes, shared, stream, words = received[-1]
    assert (function, got_sizes, shared, stream) == (77, sizes, 0, 5)
    # counts (1000, 1, 1), a as f32 in its slot, x (pointer, 1000), y (pointer, 1000, 3)
    assert words[:3] == [1000, 1, 1] and words[4:] == [1 << 20, 1000, 1 << 21, 1000, 3]
    assert struct_unpacked(plan, words[:9]) == [1000, 1, 1, 2.0, 1 << 20, 1000, 1 << 21,
                                                1000, 3]
    count = len(received)
    for args in [(np.float32(3), other[1], other[2]),          # scalar value
                 (2.0, other[1], other[2]),                    # scalar class
                 (np.float32(2), DeviceArray(1, (999,)), other[2]),         # shape
                 (np.float32(2), DeviceArray(1, (1000,), np.int32), other[2]),  # dtype
                 (np.float32(2), DeviceArray(1, (1000,), contiguous=False), other[2]),
                 (np.float32(2), DeviceArray(0, (1000,)), other[2]),   # no pointer
                 (np.float32(2), np.zeros(1000, np.float32), other[2]),  # another class
                 other[:2], ()]:
        assert launcher(args) == 1
    result = []
    thread = threading.Thread(target=lambda: result.append(launcher(other)))
    thread.start()
    thread.join()
    assert result == [1] and len(received) == count  # nothing reached the driver


def test_a_refused_launch_is_not_taken(module):
    @LAUNCH
    def driver(*_):
        return 1  # CUDA_ERROR_INVALID_VALUE

    kernel, plan = _plan()
    args = (np.float32(2), DeviceArray(4096, (1000,)), DeviceArray(8192, (1000, 3)))
    sizes, template, slots = plan.bind(args, make_launch(kernel, (1000,)))
    expect = expected_arguments(args, slots)
    launcher = module.DeviceLauncher(ctypes.cast(driver, ctypes.c_void_p).value, 77, sizes,
                                     lambda: 0, template, expect)
    assert launcher(args) == 1


def struct_unpacked(plan, words):
    raw = np.array(words, np.uint64).tobytes()
    return [v for v in plan.struct.unpack(raw[:plan.struct.size])]
