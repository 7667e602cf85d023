"""The CUDA launch plan packs every argument where codegen/signature says, without a GPU:
the driver call is replaced by a recorder that reads the parameters through the
``kernelParams`` pointers it is given, as ``cuLaunchKernel`` does; device arrays are
objects with a pointer."""

from __future__ import annotations

import ctypes
import struct
import sys
import threading
from types import SimpleNamespace

import numpy as np
import pytest

from pxos.backends.base import make_launch
from pxos.errors import PxBackendError
from pxos.ir.check_host import check_program
from pxos.lang.px.parser import parse_program

cuda_launch = pytest.importorskip("pxos.backends.cuda_launch")

SRC = """\
GPU_KERNEL mix
    GPU_PARAM h f16
    GPU_PARAM img u8[,,]
    GPU_PARAM flag bool
    GPU_PARAM big long
    GPU_PARAM out float[,]
GPU_THREAD_CODE:
    THREAD_ID → x, y
    STORE h → out[y, x]
GPU_END
"""
SCALE = """\
GPU_KERNEL scale
    GPU_PARAM a int
    GPU_PARAM x float[]
GPU_THREAD_CODE:
    THREAD_ID → i
    STORE x[i] → x[i]
GPU_END
"""


def device_array(ptr: int, shape: tuple[int, ...]):
    return SimpleNamespace(data=SimpleNamespace(ptr=ptr), shape=shape)


def recorder(slots: int, calls: list):
    """A stand-in for cuLaunchKernel: records the sizes and the 8-byte words the
    kernelParams array points at, read when called (as the driver copies them)."""
    def launch_kernel(fn, gx, gy, gz, bx, by, bz, shared, stream, params, extra):
        pointers = (ctypes.c_void_p * slots).from_address(params)
        words = tuple(struct.unpack("<q", ctypes.string_at(p, 8))[0] for p in pointers)
        calls.append(((fn, gx, gy, gz, bx, by, bz, shared, stream, extra), words))
    return launch_kernel


def test_plan_packs_every_parameter_in_order():
    kernel = check_program(parse_program(SRC, "t.px")).kernels[0]
    calls = []
    plan = cuda_launch.LaunchPlan(kernel, 0xF00, recorder(14, calls), lambda: 0xAB, 0x5C,
                                  checked=True)
    assert plan.struct.size == 14 * 8
    img, out = device_array(0x1000, (4, 5, 3)), device_array(0, (6, 7))  # out: empty → scratch
    args = (np.float16(1.5), img, np.bool_(True), np.int64(-2**40), out)
    plan.run(args, make_launch(kernel, (7, 6)), 0xE7)
    (sizes, words), = calls
    # nx, ny, nz, h (as f32), img ptr + 3 extents, flag, big, out ptr (scratch) + 2, err
    assert words[:3] == (7, 6, 1)
    assert struct.unpack("<f", struct.pack("<q", words[3])[:4])[0] == 1.5
    assert words[4:8] == (0x1000, 4, 5, 3) and words[8] & 0xFF == 1
    assert words[9:] == (-2**40, 0x5C, 6, 7, 0xE7)
    assert sizes == (0xF00, 1, 1, 1, 16, 16, 1, 0, 0xAB, 0)


def test_empty_launch_does_nothing_and_huge_grids_are_refused():
    kernel = check_program(parse_program(SRC, "t.px")).kernels[0]
    calls = []
    plan = cuda_launch.LaunchPlan(kernel, 1, lambda *a: calls.append(a), lambda: 0, 2,
                                  checked=False)
    args = (np.float16(0), device_array(8, (1, 1, 3)), np.bool_(False), np.int64(0),
            device_array(16, (1, 1)))
    plan.run(args, make_launch(kernel, (0, 5)))
    assert calls == []
    with pytest.raises(PxBackendError, match="exceeds CUDA's limit"):
        plan.run(args, make_launch(kernel, (1, 16 * 65536)))


def test_two_threads_launching_one_kernel_never_see_each_others_arguments():
    """Each thread packs into its own buffer: what the driver reads at each call is what
    that thread passed, however the threads interleave (a shared buffer fails this)."""
    kernel = check_program(parse_program(SCALE, "t.px")).kernels[0]
    calls: list = []
    slow = recorder(6, calls)

    def launch_kernel(*a):
        threading.Event().wait(0)  # give the other thread a chance between pack and read
        slow(*a)
    plan = cuda_launch.LaunchPlan(kernel, 7, launch_kernel, lambda: 0, 0, checked=False)
    errors = []

    def work(tag: int):
        try:
            for n in range(2000):
                x = device_array(tag << 32 | n, (n + 1,))
                before = len(calls)
                plan.run((np.int32(tag), x), make_launch(kernel, (n + 1,)))
                assert len(calls) > before
        except AssertionError as e:  # pragma: no cover - reported below
            errors.append(e)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=work, args=(tag,)) for tag in (1, 2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    assert not errors and len(calls) == 4000
    for _, (nx, _ny, _nz, a, ptr, extent) in calls:
        # every word of one call comes from the same thread's same launch
        assert ptr >> 32 == a and extent == nx == (ptr & 0xFFFFFFFF) + 1
