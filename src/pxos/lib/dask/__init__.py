"""pxos.dask: pxos kernels over Dask arrays, block by block (docs/dask.md).

``pxos.dask.map_kernel(kernel, *args)`` returns, lazily, the Dask arrays a kernel writes;
once this module is imported, calling a ``@pxos.kernel`` with Dask arrays does the same, as
a NumPy ufunc on Dask arrays returns a Dask array. Elementwise kernels run as
``map_blocks``, stencils as ``map_overlap`` with the halo their accesses need
(``ir/analysis/halo``), reductions (arrays written by atomics) through
``dask.array.reduction``. Each block is placed by the planner on the worker that runs it.
``px_kernel(path, name)`` makes a `.px` kernel callable from Python.
"""

from __future__ import annotations

from pxos import registry
from pxos.lib.dask.graph import map_kernel
from pxos.lib.dask.pxkernel import PxKernel, px_kernel


def _call_with_dask(kernel, args, device=None, threads=None, checked=None):
    """A ``@pxos.kernel`` called with Dask arrays: :func:`map_kernel`."""
    from pxos.errors import PxArgumentError

    if threads is not None or checked is not None:
        raise PxArgumentError("a kernel called with Dask arrays takes device= only",
                              hint="pass threads= and checked= to a call on NumPy arrays")
    return map_kernel(kernel, *args, device=device)


registry.COLLECTIONS["dask"] = _call_with_dask

__all__ = ["PxKernel", "map_kernel", "px_kernel"]
