"""``map_kernel``: a kernel call over Dask arrays, as a lazy Dask graph.

The kernel's blocking (``ir/analysis/halo``) says how its arrays are cut. The arrays cut
with the launch are brought to one chunking along the launch's axes (their other axes
whole); a stencil's inputs get the halo (``dask.array.overlap.overlap``, no padding at the
array's real edges, as ``map_overlap`` with ``boundary="none"``); one ``blockwise`` task per
block runs the kernel (``lib/dask/blocks``); the results it writes are cut back to their
blocks (``trim_internal``), and a reduction's partials are combined by
``dask.array.reduction``. An elementwise kernel is thus ``map_blocks``, a stencil
``map_overlap``.
"""

from __future__ import annotations

import functools
import hashlib
import operator

import dask.array as da
import numpy as np
from dask.base import tokenize

from pxos.errors import PxArgumentError, PxShapeError
from pxos.host.pyargs import check_against
from pxos.host.pykernel import Kernel
from pxos.ir import nodes as ir
from pxos.ir.analysis.halo import Blocking, blocking
from pxos.ir.types import Array
from pxos.lib.dask.blocks import BlockRun, Slot, reduce_partials
from pxos.lib.dask.pxkernel import PxKernel


def map_kernel(kernel, *args, overlap=None, device: str | None = None):
    """Run ``kernel`` over Dask arrays, lazily: the arrays it writes, as Dask arrays.

    Args:
        kernel: a ``@pxos.kernel``, a ``.px`` kernel (``pxos.dask.px_kernel``) or a
            kernel's IR from ``lang/px/parser``.
        args: in parameter order: Dask arrays (at least one cut with the launch), NumPy
            arrays (chunked like the Dask ones), numbers. An array the kernel only writes
            may be any array of the right shape and dtype (``da.empty_like(x)``): its
            contents are ignored.
        overlap: the halo, in elements, where the kernel's offsets are not constants: an
            int for every launch axis, or one per array axis (outer first); never less
            than the reach the analysis finds.
        device: a backend to run every block on; default: the planner places each block
            on its worker (CPU or that worker's GPU).

    Returns:
        The written arrays in parameter order: one Dask array, or a tuple. A reduction's
        output (an array written only by atomics) combines every block's partial result,
        each started from the operation's identity (0 for ``atomic_add``).

    Raises:
        PxArgumentError: a kernel that cannot run block by block (``ir/analysis/halo``
            says why), no Dask array to cut, a wrong ``overlap``.
        PxShapeError: arrays cut together with different extents along the launch.
        PxError: the arguments do not fit the kernel's parameters.
    """
    call, kernel_ir = _resolve(kernel, args)
    cut = blocking(kernel_ir)
    return _Graph(call, kernel_ir, cut, args, device).build(_depths(cut, overlap))


def _resolve(kernel, args) -> tuple[object, ir.Kernel]:
    if isinstance(kernel, Kernel):
        return kernel, kernel.ir(*args)
    if isinstance(kernel, ir.Kernel):
        kernel = PxKernel(kernel)
    if not isinstance(kernel, PxKernel):
        raise PxArgumentError(f"map_kernel needs a pxos kernel, got {type(kernel).__name__}",
                              hint="decorate it with @pxos.kernel, or load a .px one with "
                                   "pxos.dask.px_kernel(path, name)")
    params = kernel.ir.params
    if len(args) != len(params):
        raise PxArgumentError(f"kernel {kernel.name!r} takes {len(params)} arguments, got "
                              f"{len(args)}", kernel.ir.span)
    for p, a in zip(params, args):
        check_against(p.name, a, p.type)
    return kernel, kernel.ir


