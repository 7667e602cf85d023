"""The OpenCL backend ``opencl``: OpenCL C kernels run through PyOpenCL.

Any OpenCL 1.2 device serves (a GPU's driver, or PoCL on a CPU). The device is the first
whose name contains ``$PXOS_OPENCL_DEVICE``, else the first GPU, else the first device.
Device arrays are ``pyopencl.array.Array`` on the backend's one in-order queue, so launches
and copies run in the order they are queued.

Programs are built with ``-cl-std=CL1.2`` and, where the device offers it,
``-cl-fp32-correctly-rounded-divide-sqrt`` (OpenCL 1.2 §5.6.4.2), and never with
``-cl-mad-enable`` or ``-cl-fast-relaxed-math``: with the dialect's
``#pragma OPENCL FP_CONTRACT OFF``, ``+ - * /`` and ``SQRT`` round as the interpreter's do.
Built binaries are cached twice: in memory per kernel, and on disk (``backends/cache``)
keyed by the source, the device, its driver and platform versions and the options.

A launch sets the arguments in ``codegen/signature``'s order from a layout made once per
kernel (:class:`ArgLayout`) and enqueues one NDRange of ``grid × block`` work-items with
work-groups of ``block`` (OpenCL 1.2 §5.8 ``clEnqueueNDRangeKernel``).
"""

from __future__ import annotations

import os
import shutil
import warnings
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from pxos.backends.base import Launch
from pxos.backends.cache import (
    BuiltKernels, cache_dir, cache_key, find_entry, has_entry, store_entry,
)
from pxos.backends.checked import raise_violation
from pxos.codegen.gpu import KernelSource
from pxos.codegen.opencl import render_opencl, required_extensions
from pxos.codegen.signature import ERR_WORDS, launch_counts, scalar_param_type
from pxos.errors import PxBackendError
from pxos.ir import nodes as ir
from pxos.ir.types import Array

DEVICE_ENV = "PXOS_OPENCL_DEVICE"


class ArgLayout:
    """How each kernel parameter becomes launch arguments, worked out once per kernel.

    Attributes:
        ranks: per kernel parameter, the array rank (0 for a scalar).
        dtypes: per kernel parameter, the NumPy dtype a scalar crosses as
            (``scalar_param_type``; NumPy's ``bool`` is the byte 0 or 1 the kernel's
            ``uchar`` reads), ``None`` for an array.
    """

    def __init__(self, kernel: ir.Kernel):
        self.ranks: list[int] = []
        self.dtypes: list[np.dtype | None] = []
        for p in kernel.params:
            array = isinstance(p.type, Array)
            self.ranks.append(p.type.ndim if array else 0)
            self.dtypes.append(None if array else scalar_param_type(p.type).dtype)


@dataclass
class OpenCLKernel:
    """A built kernel: its source, the ``pyopencl.Kernel``, the argument layout, and
    whether the binary came from the disk cache."""

    source: KernelSource
    kernel: Any
    layout: ArgLayout
    cache_hit: bool


