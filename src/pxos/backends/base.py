"""What every backend provides, and the launch geometry they all share.

A backend compiles a checked kernel once (:meth:`Backend.compile`) and launches the result
over a :class:`Launch` with arguments in parameter order: C-contiguous NumPy arrays of the
parameter's dtype for array parameters, NumPy scalars of the parameter's type for scalars.
The host runtime (``pxos.host``) does the conversions and checks before calling.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, Sequence

import numpy as np

from pxos.ir import nodes as ir

@dataclass(frozen=True)
class Launch:
    """The shape of one kernel launch.

    Attributes:
        threads: threads requested per axis, x first (``GPU_THREADS``), each ≥ 0.
        block: threads per block per axis, x first.
    """

    threads: tuple[int, ...]
    block: tuple[int, ...]

    @property
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
    the default block the checker set: 256 threads in 1-D, 16 × 16 in 2-D)."""
    return Launch(tuple(int(t) for t in threads), tuple(kernel.block))


class Backend(Protocol):
    """The interface of every backend (``interp``, ``c``; ``cuda`` and ``opencl`` later).

    Attributes:
        name: the name used by ``--device``.
    """

    name: str

    def compile(self, kernel: ir.Kernel) -> Any:
        """Prepare a checked kernel to run; cached, so calling twice is cheap.

        Raises:
            PxBackendError: the toolchain refused the generated code.
        """

    def launch(self, compiled: Any, args: Sequence[Any], launch: Launch) -> None:
        """Run the kernel over ``launch``; arrays are updated in place.

        Raises:
            PxBoundsError: an out-of-bounds index (always in ``interp``; in checked mode
                elsewhere).
        """

    def synchronize(self) -> None:
        """Wait until every launch has finished (a no-op on synchronous backends)."""
