"""One kernel launch from host (NumPy) data, on any backend.

:func:`run_kernel` is what a program's ``RUN`` does for a single kernel when the data
lives on the host: arrays move to the backend's memory, the kernel runs, and the arrays it
writes come back. Programs keep data on the device between statements instead
(``host/residency``).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from pxos import backends, registry
from pxos.backends.base import HOST, make_launch
from pxos.ir import nodes as ir
from pxos.ir.analysis.bounds import launch_checker


def run_kernel(device: str, kernel: ir.Kernel, args: Sequence, threads: Sequence[int],
               checked: bool = False) -> None:
    """Launch checked ``kernel`` on backend ``device`` and wait for it.

    Args:
        device: a backend name (``interp``, ``c``, ``cuda``, ``opencl``).
        kernel: from ``ir.check.check_kernel``.
        args: in parameter order; C-contiguous NumPy arrays of each array parameter's dtype
            (updated in place with what the kernel writes) and NumPy scalars.
        threads: threads per axis, x first.
        checked: bounds-check every access.

    Raises:
        PxBackendError: ``device`` cannot run here.
        PxBoundsError: an index out of bounds (``interp`` always, others when checked;
            unchecked, an affine access found out of bounds before the launch).
    """
    if not checked and not registry.always_checked(device):  # those check as they run
        launch_checker(kernel)(args, threads)
    backend = backends.get(device)
    compiled = backend.compile(kernel, checked)
    launch = make_launch(kernel, threads)
    if backend.memory == HOST:
        backend.launch(compiled, args, launch)
        return
    moved = [backend.to_device(a) if isinstance(a, np.ndarray) else a for a in args]
    backend.launch(compiled, moved, launch)
    access = dict(kernel.access)
    for p, a, d in zip(kernel.params, args, moved):
        if isinstance(a, np.ndarray) and "w" in access.get(p.name, ""):
            backend.to_host(d, a)
    backend.synchronize()