def _depths(cut: Blocking, overlap) -> tuple[int, ...]:
    """The halo per array axis of the launch (outer first)."""
    halo = tuple(reversed(cut.halo))
    if overlap is None:
        given = (None,) * cut.ndim
    elif isinstance(overlap, (int, np.integer)):
        given = (int(overlap),) * cut.ndim
    else:
        given = tuple(overlap)
        if len(given) != cut.ndim:
            raise PxArgumentError(f"overlap= gives {len(given)} axes; the launch has "
                                  f"{cut.ndim}")
    out = []
    for axis, (found, want) in enumerate(zip(halo, given)):
        if want is None and found is None:
            raise PxArgumentError(f"how far the kernel reads along array axis {axis} is not "
                                  "a constant", hint="say it: map_kernel(…, overlap=N)")
        if want is not None and (want < 0 or (found is not None and want < found)):
            raise PxArgumentError(f"overlap {want} along array axis {axis} is less than the "
                                  f"kernel's reach there ({found})")
        out.append(found if want is None else int(want))
    return tuple(out)


def _token(kernel, kernel_ir: ir.Kernel) -> str:
    """A name for ``kernel`` called with one argument signature (``kernel_ir``) that is the
    same in every process, and differs between two kernels of one name."""
    parts: tuple = (kernel_ir.name, repr(kernel_ir.params), repr(kernel_ir.threads))
    if isinstance(kernel, Kernel):
        code = kernel.fn.__code__
        parts += (kernel.fn.__module__, kernel.fn.__qualname__, code.co_code, code.co_consts,
                  code.co_names, kernel.block, kernel.device, kernel.checked)
    else:
        parts += (kernel.path, repr(kernel_ir.body))
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:20]


