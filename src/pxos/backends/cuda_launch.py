"""The launch of one compiled CUDA kernel: its arguments packed, and ``cuLaunchKernel``.

``cuLaunchKernel`` (CUDA Driver API, "Execution Control") takes ``void *kernelParams[]``,
one pointer per parameter to its value, and copies the values when it is called. pxos
kernels are typed, so the layout of a kernel's parameters is fixed by the kernel
(``codegen/signature``): the launch counts ``nx, ny, nz``, then per array its pointer and
extents, per scalar its value, then the checked-mode flag pointer, each in an 8-byte slot,
little-endian, value first. A :class:`LaunchPlan` works that layout out once per compiled
kernel as a :class:`struct.Struct`; each launch packs the values into a buffer and calls
the driver.

Thread safety: the buffer and its pointer array are per thread (a ``threading.local``
made on a thread's first launch of the kernel), so two threads launching one kernel at once
never pack into each other's buffer; nothing is shared but read-only layout. No Python
source is generated: the plan is closures over the layout.
"""

from __future__ import annotations

import ctypes
import struct
import threading
from typing import Callable, Sequence

from pxos.codegen.gpu_stride import grid_stride
from pxos.codegen.signature import scalar_param_type
from pxos.errors import PxBackendError
from pxos.ir import nodes as ir
from pxos.ir.types import Array

# one 8-byte slot per kernel parameter, little-endian, value first (struct module format)
SLOT = {"bool": "?7x", "i8": "b7x", "u8": "B7x", "i16": "h6x", "u16": "H6x",
        "i32": "i4x", "u32": "I4x", "i64": "q", "u64": "Q", "f32": "f4x", "f64": "d"}
MAX_GRID = (2**31 - 1, 65535, 65535)  # blocks per axis (CUDA C++ Programming Guide, Table 22)


def parameter_struct(kernel: ir.Kernel, checked: bool) -> tuple[struct.Struct, tuple]:
    """The ``struct`` layout of ``kernel``'s parameters (launch counts first, the flag
    pointer last when ``checked``) and each parameter's array rank (0: a scalar)."""
    fmt, ranks = ["<qqq"], []
    for p in kernel.params:
        if isinstance(p.type, Array):
            fmt.append("Q" + "q" * p.type.ndim)
            ranks.append(p.type.ndim)
        else:
            fmt.append(SLOT[scalar_param_type(p.type).name])
            ranks.append(0)
    if checked:
        fmt.append("Q")
    return struct.Struct("".join(fmt)), tuple(ranks)


class ParamBuffer(threading.local):
    """One thread's parameter buffer for a plan, and the ``kernelParams`` array pointing
    at each 8-byte slot of it (made on the thread's first use).

    Attributes:
        buffer: ``size`` bytes the values are packed into.
        pointers: ``void *[size / 8]``, slot addresses in order.
        address: the address of ``pointers`` (what ``cuLaunchKernel`` receives).
    """

    def __init__(self, size: int):
        self.buffer = ctypes.create_string_buffer(size)
        base = ctypes.addressof(self.buffer)
        slots = size // 8
        self.pointers = (ctypes.c_void_p * slots)(*(base + 8 * i for i in range(slots)))
        self.address = ctypes.addressof(self.pointers)


class LaunchPlan:
    """The launch of one compiled kernel, prepared once (see the module docstring).

    Args:
        kernel: the checked kernel.
        function: its ``CUfunction`` handle.
        launch_kernel: a binding of ``cuLaunchKernel`` taking (function, grid x, y, z,
            block x, y, z, shared bytes, stream, kernelParams address, extra), as CuPy's
            ``cupy.cuda.driver.launchKernel``.
        stream: a function returning the ``CUstream`` handle to launch on.
        scratch: a device pointer that zero-size arrays pass instead of NULL.
        checked: whether the kernel takes the ``pxos_err`` pointer last.
        max_blocks: the grid's x cap for a grid-stride kernel (``codegen/gpu_stride``;
            a few blocks per SM); 0: no cap.

    Attributes:
        struct: the parameters' layout; ``params``: the per-thread :class:`ParamBuffer`.
        run: ``run(args, launch, err=0)`` queues the kernel: ``args`` device arrays (with
            ``.data.ptr`` and ``.shape``, as CuPy's) and NumPy scalars in parameter
            order, ``launch`` a ``backends.base.Launch``, ``err`` the flag buffer's device
            pointer (checked kernels only). Nothing runs when an axis has no blocks.

    Raises (``run``):
        PxBackendError: more blocks on y or z than CUDA allows.
    """

    def __init__(self, kernel: ir.Kernel, function: int, launch_kernel: Callable,
                 stream: Callable[[], int], scratch: int, checked: bool,
                 max_blocks: int = 0):
        self.struct, ranks = parameter_struct(kernel, checked)
        self.params = ParamBuffer(self.struct.size)
        cap = max_blocks if max_blocks and grid_stride(kernel) else 0
        self.run = _runner(kernel, ranks, self.struct.pack_into, self.params, function,
                           launch_kernel, stream, scratch, checked, cap)


def _runner(kernel: ir.Kernel, ranks: tuple, pack, params: ParamBuffer, function: int,
            launch_kernel: Callable, stream: Callable[[], int], scratch: int,
            checked: bool, cap: int) -> Callable:
    """The ``run`` function of a :class:`LaunchPlan` (closures only). What a launch
    derives from its ``Launch`` (the six sizes, the counts) is kept for the last
    ``Launch`` object seen, so a caller reusing one (``host/devicecall``) skips it."""
    pad = (1,) * (3 - kernel.ndim)
    name = kernel.name

    def derive(launch) -> tuple:
        """(launch, cuLaunchKernel's six sizes or None for an empty launch, counts)."""
        grid = launch.grid
        if 0 in grid:
            return launch, None, ()
        gx, gy, gz = (*grid, *pad)
        if gy > MAX_GRID[1] or gz > MAX_GRID[2]:
            raise PxBackendError(f"kernel {name!r}: a grid of {grid} blocks exceeds "
                                 f"CUDA's limit {MAX_GRID}")
        if cap and gx > cap:
            gx = cap
        return launch, (gx, gy, gz, *launch.block, *pad), (*launch.threads, *pad)

    last = [(None, None, ())]  # one tuple, replaced whole (atomic): safe across threads

    def run(args: Sequence, launch, err: int = 0) -> None:
        known = last[0]
        if known[0] is not launch:
            known = last[0] = derive(launch)
        sizes = known[1]
        if sizes is None:
            return
        out = [*known[2]]
        for rank, a in zip(ranks, args):
            if rank:
                out.append(a.data.ptr or scratch)
                out += a.shape
            else:
                out.append(a)
        if checked:
            out.append(err)
        pack(params.buffer, 0, *out)
        launch_kernel(function, *sizes, 0, stream(), params.address, 0)
    return run
