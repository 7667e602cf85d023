"""The ``cuda`` backend's path through the shared build (render, NVRTC, disk cache, load,
launch plan) without a GPU: NVRTC compiles for real; CuPy is replaced by a stand-in that
loads nothing and records the driver calls, so the cubin, the cache entries and the
launch's packed arguments can be checked here. On the GPU machine the same path runs on
CuPy in tests/host/test_devicecall.py and every backend-parametrised test."""

from __future__ import annotations

import ctypes
import struct
import sys
from types import ModuleType, SimpleNamespace

import numpy as np
import pytest

from pxos.backends.base import make_launch
from pxos.ir.check_host import check_program
from pxos.lang.px.parser import parse_program
from tests.codegen.test_cuda_codegen import nvrtc

SRC = """\
GPU_KERNEL axpy_{tag}
    GPU_PARAM a float
    GPU_PARAM x float[]
    GPU_PARAM y float[]
GPU_THREAD_CODE:
    THREAD_ID → i
    STORE a * x[i] + y[i] → y[i]
GPU_END
"""


def stand_in_cupy(calls: list, loaded: list) -> ModuleType:
    """A module that reads as CuPy to the cuda backend: one sm_90 device; modules record
    the cubin they load; launchKernel records its sizes and the packed parameters."""
    def launch_kernel(fn, gx, gy, gz, bx, by, bz, shared, stream, params, extra):
        pointers = (ctypes.c_void_p * 8).from_address(params)
        calls.append(((gx, gy, gz, bx, by, bz), [ctypes.string_at(p, 8) for p in pointers]))

    class Module:
        def load_file(self, path):
            loaded.append(open(path, "rb").read())

        def get_function(self, name):
            return SimpleNamespace(ptr=0xF00, name=name)

    class Array:
        def __init__(self, n, dtype=np.float64):
            self.data, self.shape = SimpleNamespace(ptr=0x5C), (n,)

        def get(self):
            return np.zeros(self.shape, np.int64)

    cupy = ModuleType("cupy")
    cuda = ModuleType("cupy.cuda")
    cuda.driver = SimpleNamespace(launchKernel=launch_kernel)
    cuda.runtime = SimpleNamespace(
        getDeviceCount=lambda: 1, driverGetVersion=lambda: 12080,
        getDeviceProperties=lambda i: {"name": b"stand-in", "multiProcessorCount": 132})
    cuda.Device = lambda *a: SimpleNamespace(id=0, compute_capability="90",
                                             synchronize=lambda: None)
    cuda.stream = SimpleNamespace(get_current_stream_ptr=lambda: 0xAB)
    cuda.get_current_stream = lambda: SimpleNamespace(ptr=0xAB)
    cuda.function = SimpleNamespace(Module=Module)
    cupy.cuda, cupy.zeros = cuda, Array
    return cupy


@pytest.fixture
def cuda_backend(monkeypatch, tmp_path):
    nvrtc()  # NVRTC present, else a skip
    monkeypatch.setenv("PXOS_CACHE_DIR", str(tmp_path))
    calls, loaded = [], []
    cupy = stand_in_cupy(calls, loaded)
    monkeypatch.setitem(sys.modules, "cupy", cupy)
    monkeypatch.setitem(sys.modules, "cupy.cuda", cupy.cuda)
    from pxos.backends.cuda import CudaBackend
    return CudaBackend, calls, loaded, tmp_path


def test_cuda_builds_through_the_shared_path_and_packs_each_launch(cuda_backend):
    CudaBackend, calls, loaded, cache = cuda_backend
    k = check_program(parse_program(SRC.format(tag="a"), "t.px")).kernels[0]
    b = CudaBackend()
    assert b.identity == "stand-in driver 12080" and not b.is_cached(k)
    compiled = b.compile(k)
    assert not compiled.cache_hit and loaded[0][:4] == b"\x7fELF"  # a cubin, by NVRTC
    assert [p.suffix for p in (cache / "cuda").iterdir()] == [".cubin"]
    assert b.compile(k) is compiled and b.is_cached(k)
    again = CudaBackend().compile(k)  # a new process's view: from the disk cache
    assert again.cache_hit and loaded[1] == loaded[0]
    x = SimpleNamespace(data=SimpleNamespace(ptr=0x1000), shape=(300,))
    y = SimpleNamespace(data=SimpleNamespace(ptr=0x2000), shape=(300,))
    b.launch(compiled, (np.float32(1.5), x, y), make_launch(k, (300,)))
    (sizes, words), = calls
    assert sizes == (2, 1, 1, 256, 1, 1)  # ceil(300 / 256) blocks of the default 256
    assert struct.unpack("<qqq", b"".join(words[:3])) == (300, 1, 1)
    assert struct.unpack("<f", words[3][:4])[0] == 1.5
    assert [struct.unpack("<q", w)[0] for w in words[4:]] == [0x1000, 300, 0x2000, 300]
