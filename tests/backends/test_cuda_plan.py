"""The CUDA launch plan packs every argument where codegen/signature says, without a GPU:
the driver call is replaced by a recorder, device arrays by objects with a pointer."""

from __future__ import annotations

import ctypes
import struct
from types import SimpleNamespace

import numpy as np
import pytest

from pxos.backends.base import make_launch
from pxos.errors import PxBackendError
from pxos.ir.check_host import check_program
from pxos.lang.px.parser import parse_program

cuda = pytest.importorskip("pxos.backends.cuda")

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


def device_array(ptr: int, shape: tuple[int, ...]):
    return SimpleNamespace(data=SimpleNamespace(ptr=ptr), shape=shape)


def test_plan_packs_every_parameter_in_order():
    kernel = check_program(parse_program(SRC, "t.px")).kernels[0]
    calls = []
    plan = cuda.LaunchPlan(kernel, 0xF00, lambda *a: calls.append(a), lambda: 0xAB, 0x5C,
                           checked=True)
    img, out = device_array(0x1000, (4, 5, 3)), device_array(0, (6, 7))  # out: empty → scratch
    args = (np.float16(1.5), img, np.bool_(True), np.int64(-2**40), out)
    plan.run(args, make_launch(kernel, (7, 6)), 0xE7)
    words = struct.unpack("<" + "q" * (plan.struct.size // 8), ctypes.string_at(
        ctypes.addressof(plan.buffer), plan.struct.size))
    # nx, ny, nz, h (as f32), img ptr + 3 extents, flag, big, out ptr (scratch) + 2, err
    assert words[:3] == (7, 6, 1)
    assert struct.unpack("<f", struct.pack("<q", words[3])[:4])[0] == 1.5
    assert words[4:8] == (0x1000, 4, 5, 3) and words[8] & 0xFF == 1
    assert words[9:] == (-2**40, 0x5C, 6, 7, 0xE7)
    assert calls == [(0xF00, 1, 1, 1, 16, 16, 1, 0, 0xAB, ctypes.addressof(plan.pointers), 0)]
    pointers = list(plan.pointers)
    assert pointers == [ctypes.addressof(plan.buffer) + 8 * i for i in range(len(words))]


def test_empty_launch_does_nothing_and_huge_grids_are_refused():
    kernel = check_program(parse_program(SRC, "t.px")).kernels[0]
    calls = []
    plan = cuda.LaunchPlan(kernel, 1, lambda *a: calls.append(a), lambda: 0, 2, checked=False)
    args = (np.float16(0), device_array(8, (1, 1, 3)), np.bool_(False), np.int64(0),
            device_array(16, (1, 1)))
    plan.run(args, make_launch(kernel, (0, 5)))
    assert calls == []
    with pytest.raises(PxBackendError, match="exceeds CUDA's limit"):
        plan.run(args, make_launch(kernel, (1, 16 * 65536)))
