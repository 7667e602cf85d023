"""What one Dask task does: run a kernel over one block of its arrays.

A :class:`BlockRun` is the task's function. It is given the blocks Dask passes (the arrays
cut with the launch, each with its halo, and the arrays every block gets whole), makes the
arguments the kernel's call needs (new arrays for the ones it only writes, a copy for one it
reads and writes, a reduction's partial result filled with the operation's identity),
calls the kernel (a ``@pxos.kernel`` or a `.px` kernel: the planner places the block on
this worker's CPU or GPU) and returns what the kernel wrote, in parameter order.

It pickles small (the kernel and the argument layout), and a worker keeps the first copy of
each kernel it unpickles, so a kernel's compiled code and placement decisions are reused by
every later block of that worker.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np

from pxos.host.distribute import IDENTITY as _IDENTITY, UFUNCS
from pxos.lib.dask.pxkernel import PxKernel

_KERNELS: dict[str, object] = {}  # token -> the first kernel object this process unpickled


@dataclass(frozen=True)
class Slot:
    """How one kernel argument is made in a task.

    Attributes:
        kind: ``scalar`` (``value``), ``block`` (the task's block ``source``, read only),
            ``update`` (a copy of block ``source``: the kernel reads and writes it),
            ``new`` (a new array of the block's launch extents and ``tail``), ``partial``
            (a new array of ``tail`` filled with the identity of atomic ``op``, returned
            with the launch's axes in front, each of length 1) or ``whole`` (passed as is,
            from task argument ``source`` or ``value``).
    """

    kind: str
    source: int | None = None
    value: object = None
    dtype: str | None = None
    tail: tuple[int, ...] = ()
    op: str | None = None


def _namespace(block):
    """The array library of ``block`` (``numpy``, ``cupy``): where new arrays go."""
    return sys.modules[type(block).__module__.split(".")[0]]


@dataclass(frozen=True)
class BlockRun:
    """The task function for one kernel call over Dask arrays (module docstring).

    Attributes:
        kernel: a ``pxos.Kernel`` or a ``PxKernel``; ``token`` names it within a worker.
        ir: for a ``pxos.Kernel``, its checked IR for the call's signature: what another
            process runs (as a ``PxKernel``).
        slots: one :class:`Slot` per kernel parameter.
        results: the parameters whose arrays the task returns.
        ndim: the launch's axes; ``device``: a backend to pin, or None (the planner).
        shape_from: the task argument whose leading extents are the block's launch.
    """

    kernel: object
    token: str
    slots: tuple[Slot, ...]
    results: tuple[int, ...]
    ndim: int
    shape_from: int
    device: str | None = None
    ir: object = None

    def __reduce__(self):
        # another process gets the kernel's checked IR: a Python function's source may not
        # travel (cloudpickle renames its file), its IR for this signature does
        # (the IR travels too: a BlockRun restored where its token names a Python kernel
        # already, as in the client after a local compute, may be pickled again)
        kernel = self.kernel if self.ir is None else PxKernel(self.ir, None, True)
        return _restore, (self.token, kernel, self.slots, self.results, self.ndim,
                          self.shape_from, self.device, self.ir)

    def __call__(self, *blocks):
        """Run the kernel on one block; returns the written arrays (a tuple when the call
        has several results)."""
        like = blocks[self.shape_from]
        xp = _namespace(like)
        launch = tuple(like.shape[:self.ndim])
        args = [self._argument(s, blocks, xp, launch) for s in self.slots]
        kernel = _KERNELS.setdefault(self.token, self.kernel)
        if self.device is None:
            kernel(*args)
        else:
            kernel(*args, device=self.device)
        out = []
        for i in self.results:
            a = args[i]
            out.append(a.reshape((1,) * self.ndim + a.shape) if self.slots[i].kind == "partial"
                       else a)
        return out[0] if len(out) == 1 else tuple(out)

    @staticmethod
    def _argument(s: Slot, blocks, xp, launch):
        if s.kind == "scalar":
            return s.value
        if s.kind == "block":
            return xp.ascontiguousarray(blocks[s.source])
        if s.kind == "update":
            return xp.array(blocks[s.source], order="C", copy=True)
        if s.kind == "new":
            return xp.empty(launch + s.tail, s.dtype)
        if s.kind == "partial":
            dt = np.dtype(s.dtype)
            return xp.full(s.tail, _IDENTITY[s.op](dt), dt)
        return blocks[s.source] if s.source is not None else s.value


def _restore(token, kernel, slots, results, ndim, shape_from, device, ir=None) -> BlockRun:
    return BlockRun(_KERNELS.setdefault(token, kernel), token, slots, results, ndim,
                    shape_from, device, ir)


def reduce_partials(x, axis=None, keepdims=False, op: str = "add", **_):
    """Combine partial results along ``axis`` with atomic ``op``'s operation (the
    ``chunk``, ``combine`` and ``aggregate`` of ``dask.array.reduction``); NumPy or CuPy
    partials."""
    if op == "add":  # in the array's own type: atomic adds wrap, and so does this
        return x.sum(axis=axis, keepdims=keepdims, dtype=x.dtype)
    if op in ("min", "max"):
        return getattr(x, op)(axis=axis, keepdims=keepdims)
    return UFUNCS[op].reduce(x, axis=axis, keepdims=keepdims)