class OpenCLBackend:
    """Runs kernels on one OpenCL device (see the module docstring).

    Raises:
        PxBackendError: on construction, if PyOpenCL is missing, no OpenCL platform or
            device exists, or ``$PXOS_OPENCL_DEVICE`` names none of them.
    """

    name = "opencl"
    memory = "opencl"

    def __init__(self):
        try:
            import pyopencl as cl
            import pyopencl.array as cl_array
        except (ImportError, OSError) as e:
            raise PxBackendError(f"the opencl backend needs PyOpenCL ({e})",
                                 hint="pip install 'pxos[opencl]'") from None
        self.cl, self.array = cl, cl_array
        self.device = choose_device(cl)
        if "Portable Computing Language" in self.device.platform.name and not shutil.which("ld"):
            # PoCL links every kernel with the system linker and aborts the process if
            # there is none: refuse here, where it can be said
            raise PxBackendError("the opencl backend (PoCL) needs the linker `ld` on PATH",
                                 hint="install binutils, or use --device c")
        self.device_name = self.device.name.strip()
        self.context = cl.Context([self.device])
        self.queue = cl.CommandQueue(self.context)
        d, p = self.device, self.device.platform
        self.identity = "\n".join([d.name, d.version, d.driver_version, p.name, p.version])
        self.options = ["-cl-std=CL1.2"]
        if d.single_fp_config & cl.device_fp_config.CORRECTLY_ROUNDED_DIVIDE_SQRT:
            self.options.append("-cl-fp32-correctly-rounded-divide-sqrt")
        self._extensions = set(d.extensions.split())
        self._scratch = cl.Buffer(self.context, cl.mem_flags.READ_WRITE, 16)  # empty arrays
        self._built = BuiltKernels()

    def _source(self, kernel: ir.Kernel, checked: bool) -> tuple[KernelSource, str]:
        """The generated source of ``kernel`` and its cache key (rendered once)."""
        def make():
            src = render_opencl(kernel, checked)
            return src, cache_key(src.source, self.identity, " ".join(self.options))
        return self._built.source(kernel, checked, make)

    def compile(self, kernel: ir.Kernel, checked: bool = False) -> OpenCLKernel:
        """Generate and build ``kernel`` (or load its binary from the cache).

        Args:
            kernel: from ``ir.check.check_kernel``.
            checked: build with bounds checks (``pxos run --checked``).

        Raises:
            PxBackendError: the device lacks an extension the kernel needs
                (``codegen.opencl.required_extensions``), the OpenCL compiler refused the
                code (the message holds its build log), or the kernel's block is larger
                than the device allows.
        """
        known = self._built.get(kernel, checked)
        if known is not None:
            return known
        missing = [x for x in required_extensions(kernel) if x not in self._extensions]
        if missing:
            raise PxBackendError(
                f"kernel {kernel.name!r} needs the OpenCL extension"
                f"{'s' * (len(missing) > 1)} {', '.join(missing)}, "
                f"which device {self.device.name!r} lacks", kernel.span,
                hint="use --device c, or pick another device with " + DEVICE_ENV)
        src, key = self._source(kernel, checked)

        def make() -> OpenCLKernel:
            program, hit = self._program(src, key)
            cl_kernel = self.cl.Kernel(program, src.entry)
            limit = cl_kernel.get_work_group_info(
                self.cl.kernel_work_group_info.WORK_GROUP_SIZE, self.device)
            threads = int(np.prod(kernel.block))
            if threads > limit:
                raise PxBackendError(
                    f"kernel {kernel.name!r}: a block of {threads} threads is more than "
                    f"device {self.device.name!r} runs in one work-group ({limit})",
                    kernel.span, hint="use a smaller GPU_BLOCK")
            return OpenCLKernel(src, cl_kernel, ArgLayout(kernel), hit)
        return self._built.build(kernel, checked, key, make)

    def is_cached(self, kernel: ir.Kernel, checked: bool = False) -> bool:
        """Whether :meth:`compile` would find ``kernel`` built (in memory or on disk)."""
        _, key = self._source(kernel, checked)
        return (self._built.has(kernel, checked, key)
                or has_entry("opencl", key, ".bin"))

    def _program(self, src: KernelSource, key: str):
        """The built program of ``src`` and whether it came from the disk cache."""
        cl = self.cl
        found = find_entry("opencl", key, ".bin")  # verified: a damaged entry is rebuilt
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", cl.CompilerWarning)  # build logs of good code
            if found is not None:
                try:
                    return cl.Program(self.context, [self.device], [found[1]]).build(
                        self.options), True
                except cl.Error:  # intact but refused (a changed driver): build again
                    found[0].unlink(missing_ok=True)
            try:  # PyOpenCL caches too where the driver does not (not PoCL, not NVIDIA)
                program = cl.Program(self.context, src.source).build(
                    self.options, cache_dir=str(cache_dir() / "opencl-pyopencl"))
            except cl.Error as e:
                raise PxBackendError(
                    f"the OpenCL compiler rejected the code generated for kernel "
                    f"{src.kernel.name!r} (a pxos bug; please report it):\n"
                    + str(e)[-4000:], src.kernel.span) from None
        store_entry("opencl", key, ".bin", program.get_info(cl.program_info.BINARIES)[0])
        return program, False

    def launch(self, compiled: OpenCLKernel, args: Sequence[Any], launch: Launch) -> None:
        """Queue the kernel over ``launch``; returns once queued (checked: once done).

        Args:
            compiled: from :meth:`compile`.
            args: in parameter order: ``pyopencl.array.Array`` (C-contiguous, the
                parameter's dtype, no offset) for arrays, NumPy scalars for scalars.
            launch: threads and block shape; nothing runs if an axis has 0 threads.

        Raises:
            PxBoundsError: a checked kernel indexed outside an array (after waiting).
        """
        grid = launch.grid
        if 0 in grid:
            return
        threads = launch.threads
        layout = compiled.layout
        values: list[Any] = [np.int64(n) for n in launch_counts(threads)]
        for rank, dtype, a in zip(layout.ranks, layout.dtypes, args):
            if rank:
                values.append(a.data if a.size else self._scratch)
                values.extend(np.int64(n) for n in a.shape)
            else:
                values.append(np.asarray(a).astype(dtype)[()])
        err = None
        if compiled.source.checked:
            err = self.array.zeros(self.queue, ERR_WORDS, np.int64)
            values.append(err.data)
        block = launch.block
        compiled.kernel.set_args(*values)
        self.cl.enqueue_nd_range_kernel(self.queue, compiled.kernel,
                                        tuple(g * b for g, b in zip(grid, block)), block)
        if err is not None:
            raise_violation(compiled.source.kernel, err.get(), args)

    def synchronize(self) -> None:
        """Wait for every launch and copy queued on the device."""
        self.queue.finish()

    def to_device(self, host: np.ndarray):
        """A new device array holding a copy of C-contiguous ``host`` (blocking)."""
        return self.array.to_device(self.queue, np.ascontiguousarray(host))

    def to_host(self, device, out: np.ndarray) -> None:
        """Copy device array ``device`` into ``out`` (same shape and dtype) once every
        queued launch has finished (blocking; the queue is in order)."""
        device.get(queue=self.queue, ary=out)

    def zeros(self, shape: tuple[int, ...], dtype: np.dtype):
        """A new zero-filled device array (filled on the device, no transfer)."""
        return self.array.zeros(self.queue, shape, dtype)


