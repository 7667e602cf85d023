"""HYBRID: one elementwise launch split between a CPU backend and a device.

The first ``k`` elements run on the CPU backend over views of the host arrays; the rest
run on the device, which receives copies of its part, runs, and copies what it wrote
back into the host arrays. The device part runs in a worker thread while the CPU part
runs in the caller's (the C backend's ctypes call and the copies release the GIL), so
both work at once. Only kernels ``ir.analysis.split.elementwise`` accepts may be split.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Sequence

import numpy as np

from pxos import backends
from pxos.backends.base import make_launch
from pxos.ir import nodes as ir

BLOCK = 256  # the cut falls on a multiple of the default block


def hybrid_parts(name: str) -> tuple[str, str] | None:
    """``("c", "cuda")`` for ``"c+cuda"``; None for a single backend's name."""
    if "+" not in name:
        return None
    cpu, device = name.split("+", 1)
    return cpu, device


def cut(n: int, cpu_share: float) -> int:
    """Where to cut ``n`` elements so about ``cpu_share`` of them run on the CPU."""
    if cpu_share >= 1:
        return n
    k = int(round(n * cpu_share / BLOCK)) * BLOCK
    return max(0, min(n, k))


def run_split(kernel: ir.Kernel, args: Sequence, k: int, cpu: str, device: str,
              checked: bool = False, transfers=None) -> None:
    """Run elementwise ``kernel`` with elements ``[:k]`` on backend ``cpu`` and ``[k:]``
    on backend ``device``.

    Args:
        args: in parameter order; C-contiguous 1-D NumPy arrays of equal length (updated
            in place with what the kernel writes) and NumPy scalars.
        transfers: a ``host.residency.Transfers`` that counts the device part's copies.

    Raises:
        PxBackendError: a backend cannot run here.
    """
    arrays = [a for a in args if isinstance(a, np.ndarray)]
    n = len(arrays[0])
    cpu_b, dev_b = backends.get(cpu), backends.get(device)
    writes = {p.name for p, a in zip(kernel.params, args)
              if isinstance(a, np.ndarray) and "w" in dict(kernel.access).get(p.name, "")}
    cpu_k = cpu_b.compile(kernel, checked) if k > 0 else None
    dev_k = dev_b.compile(kernel, checked) if k < n else None

    def device_part():
        placed = [dev_b.to_device(np.ascontiguousarray(a[k:])) if isinstance(a, np.ndarray)
                  else a for a in args]
        if transfers is not None:
            for a in arrays:
                transfers.up(a[k:].nbytes)
        dev_b.launch(dev_k, placed, make_launch(kernel, (n - k,)))
        for p, a, d in zip(kernel.params, args, placed):
            if p.name in writes:
                part = a[k:]  # a contiguous view: copied into straight from the device
                dev_b.to_host(d, part)
                if transfers is not None:
                    transfers.down(part.nbytes)
        dev_b.synchronize()

    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(device_part) if k < n else None
        if k > 0:
            cpu_b.launch(cpu_k, [a[:k] if isinstance(a, np.ndarray) else a for a in args],
                         make_launch(kernel, (k,)))
        if pending is not None:
            pending.result()
