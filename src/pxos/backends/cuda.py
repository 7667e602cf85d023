"""The CUDA backend ``cuda``: NVRTC-compiled kernels launched on CuPy's device arrays.

Compilation goes through ``backends/nvrtc`` (cuda-core's NVRTC binding, cubins cached on
disk by source, NVRTC version, GPU architecture and options); the cubin is loaded with
CuPy, whose memory pool, streams and arrays (``__cuda_array_interface__``, DLPack) serve as
pxos's device memory, so a program's arrays cross into CuPy and PyTorch without copies.

A launch is a lookup and one driver call: each compiled kernel carries a
:class:`LaunchPlan` made once (the ``struct`` layout of its parameters, a parameter buffer,
the ``void *kernelParams[]`` array pointing into it, and a small Python function generated
for the kernel's parameter list), so ``launch`` only packs the argument values into the
buffer and calls ``cuLaunchKernel`` (CUDA Driver API, "Execution Control") on CuPy's
current stream. pxos kernels are typed, so the argument
signature of a launch is the kernel's: one plan per (kernel, device, checked).
"""

from __future__ import annotations

import ctypes
import struct
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from pxos.backends.base import Launch
from pxos.backends.cache import KernelMemo
from pxos.backends.checked import raise_violation
from pxos.backends.nvrtc import compile_cubin, cubin_cached
from pxos.codegen.cuda import render_cuda
from pxos.codegen.gpu_stride import BLOCKS_PER_SM, grid_stride
from pxos.codegen.dialect import KernelSource
from pxos.codegen.signature import ERR_WORDS, scalar_param_type
from pxos.errors import PxBackendError
from pxos.ir import nodes as ir
from pxos.ir.types import Array

# one 8-byte slot per kernel parameter, little-endian, value first (struct module format)
_SLOT = {"bool": "?7x", "i8": "b7x", "u8": "B7x", "i16": "h6x", "u16": "H6x",
         "i32": "i4x", "u32": "I4x", "i64": "q", "u64": "Q", "f32": "f4x", "f64": "d"}
MAX_GRID = (2**31 - 1, 65535, 65535)  # blocks per axis (CUDA C++ Programming Guide, Table 22)


class LaunchPlan:
    """The launch of one compiled kernel, prepared once: its parameter buffer, the
    ``void *kernelParams[]`` array pointing into it, and a function specialised to the
    kernel's parameters that packs the argument values and calls ``cuLaunchKernel``.

    Args:
        kernel: the checked kernel.
        function: its ``CUfunction`` handle.
        launch_kernel: CuPy's binding of ``cuLaunchKernel``.
        stream: a function returning the ``CUstream`` handle to launch on (CuPy's current
            stream).
        scratch: a device pointer that zero-size arrays pass instead of NULL.
        checked: whether the kernel takes the ``pxos_err`` pointer last.

    Attributes:
        run: ``run(args, launch, err=0)`` queues the kernel: ``args`` CuPy arrays and
            NumPy scalars in parameter order, ``launch`` a :class:`Launch`, ``err`` the
            flag buffer's device pointer (checked kernels only).
    """

    def __init__(self, kernel: ir.Kernel, function: int, launch_kernel, stream, scratch: int,
                 checked: bool, max_blocks: int = 0):
        fmt = ["<qqq"]
        values = [f"launch.threads[{a}]" if a < kernel.ndim else "1" for a in range(3)]
        names = [f"a{n}" for n in range(len(kernel.params))]
        for name, p in zip(names, kernel.params):
            if isinstance(p.type, Array):
                fmt.append("Q" + "q" * p.type.ndim)
                values.append(f"({name}.data.ptr or scratch)")
                values += [f"{name}.shape[{a}]" for a in range(p.type.ndim)]
            else:
                fmt.append(_SLOT[scalar_param_type(p.type).name])
                values.append(name)
        if checked:
            fmt.append("Q")
            values.append("err")
        self.struct = struct.Struct("".join(fmt))
        slots = self.struct.size // 8
        self.buffer = ctypes.create_string_buffer(self.struct.size)
        base = ctypes.addressof(self.buffer)
        self.pointers = (ctypes.c_void_p * slots)(*(base + 8 * i for i in range(slots)))
        grid, dims = _grid_source(kernel.ndim)
        if max_blocks and grid_stride(kernel):  # codegen/gpu_stride: a few blocks per SM
            grid += f"    gx = gx if gx < {max_blocks} else {max_blocks}\n"
        unpack = f"    {', '.join(names)}, = args\n" if names else ""
        source = (f"def run(args, launch, err=0):\n{unpack}    {grid}"
                  f"    pack(buffer, 0, {', '.join(values)})\n"
                  f"    launch_kernel(function, {dims}, 0, stream(), address, 0)\n")
        scope = {"pack": self.struct.pack_into, "buffer": self.buffer, "scratch": scratch,
                 "stream": stream,
                 "launch_kernel": launch_kernel, "function": function,
                 "address": ctypes.addressof(self.pointers),
                 "too_many": lambda grid: PxBackendError(
                     f"kernel {kernel.name!r}: a grid of {grid} blocks exceeds CUDA's limit "
                     f"{MAX_GRID}")}
        exec(compile(source, f"<pxos launch plan of {kernel.name}>", "exec"), scope)
        self.source = source
        self.run = scope["run"]