def choose_device(cl) -> Any:
    """The OpenCL device to use: the first whose name contains ``$PXOS_OPENCL_DEVICE``
    (case-insensitive) if that is set, else the first GPU, else the first device.

    Raises:
        PxBackendError: no platform or device, or none matching ``$PXOS_OPENCL_DEVICE``.
    """
    devices = []
    try:
        platforms = cl.get_platforms()
    except cl.Error:  # no ICD loader configuration: PLATFORM_NOT_FOUND_KHR
        platforms = []
    for platform in platforms:
        try:
            devices += platform.get_devices()
        except cl.Error:  # a platform without devices: DEVICE_NOT_FOUND
            continue
    if not devices:
        raise PxBackendError("no OpenCL platform or device found",
                             hint="install an OpenCL driver (on a CPU: apt-get install "
                                  "pocl-opencl-icd), or use --device c")
    wanted = os.environ.get(DEVICE_ENV)
    if wanted:
        match = [d for d in devices if wanted.lower() in d.name.lower()]
        if not match:
            names = ", ".join(repr(d.name) for d in devices)
            raise PxBackendError(f"{DEVICE_ENV}={wanted!r} names no OpenCL device; "
                                 f"found {names}")
        return match[0]
    gpus = [d for d in devices if d.type & cl.device_type.GPU]
    return (gpus or devices)[0]
