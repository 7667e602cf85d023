"""The OpenCL backend ``opencl``: OpenCL C kernels run through PyOpenCL.

Any OpenCL 1.2 device serves (a GPU's driver, or PoCL on a CPU). The device is the first
whose name contains ``$PXOS_OPENCL_DEVICE``, else the first GPU, else the first device.
Device arrays are ``pyopencl.array.Array`` on the backend's one in-order queue, so launches
and copies run in the order they are queued.

Programs are built with ``-cl-std=CL1.2`` and, where the device offers it,
``-cl-fp32-correctly-rounded-divide-sqrt`` (OpenCL 1.2 §5.6.4.2), and never with
``-cl-mad-enable`` or ``-cl-fast-relaxed-math``: with the dialect's
``#pragma OPENCL FP_CONTRACT OFF``, ``+ - * /`` and ``SQRT`` round as the interpreter's do.
Built binaries go through the shared build path (``backends/base.Backend.compile``): cached
in memory per kernel, and on disk (``backends/cache``) keyed by the source, the device, its
driver and platform versions and the options.

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

from pxos.backends.base import DeviceBackend, Launch
from pxos.backends.cache import cache_dir, cache_key
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


class OpenCLBackend(DeviceBackend):
    """Runs kernels on one OpenCL device (see the module docstring).

    Raises:
        PxBackendError: on construction, if PyOpenCL is missing, no OpenCL platform or
            device exists, or ``$PXOS_OPENCL_DEVICE`` names none of them.
    """

    name = "opencl"
    memory = "opencl"
    suffix = ".bin"

    def __init__(self):
        super().__init__()
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
        self.on_gpu = bool(self.device.type & cl.device_type.GPU)
        self.context = cl.Context([self.device])
        self.queue = cl.CommandQueue(self.context)
        d, p = self.device, self.device.platform
        self.identity = "\n".join([d.name, d.version, d.driver_version, p.name, p.version])
        self.options = ["-cl-std=CL1.2"]
        if d.single_fp_config & cl.device_fp_config.CORRECTLY_ROUNDED_DIVIDE_SQRT:
            self.options.append("-cl-fp32-correctly-rounded-divide-sqrt")
        self._extensions = set(d.extensions.split())
        self._pocl = "Portable Computing Language" in p.name
        self._scratch = cl.Buffer(self.context, cl.mem_flags.READ_WRITE, 16)  # empty arrays
        self._timing = None  # the profiling queue of launch_timed, made on first use

    def render(self, kernel: ir.Kernel, checked: bool) -> tuple[KernelSource, str]:
        """The generated OpenCL C of ``kernel`` and its cache key (source, device, driver
        and platform versions, options)."""
        src = render_opencl(kernel, checked)
        return src, cache_key(src.source, self.identity, " ".join(self.build_options(kernel)))

    def build_options(self, kernel: ir.Kernel) -> list[str]:
        """The compiler options of ``kernel``'s program. On PoCL (3.1, LLVM 15) a kernel
        with a barrier is built without optimisation: optimised, PoCL lost a private
        variable across the barrier (a ``WHILE`` that runs at most once, its count read
        after ``SYNC_THREADS`` as 0 in every work-item: fuzz seed 875,
        ``tests/test_fuzz_kernels_found.py``)."""
        if self._pocl and any(isinstance(s, ir.Sync) for s in ir.walk(kernel.body)):
            return [*self.options, "-cl-opt-disable"]
        return self.options

    def admit(self, kernel: ir.Kernel) -> None:
        """Refuse a kernel needing an OpenCL extension the device lacks
        (``codegen.opencl.required_extensions``).

        Raises:
            PxBackendError: naming the extensions.
        """
        missing = [x for x in required_extensions(kernel) if x not in self._extensions]
        if missing:
            raise PxBackendError(
                f"kernel {kernel.name!r} needs the OpenCL extension"
                f"{'s' * (len(missing) > 1)} {', '.join(missing)}, "
                f"which device {self.device.name!r} lacks", kernel.span,
                hint="use --device c, or pick another device with " + DEVICE_ENV)

    def build_artefact(self, src: KernelSource):
        """The program built from ``src``'s source, and its binary for the disk cache.

        Raises:
            PxBackendError: the OpenCL compiler refused the code (with its build log).
        """
        cl = self.cl
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", cl.CompilerWarning)  # build logs of good code
            try:  # PyOpenCL caches too where the driver does not (not PoCL, not NVIDIA)
                program = cl.Program(self.context, src.source).build(
                    self.build_options(src.kernel),
                    cache_dir=str(cache_dir() / "opencl-pyopencl"))
            except cl.Error as e:
                raise PxBackendError(
                    f"the OpenCL compiler rejected the code generated for kernel "
                    f"{src.kernel.name!r} (a pxos bug; please report it):\n"
                    + str(e)[-4000:], src.kernel.span) from None
        return program.get_info(cl.program_info.BINARIES)[0], program

    def load(self, src: KernelSource, artefact) -> OpenCLKernel | None:
        """The kernel of ``artefact``'s program (built from its binary unless just built
        from source); None if the driver refuses an intact binary (a changed driver).

        Raises:
            PxBackendError: the kernel's block is larger than the device allows.
        """
        cl, program = self.cl, artefact.built
        if program is None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", cl.CompilerWarning)
                try:
                    program = cl.Program(self.context, [self.device], [artefact.data]
                                         ).build(self.build_options(src.kernel))
                except cl.Error:  # intact but refused: built again from source
                    return None
        kernel = src.kernel
        cl_kernel = cl.Kernel(program, src.entry)
        limit = cl_kernel.get_work_group_info(cl.kernel_work_group_info.WORK_GROUP_SIZE,
                                              self.device)
        threads = int(np.prod(kernel.block))
        if threads > limit:
            raise PxBackendError(
                f"kernel {kernel.name!r}: a block of {threads} threads is more than "
                f"device {self.device.name!r} runs in one work-group ({limit})",
                kernel.span, hint="use a smaller GPU_BLOCK")
        return OpenCLKernel(src, cl_kernel, ArgLayout(kernel), artefact.hit)

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
        _, err = self._enqueue(compiled, args, launch, self.queue)
        if err is not None:
            raise_violation(compiled.source.kernel, err.get(), args)

    def launch_timed(self, compiled: OpenCLKernel, args: Sequence[Any],
                     launch: Launch) -> float:
        """:meth:`launch` and wait: the kernel's time in seconds from its OpenCL profiling
        event (``CL_PROFILING_COMMAND_START`` to ``END``, OpenCL 1.2 §5.12), on a second
        queue with profiling enabled, after the main queue has drained (so the order of
        work is kept and untimed launches pay nothing for profiling).

        Raises:
            PxBoundsError: as :meth:`launch`.
        """
        if self._timing is None:
            self._timing = self.cl.CommandQueue(
                self.context, properties=self.cl.command_queue_properties.PROFILING_ENABLE)
        event, err = self._enqueue(compiled, args, launch, self._timing, self.queue.finish)
        if event is None:
            return 0.0
        event.wait()
        if err is not None:
            raise_violation(compiled.source.kernel, err.get(), args)
        return (event.profile.end - event.profile.start) * 1e-9

    def _enqueue(self, compiled: OpenCLKernel, args: Sequence[Any], launch: Launch, queue,
                 before=None):
        """Set the arguments and enqueue on ``queue`` (after calling ``before``): the
        launch's event and the checked-mode flag buffer, or (None, None) for an empty
        launch."""
        grid = launch.grid
        if 0 in grid:
            return None, None
        layout = compiled.layout
        values: list[Any] = [np.int64(n) for n in launch_counts(launch.threads)]
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
        if before is not None:
            before()
        event = self.cl.enqueue_nd_range_kernel(
            queue, compiled.kernel, tuple(g * b for g, b in zip(grid, block)), block)
        return event, err

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