def _grid_source(ndim: int) -> tuple[str, str]:
    """The lines of a launch plan that read ``launch.grid`` (returning when an axis has no
    blocks, raising past CUDA's limits on y and z), and ``cuLaunchKernel``'s six sizes."""
    axes = ("gx", "gy", "gz")[:ndim]
    grid = (f"{', '.join(axes)}, = launch.grid\n"
            f"    if {' or '.join(f'{g} == 0' for g in axes)}:\n        return\n")
    if ndim > 1:
        grid += (f"    if {' or '.join(f'{g} > {MAX_GRID[a]}' for a, g in enumerate(axes) if a)}"
                 ":\n        raise too_many(launch.grid)\n")
    pad = ("1",) * (3 - ndim)
    block = [f"launch.block[{a}]" for a in range(ndim)]
    return grid, ", ".join([*axes, *pad, *block, *pad])


@dataclass
class CudaKernel:
    """A loaded kernel: its source, cubin path, CuPy module and function, launch plan."""

    source: KernelSource
    cubin: Path
    module: Any
    plan: LaunchPlan
    cache_hit: bool

    def __post_init__(self):
        self.checked = self.source.checked
        self.run = self.plan.run


class CudaBackend:
    """Runs kernels on the current CUDA device (see the module docstring).

    Raises:
        PxBackendError: on construction, if CuPy, NVRTC or a CUDA device is missing.
    """

    name = "cuda"
    memory = "cuda"

    def __init__(self):
        try:
            import cupy
            from cupy.cuda import driver
        except ImportError as e:
            raise PxBackendError(f"the cuda backend needs CuPy ({e})",
                                 hint="pip install 'pxos[cuda]'") from None
        try:
            count = cupy.cuda.runtime.getDeviceCount()
        except Exception:  # no driver, or no device: CuPy raises CUDARuntimeError
            count = 0
        if count == 0:
            raise PxBackendError("no CUDA device found", hint="use --device c")
        self.cp = cupy
        self._launch_kernel = driver.launchKernel
        current = cupy.cuda.get_current_stream
        self._stream = getattr(cupy.cuda.stream, "get_current_stream_ptr",
                               lambda: current().ptr)
        device = cupy.cuda.Device()
        self.arch = "".join(map(str, device.compute_capability))
        props = cupy.cuda.runtime.getDeviceProperties(device.id)
        self.device_name = props["name"].decode()
        self.sm_count = int(props["multiProcessorCount"])
        self._scratch = cupy.zeros(2, dtype=np.float64)  # what an empty array points to
        self._memo = KernelMemo()
        self._sources = KernelMemo()  # by kernel: the generated source, rendered once
        self._lock = threading.Lock()

    def _source(self, kernel: ir.Kernel, checked: bool):
        return self._sources.remember(kernel, checked, lambda: render_cuda(kernel, checked))

    def compile(self, kernel: ir.Kernel, checked: bool = False) -> CudaKernel:
        """Generate, compile with NVRTC (or find in the cache) and load ``kernel``.

        Raises:
            PxBackendError: NVRTC refused the generated code.
        """
        known = self._memo.get(kernel, checked)
        if known is not None:
            return known
        src = self._source(kernel, checked)
        with self._lock:
            cubin, hit = compile_cubin(src, self.arch)
            module = self.cp.cuda.function.Module()
            module.load_file(str(cubin))
            fn = module.get_function(src.entry)
            plan = LaunchPlan(kernel, fn.ptr, self._launch_kernel, self._stream,
                              self._scratch.data.ptr, checked,
                              self.sm_count * BLOCKS_PER_SM)
            return self._memo.put(kernel, checked,
                                  CudaKernel(src, cubin, (module, fn), plan, hit))

    def is_cached(self, kernel: ir.Kernel, checked: bool = False) -> bool:
        """Whether :meth:`compile` would find ``kernel`` built (in memory or on disk)."""
        if self._memo.get(kernel, checked) is not None:
            return True
        return cubin_cached(self._source(kernel, checked), self.arch)

    def launch(self, compiled: CudaKernel, args: Sequence[Any], launch: Launch) -> None:
        """Queue the kernel on CuPy's current stream.

        Args:
            compiled: from :meth:`compile`.
            args: CuPy arrays (C-contiguous, the parameter's dtype) and NumPy scalars, in
                parameter order.
            launch: threads and block shape.

        Raises:
            PxBackendError: more blocks than the device allows on an axis.
            PxBoundsError: a checked kernel indexed outside an array (after waiting).
        """
        if not compiled.checked:
            return compiled.run(args, launch)
        err = self.cp.zeros(ERR_WORDS, dtype=np.int64)
        compiled.run(args, launch, err.data.ptr)
        raise_violation(compiled.source.kernel, err.get(), args)

    def synchronize(self) -> None:
        """Wait for every launch and copy queued on the device."""
        self.cp.cuda.Device().synchronize()

    def to_device(self, host: np.ndarray):
        """A new CuPy array holding a copy of ``host`` (blocking)."""
        return self.cp.asarray(host)

    def to_host(self, device, out: np.ndarray) -> None:
        """Copy CuPy array ``device`` into ``out`` once queued work is done (blocking)."""
        device.get(out=out)

    def zeros(self, shape: tuple[int, ...], dtype: np.dtype):
        """A new zero-filled CuPy array (from CuPy's memory pool)."""
        return self.cp.zeros(shape, dtype=dtype)
