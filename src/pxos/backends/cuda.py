"""The CUDA backend ``cuda``: NVRTC-compiled kernels launched on CuPy's device arrays.

Compilation goes through ``backends/nvrtc`` (cuda-core's NVRTC binding, cubins cached on
disk by source, NVRTC version, GPU architecture and options); the cubin is loaded with
CuPy, whose memory pool, streams and arrays (``__cuda_array_interface__``, DLPack) serve as
pxos's device memory, so a program's arrays cross into CuPy and PyTorch without copies.

Kernels are built through the shared build path (``backends/base.Backend.compile``: one
build per cache key, under one lock). A launch is a lookup and one driver call: each
compiled kernel carries a ``backends/cuda_launch.LaunchPlan`` made once (the ``struct``
layout of its parameters, per-thread parameter buffers), so ``launch`` only packs the
argument values and calls ``cuLaunchKernel`` on CuPy's current stream.
:meth:`CudaBackend.launch_timed` brackets a launch with two CUDA events.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from pxos.backends.base import DeviceBackend, Launch
from pxos.backends.checked import raise_violation
from pxos.backends.cuda_launch import LaunchPlan
from pxos.backends.nvrtc import cubin_key, nvrtc_compile
from pxos.codegen.cuda import render_cuda
from pxos.codegen.gpu_stride import BLOCKS_PER_SM
from pxos.codegen.dialect import KernelSource
from pxos.codegen.signature import ERR_WORDS
from pxos.errors import PxBackendError
from pxos.ir import nodes as ir

__all__ = ["CudaBackend", "CudaKernel", "LaunchPlan"]

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


class CudaBackend(DeviceBackend):
    """Runs kernels on the current CUDA device (see the module docstring).

    Raises:
        PxBackendError: on construction, if CuPy, NVRTC or a CUDA device is missing.
    """

    name = "cuda"
    memory = "cuda"
    suffix = ".cubin"
    on_gpu = True

    def __init__(self):
        super().__init__()
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
        self.identity = (f"{self.device_name} driver "
                         f"{cupy.cuda.runtime.driverGetVersion()}")
        self._scratch = cupy.zeros(2, dtype=np.float64)  # what an empty array points to

    def render(self, kernel: ir.Kernel, checked: bool) -> tuple[KernelSource, str]:
        """The generated CUDA C of ``kernel`` and its cubin's cache key (source, NVRTC
        version, architecture, options)."""
        src = render_cuda(kernel, checked)
        return src, cubin_key(src, self.arch)

    def build_artefact(self, src: KernelSource) -> tuple[bytes, None]:
        """The cubin of ``src`` for this GPU's architecture, by NVRTC.

        Raises:
            PxBackendError: NVRTC refused the generated code.
        """
        return nvrtc_compile(src, self.arch), None

    def load(self, src: KernelSource, artefact) -> CudaKernel:
        """The cubin of ``artefact`` loaded with CuPy, with its launch plan."""
        module = self.cp.cuda.function.Module()
        module.load_file(str(artefact.path))
        fn = module.get_function(src.entry)
        plan = LaunchPlan(src.kernel, fn.ptr, self._launch_kernel, self._stream,
                          self._scratch.data.ptr, src.checked, self.sm_count * BLOCKS_PER_SM)
        return CudaKernel(src, artefact.path, (module, fn), plan, artefact.hit)

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

    def launch_parts(self, compiled: CudaKernel, args: Sequence[Any],
                     launch: Launch) -> tuple | None:
        """See :meth:`Backend.launch_parts`: ``cuLaunchKernel`` of the driver library CuPy
        loaded, on CuPy's current stream; None for a checked kernel, an empty launch or
        array, or where the driver library cannot be opened by name."""
        bound = compiled.plan.bind(args, launch)
        address = _driver_launch()
        if bound is None or address is None:
            return None
        sizes, template, slots = bound
        return address, compiled.plan.function, sizes, self._stream, template, slots

    def event_parts(self) -> tuple[int, int] | None:
        """See :meth:`Backend.event_parts`: ``cuEventCreate`` and ``cuEventRecord`` of the
        driver library CuPy loaded (the events' handles are CuPy's ``cudaEvent_t``: the
        runtime's and the driver's event types are one)."""
        create, record = _driver_function("cuEventCreate"), _driver_function("cuEventRecord")
        return None if create is None or record is None else (create, record)

    def launch_timed(self, compiled: CudaKernel, args: Sequence[Any], launch: Launch) -> float:
        """:meth:`launch`, then wait: the kernel's time in seconds between two CUDA events
        recorded around it on the current stream (``cudaEventElapsedTime``, resolution
        about 0.5 µs).

        Raises:
            as :meth:`launch`.
        """
        cuda = self.cp.cuda
        start, stop = cuda.Event(), cuda.Event()
        start.record()
        self.launch(compiled, args, launch)
        stop.record()
        stop.synchronize()
        return cuda.get_elapsed_time(start, stop) * 1e-3

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


def _driver_launch() -> int | None:
    """The address of ``cuLaunchKernel`` in the CUDA driver library (``libcuda.so.1``,
    already loaded by CuPy), or None where it cannot be opened by that name."""
    return _driver_function("cuLaunchKernel")


@cache
def _driver_function(name: str) -> int | None:
    """The address of driver function ``name`` (``libcuda.so.1``), or None."""
    try:
        return ctypes.cast(getattr(ctypes.CDLL("libcuda.so.1"), name), ctypes.c_void_p).value
    except (OSError, AttributeError):
        return None
