"""What every backend provides, and the launch geometry they all share.

A backend compiles a checked kernel once (:meth:`Backend.compile`) and launches the result
over a :class:`Launch` with arguments in parameter order: for array parameters, C-contiguous
arrays of the parameter's dtype *in the backend's memory* (``Backend.memory``: NumPy arrays
for ``"host"``, CuPy arrays for ``"cuda"``, ``pyopencl.array.Array`` for ``"opencl"``); for
scalars, NumPy scalars of the parameter's type. The host runtime (``pxos.host``) does the
conversions, checks and transfers (``host/residency``) before calling.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, Protocol, Sequence

import numpy as np

from pxos.ir import nodes as ir

HOST = "host"  # the memory of the CPU backends


@dataclass(frozen=True)
class Launch:
    """The shape of one kernel launch.

    Attributes:
        threads: threads requested per axis, x first (``GPU_THREADS``), each ≥ 0.
        block: threads per block per axis, x first.
    """

    threads: tuple[int, ...]
    block: tuple[int, ...]

    @cached_property
    def grid(self) -> tuple[int, ...]:
        """Blocks per axis: ``ceil(threads / block)``."""
        return tuple(-(-t // b) for t, b in zip(self.threads, self.block))

    @property
    def total_threads(self) -> int:
        """Threads requested in all (``NUM_THREADS``)."""
        return int(np.prod(self.threads))

    @property
    def total_blocks(self) -> int:
        return int(np.prod(self.grid))

    @property
    def block_threads(self) -> int:
        return int(np.prod(self.block))


def make_launch(kernel: ir.Kernel, threads: Sequence[int]) -> Launch:
    """The launch of checked ``kernel`` for the given thread counts (its ``GPU_BLOCK``, or
    the default block the checker set: 256 threads in 1-D, 16 × 16 in 2-D, 32 × 4 × 2 in
    3-D)."""
    return Launch(tuple(int(t) for t in threads), tuple(kernel.block))


class Backend(Protocol):
    """The interface of every backend (``interp``, ``c``, ``cuda``, ``opencl``).

    Attributes:
        name: the name used by ``--device``.
        memory: where launch arguments must live: ``"host"`` (``interp``, ``c``) or the
            device backend's own name (``cuda``, ``opencl``).
    """

    name: str
    memory: str

    def compile(self, kernel: ir.Kernel, checked: bool = False) -> Any:
        """Prepare a checked kernel to run; cached, so calling twice is cheap.

        Args:
            kernel: from ``ir.check.check_kernel``.
            checked: bounds-check every array access (``pxos run --checked``); ``interp``
                always checks.

        Raises:
            PxBackendError: the toolchain refused the generated code.
        """

    def launch(self, compiled: Any, args: Sequence[Any], launch: Launch) -> None:
        """Run the kernel over ``launch``; arrays (in ``memory``) are updated in place.
        Device backends return once the launch is queued.

        Raises:
            PxBoundsError: an out-of-bounds index (always in ``interp``; in checked mode
                elsewhere, after waiting for the launch).
        """

    def synchronize(self) -> None:
        """Wait until every launch has finished (a no-op on synchronous backends)."""


class DeviceBackend(Backend, Protocol):
    """A backend with memory of its own (``memory != "host"``): arrays move explicitly."""

    def to_device(self, host: np.ndarray) -> Any:
        """A new device array holding a copy of C-contiguous ``host`` (blocking)."""

    def to_host(self, device: Any, out: np.ndarray) -> None:
        """Copy ``device`` into the host array ``out`` of the same shape and dtype,
        after every queued launch has finished (blocking)."""

    def zeros(self, shape: tuple[int, ...], dtype: np.dtype) -> Any:
        """A new zero-filled device array (no transfer)."""