class _Graph:
    """The pieces of one ``map_kernel`` call (module docstring)."""

    def __init__(self, call, kernel: ir.Kernel, cut: Blocking, args, device):
        self.call, self.kernel, self.cut, self.args, self.device = call, kernel, cut, args, device
        self.access = dict(kernel.access)
        self.L = cut.ndim
        ref = next((a for p, a in zip(kernel.params, args)
                    if cut.roles.get(p.name) == "block" and isinstance(a, da.Array)), None)
        if ref is None:
            raise PxArgumentError(f"map_kernel({kernel.name}): no Dask array among the "
                                  "arrays cut with the launch", kernel.span,
                                  "pass dask.array.from_array(x, chunks=…)")
        self.ref = ref

    def _cut_array(self, name: str, a) -> da.Array:
        """``a`` chunked as the reference along the launch, whole along its other axes."""
        if tuple(a.shape[:self.L]) != tuple(self.ref.shape[:self.L]):
            raise PxShapeError(f"argument {name!r} of {self.kernel.name!r} has shape "
                               f"{tuple(a.shape)}; the arrays cut with the launch share "
                               f"their first {self.L} extents {tuple(self.ref.shape[:self.L])}")
        chunks = tuple(self.ref.chunks[:self.L]) + tuple((n,) for n in a.shape[self.L:])
        if isinstance(a, da.Array):
            return a if a.chunks == chunks else a.rechunk(chunks)
        return da.from_array(np.asarray(a), chunks=chunks)

    def build(self, depths: tuple[int, ...]):
        """The written arrays (one, or a tuple), lazily."""
        self.inputs: list = []  # blockwise's (array, index names) pairs
        self.names = self.L  # index names past the launch's: one per whole axis
        self.shape_from = None
        reads = any(self.cut.roles.get(p.name) == "block" and "r" in self.access.get(p.name, "")
                    for p in self.kernel.params)
        slots = [self._slot(p, a, depths, reads) for p, a in zip(self.kernel.params, self.args)]
        results = tuple(i for i, p in enumerate(self.kernel.params)
                        if isinstance(p.type, Array) and "w" in self.access.get(p.name, ""))
        run = BlockRun(self.call, _token(self.call, self.kernel), tuple(slots), results, self.L,
                       self.shape_from, self.device,
                       self.kernel if isinstance(self.call, Kernel) else None)
        name = f"pxos-{self.kernel.name}-" + tokenize(run.token, self.device, depths, *[
            a if not isinstance(a, da.Array) else a.name for a in self.args])
        return self._outputs(run, name, self.inputs, depths)

    def _input(self, x: da.Array, launch_axes: int) -> int:
        """Add ``x`` to the task's inputs (its first ``launch_axes`` axes cut with the
        launch, the others whole); its position among them."""
        whole = x.ndim - launch_axes
        self.inputs += [x, tuple(range(launch_axes)) +
                        tuple(range(self.names, self.names + whole))]
        self.names += whole
        return len(self.inputs) // 2 - 1

    def _slot(self, p: ir.Param, a, depths: tuple[int, ...], reads: bool) -> Slot:
        """How a task makes the argument of parameter ``p`` (given ``a``)."""
        if not isinstance(p.type, Array):
            return Slot("scalar", value=a)
        role, mode = self.cut.roles[p.name], self.access.get(p.name, "")
        dtype, tail = p.type.elem.dtype.str, tuple(a.shape[self.L:])
        if role == "reduce":
            return Slot("partial", dtype=dtype, tail=tuple(a.shape), op=self.cut.ops[p.name])
        if role == "whole":
            x = a.rechunk(-1) if isinstance(a, da.Array) else da.from_array(a, chunks=-1)
            return Slot("whole", source=self._input(x, 0))
        x = self._cut_array(p.name, a)  # the shape check, too
        if not ("r" in mode or (not reads and self.shape_from is None)):
            return Slot("new", dtype=dtype, tail=tail)  # allocated by the task
        if any(depths):
            x = da.overlap.overlap(x, dict(enumerate(depths + (0,) * len(tail))),
                                   {j: "none" for j in range(x.ndim)})
        source = self._input(x, self.L)
        self.shape_from = source if self.shape_from is None else self.shape_from
        kind = "update" if "w" in mode else ("block" if "r" in mode else "new")
        return Slot(kind, source=source, dtype=dtype, tail=tail)

    def _outputs(self, run: BlockRun, name: str, inputs: list, depths):
        L = self.L
        params = self.kernel.params
        tasks = da.blockwise(run, tuple(range(L)), *inputs, name=name, concatenate=True,
                             align_arrays=False, meta=np.empty((0,) * L, object))
        out = []
        for k, i in enumerate(run.results):
            slot, p = run.slots[i], params[i]
            dtype = np.dtype(slot.dtype)
            one = len(run.results) == 1
            get = _itself if one else operator.itemgetter(k)
            if slot.kind == "partial":
                chunks = tuple((1,) * len(c) for c in tasks.chunks) + tuple((n,) for n in slot.tail)
                parts = tasks.map_blocks(_pick, get, dtype=dtype, chunks=chunks,
                                         new_axis=list(range(L, L + len(slot.tail))),
                                         meta=np.empty((0,) * len(chunks), dtype),
                                         name=f"{name}-{p.name}")
                combine = functools.partial(reduce_partials, op=slot.op)
                out.append(da.reduction(parts, combine, combine, combine=combine,
                                        axis=tuple(range(L)), dtype=dtype,
                                        name=f"pxos-combine-{p.name}"))
                continue
            chunks = tuple(tasks.chunks) + tuple((n,) for n in slot.tail)
            x = tasks.map_blocks(_pick, get, dtype=dtype, chunks=chunks,
                                 new_axis=list(range(L, L + len(slot.tail))) or None,
                                 meta=np.empty((0,) * len(chunks), dtype),
                                 name=f"{name}-{p.name}")
            if any(depths):
                full = dict(enumerate(depths + (0,) * len(slot.tail)))
                x = da.overlap.trim_internal(x, full, {j: "none" for j in full})
            out.append(x)
        return out[0] if len(out) == 1 else tuple(out)


def _pick(result, get):
    """One written array of a task's result."""
    return get(result)


def _itself(result):
    return result
