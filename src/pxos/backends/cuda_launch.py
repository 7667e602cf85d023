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
        self.struct, self.ranks = parameter_struct(kernel, checked)
        self.params = ParamBuffer(self.struct.size)
        self.function, self.stream, self.checked = function, stream, checked
        cap = max_blocks if max_blocks and grid_stride(kernel) else 0
        self.sizes = _sizes(kernel, cap)
        self.run = _runner(self.ranks, self.struct.pack_into, self.params, function,
                           launch_kernel, stream, scratch, checked, self.sizes)

    def bind(self, args: Sequence, launch) -> tuple[tuple, bytes, tuple] | None:
        """What a native launcher needs to repeat this launch with other arrays of the
        same shapes (``host/native_device_call``): cuLaunchKernel's six sizes, the
        parameter buffer packed with ``args`` (array pointers left 0), and per argument
        ``(slot, shape)`` for an array (its pointer's 8-byte slot) or ``(-1, value)`` for
        a scalar; None for a checked kernel, an empty launch or an empty array."""
        sizes, counts = self.sizes(launch)
        if self.checked or sizes is None:
            return None
        values, expect = [*counts], []
        for rank, a in zip(self.ranks, args):
            if rank:
                if 0 in a.shape:
                    return None
                expect.append((len(values), tuple(a.shape)))
                values += (0, *a.shape)
            else:
                expect.append((-1, a))
                values.append(a)
        return sizes, self.struct.pack(*values), tuple(expect)


def _sizes(kernel: ir.Kernel, cap: int) -> Callable:
    """``sizes(launch)``: cuLaunchKernel's six sizes for a ``Launch`` (None when an axis
    has no blocks) and the launch counts padded to three axes.

    Raises:
        PxBackendError: more blocks on y or z than CUDA allows.
    """
    pad = (1,) * (3 - kernel.ndim)
    name = kernel.name

    def sizes(launch) -> tuple:
        grid = launch.grid
        if 0 in grid:
            return None, ()
        gx, gy, gz = (*grid, *pad)
        if gy > MAX_GRID[1] or gz > MAX_GRID[2]:
            raise PxBackendError(f"kernel {name!r}: a grid of {grid} blocks exceeds "
                                 f"CUDA's limit {MAX_GRID}")
        if cap and gx > cap:
            gx = cap
        return (gx, gy, gz, *launch.block, *pad), (*launch.threads, *pad)
    return sizes


def _runner(ranks: tuple, pack, params: ParamBuffer, function: int, launch_kernel: Callable,
            stream: Callable[[], int], scratch: int, checked: bool,
            sizes_of: Callable) -> Callable:
    """The ``run`` function of a :class:`LaunchPlan` (closures only). What a launch
    derives from its ``Launch`` (the six sizes, the counts) is kept for the last
    ``Launch`` object seen, so a caller reusing one (``host/devicecall``) skips it."""
    last = [(None, None, ())]  # one tuple, replaced whole (atomic): safe across threads

    def run(args: Sequence, launch, err: int = 0) -> None:
        known = last[0]
        if known[0] is not launch:
            known = last[0] = (launch, *sizes_of(launch))
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
