"""The NumPy interpreter: the semantic oracle every other backend is tested against.

All threads of a launch run in lock step, statement by statement, each statement vectorised
with NumPy over the active threads ("lanes"). Because every lane of a statement reads before
any lane writes, ``SYNC_THREADS`` needs no work. Control flow compacts the active set: an
``IF`` runs each arm on the lanes that take it, loops iterate while any lane remains, and
``BREAK``/``CONTINUE``/``RETURN`` set per-lane flags that drop the lane from the active set.
Every array access is bounds-checked (:class:`~pxos.errors.PxBoundsError`).

The semantics are those of docs/language.md; the expression evaluator is in
``ir/evaluate``. :func:`eval_scalar` evaluates host expressions for the runtime.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from pxos.backends.base import HOST, Backend, Launch
from pxos.backends.interp_atomics import apply_atomic
from pxos.backends.interp_jumps import jump_table
from pxos.ir.evaluate import Evaluator, eval_scalar, fix, flat_index, subset
from pxos.ir import nodes as ir
from pxos.ir.types import Array

__all__ = ["InterpBackend", "eval_scalar"]


class InterpBackend(Backend):
    """Runs kernels with NumPy on the host (``--device interp``). Nothing is built: the
    shared build path (``Backend.compile``) hands back the checked IR, which the
    interpreter walks, checking every access whatever ``checked`` says."""

    name = "interp"
    memory = HOST

    def launch(self, compiled: ir.Kernel, args: Sequence, launch: Launch) -> None:
        """Run ``compiled`` over ``launch``; array arguments are updated in place.

        Raises:
            PxBoundsError: an array index out of bounds.
        """
        if len(args) != len(compiled.params):
            raise ValueError(f"kernel {compiled.name!r} takes {len(compiled.params)} "
                             f"arguments, got {len(args)}")
        if any(t <= 0 for t in launch.threads):
            return
        with np.errstate(all="ignore"):
            _Run(compiled, args, launch).run()

    def synchronize(self) -> None:
        """Launches are synchronous: nothing to wait for."""


class _Buffer:
    """An array as the kernel sees it: a flat view, its shape, and for shared arrays the
    number of elements of one block's copy (0 for parameters)."""

    __slots__ = ("flat", "shape", "per_block")

    def __init__(self, flat: np.ndarray, shape: tuple[int, ...], per_block: int = 0):
        self.flat, self.shape, self.per_block = flat, shape, per_block


class _Run(Evaluator):
    """One launch: lane geometry, variables, arrays, flags and the statement walker."""

    def __init__(self, kernel: ir.Kernel, args: Sequence, launch: Launch):
        super().__init__()
        self.k = kernel
        self.kernel = kernel.name
        self.launch = launch
        self.ndim = len(launch.threads)
        self.requested = tuple(int(t) for t in launch.threads)
        grid = launch.grid
        if kernel.guarded:
            self.extent = self.requested  # the lanes that exist, per axis
        else:
            self.extent = tuple(g * b for g, b in zip(grid, launch.block))
        self.n = int(np.prod(self.extent))
        self.scalars: dict[str, np.generic] = {}
        self.arrays: dict[str, _Buffer] = {}
        self.writeback: list[tuple[np.ndarray, np.ndarray]] = []
        for p, a in zip(kernel.params, args):
            if isinstance(p.type, Array):
                self._bind_array(p, a)
            else:
                self.scalars[p.name] = fix(np.asarray(a).astype(p.type.dtype), p.type.dtype)
        nblocks = int(np.prod(grid))
        for s in kernel.shared:
            per = int(np.prod(s.shape))
            self.arrays[s.name] = _Buffer(np.zeros(nblocks * per, s.elem.dtype), s.shape, per)
        self.var_types = {name: t.dtype for name, t in kernel.variables}
        self.vars: dict[str, np.ndarray] = {}
        self.cache: dict[str, np.ndarray] = {}
        self.stop = np.zeros(self.n, bool)  # ret | brk | cont
        self.ret = np.zeros(self.n, bool)
        self.brk = np.zeros(self.n, bool)
        self.cont = np.zeros(self.n, bool)
        self.jumps = jump_table(kernel.body)

    def _bind_array(self, p: ir.Param, a) -> None:
        if not isinstance(a, np.ndarray) or a.dtype != p.type.elem.dtype \
                or a.ndim != p.type.ndim:
            raise ValueError(f"argument {p.name!r} of {self.kernel!r} must be a "
                             f"{p.type.ndim}-D {p.type.elem.dtype} array")
        if a.flags.c_contiguous and a.flags.writeable:
            flat = a.reshape(-1)
        else:
            flat = np.ascontiguousarray(a).reshape(-1).copy()
            if a.flags.writeable:
                self.writeback.append((a, flat))
        self.arrays[p.name] = _Buffer(flat, a.shape)

    def run(self) -> None:
        self.body(self.k.body, None)
        for a, flat in self.writeback:
            a[...] = flat.reshape(a.shape)

    # ------------------------------------------------------------------ lanes
    def count(self, lanes) -> int:
        return self.n if lanes is None else len(lanes)

    def _coord(self, key: str) -> np.ndarray:
        """Per-lane int32 launch coordinates, computed on first use."""
        arr = self.cache.get(key)
        if arr is not None:
            return arr
        lane = np.arange(self.n, dtype=np.int64)
        axes = "xyz"[:self.ndim]
        if key in ("x", "y", "z"):  # lanes run x fastest over the extent
            a = "xyz".index(key)
            arr = lane // int(np.prod(self.extent[:a])) % max(1, self.extent[a])
        elif key in ("lx", "ly", "lz", "bx", "by", "bz"):
            c = self._coord(key[1])
            b = self.launch.block["xyz".index(key[1])]
            arr = c % b if key[0] == "l" else c // b
        elif key in ("tid", "lid", "bid"):  # row-major linear values, as in codegen/render
            prefix, sizes = {"tid": ("", self.requested), "lid": ("l", self.launch.block),
                             "bid": ("b", self.launch.grid)}[key]
            arr = np.zeros(self.n, np.int64)
            for a in reversed(range(len(axes))):
                arr = arr * sizes[a] + self._coord(prefix + axes[a])
        elif key == "shared_base":
            arr = self._coord("bid").astype(np.intp)
        else:
            raise KeyError(key)
        if key != "shared_base":
            arr = arr.astype(np.int32)
        self.cache[key] = arr
        return arr

    def _active(self, lanes):
        """``lanes`` less those stopped by BREAK, CONTINUE or RETURN."""
        if lanes is None:
            if not self.stop.any():
                return None
            return np.flatnonzero(~self.stop)
        return lanes[~self.stop[lanes]]

    @staticmethod
    def _split(lanes, n: int, cond):
        """(lanes where ``cond``, lanes where not ``cond``)."""
        empty = np.empty(0, np.intp)
        if not isinstance(cond, np.ndarray):
            return (lanes, empty) if bool(cond) else (empty, lanes)
        yes = np.flatnonzero(cond)
        if yes.size == n:
            return lanes, empty
        if yes.size == 0:
            return empty, lanes
        return subset(lanes, yes), subset(lanes, np.flatnonzero(~cond))

    # ------------------------------------------------------------------ leaves
    def var(self, e: ir.Var, lanes):
        if e.name in self.scalars:
            return self.scalars[e.name]
        arr = self.vars.get(e.name)
        if arr is None:  # never assigned yet: locals start at zero
            return e.type.dtype.type(0)
        return arr if lanes is None else arr[lanes]

    def set_var(self, name: str, lanes, value) -> None:
        arr = self.vars.get(name)
        if arr is None:
            arr = self.vars[name] = np.zeros(self.n, self.var_types[name])
        if lanes is None:
            arr[...] = value
        else:
            arr[lanes] = value

    def builtin(self, e: ir.Builtin, lanes):
        name, axis = e.name, e.axis
        if name == "block_size":
            b = self.launch.block
            return np.int32(int(np.prod(b)) if axis is None else b[axis])
        if name == "num_threads":
            return np.asarray(int(np.prod(self.requested))).astype(np.int32)[()]
        key = {"thread_id": ("tid", "x", "y", "z"), "local_id": ("lid", "lx", "ly", "lz"),
               "block_id": ("bid", "bx", "by", "bz")}[name][0 if axis is None else axis + 1]
        if self.ndim == 1 and key in ("x", "lx", "bx"):
            key = {"x": "tid", "lx": "lid", "bx": "bid"}[key]
        arr = self._coord(key)
        return arr if lanes is None else arr[lanes]

    def dim(self, e: ir.Dim):
        shape = self.arrays[e.array].shape
        return np.int32(int(np.prod(shape)) if e.axis is None else shape[e.axis])

    def _flat(self, name: str, index: list, lanes, span):
        buf = self.arrays[name]
        flat = flat_index(self.kernel, name, buf.shape, index, span)
        if buf.per_block:
            base = self._coord("shared_base")
            base = base if lanes is None else base[lanes]
            flat = base * buf.per_block + flat
        return buf, flat

    def load(self, e: ir.Load, index: list, lanes):
        buf, flat = self._flat(e.array, index, lanes, e.span)
        return buf.flat[flat]

    # ------------------------------------------------------------------ statements
    def body(self, stmts: ir.Body, lanes) -> None:
        for s in stmts:
            if lanes is not None and len(lanes) == 0:
                return
            self.stmt(s, lanes)
            if self.jumps.get(id(s)):
                lanes = self._active(lanes)

    def stmt(self, s: ir.Stmt, lanes) -> None:
        if isinstance(s, ir.Assign):
            self.set_var(s.name, lanes, self.eval(s.value, lanes))
        elif isinstance(s, ir.Store):
            index = [self.eval(i, lanes) for i in s.index]
            value = self.eval(s.value, lanes)
            buf, flat = self._flat(s.array, index, lanes, s.span)
            buf.flat[flat] = value
        elif isinstance(s, ir.If):
            self._if(s, lanes)
        elif isinstance(s, ir.For):
            self._for(s, lanes)
        elif isinstance(s, ir.While):
            self._while(s, lanes)
        elif isinstance(s, ir.Atomic):
            self._atomic(s, lanes)
        elif isinstance(s, (ir.Break, ir.Continue, ir.Return)):
            flag = self.brk if isinstance(s, ir.Break) else \
                self.cont if isinstance(s, ir.Continue) else self.ret
            where = slice(None) if lanes is None else lanes
            flag[where] = True
            self.stop[where] = True
        elif isinstance(s, ir.Sync):
            pass  # lock step: every lane finished the previous statement already
        else:
            raise TypeError(f"{type(s).__name__} cannot run in a kernel")

    def _if(self, s: ir.If, lanes) -> None:
        rest = lanes
        for cond, arm in s.arms:
            n = self.count(rest)
            if n == 0:
                return
            take, rest = self._split(rest, n, self.eval(cond, rest))
            if self.count(take):
                self.body(arm, take)
        if s.orelse and self.count(rest):
            self.body(s.orelse, rest)

    def _loop(self, s: ir.Stmt, lanes, cond_of):
        """Iterate ``s.body`` while ``cond_of(active)`` holds for some lane."""
        track = bool(self.jumps.get(("loop", id(s))))
        active = lanes
        while True:
            n = self.count(active)
            if n == 0:
                return
            active, _ = self._split(active, n, cond_of(active))
            if self.count(active) == 0:
                return
            self.body(s.body, active)
            if track:
                where = slice(None) if active is None else active
                left = self.brk[where] | self.ret[where]
                self.cont[where] = False
                self.brk[where] = False
                self.stop[where] = self.ret[where]
                if left.any():
                    active = subset(active, np.flatnonzero(~left))
            self._advance(s, active)

    def _advance(self, s: ir.Stmt, active) -> None:
        """End of an iteration: a FOR variable takes its step."""
        if isinstance(s, ir.For) and self.count(active):
            step = self.eval(s.step, active) if s.step is not None \
                else self.var_types[s.var].type(1)
            self.set_var(s.var, active, self.var(_var_of(s), active) + step)

    def _for(self, s: ir.For, lanes) -> None:
        self.set_var(s.var, lanes, self.eval(s.start, lanes))
        var = _var_of(s)
        zero = self.var_types[s.var].type(0)

        def cond(active):
            i = self.var(var, active)
            stop = self.eval(s.stop, active)
            if s.step is None:
                return i < stop
            step = self.eval(s.step, active)
            if not isinstance(step, np.ndarray):
                return i < stop if step > zero else i > stop
            return np.where(step > zero, i < stop, i > stop)

        self._loop(s, lanes, cond)

    def _while(self, s: ir.While, lanes) -> None:
        self._loop(s, lanes, lambda active: self.eval(s.cond, active))

    # ------------------------------------------------------------------ atomics
    def _atomic(self, s: ir.Atomic, lanes) -> None:
        n = self.count(lanes)
        index = [self.eval(i, lanes) for i in s.index]
        value = self.eval(s.value, lanes)
        buf, flat = self._flat(s.array, index, lanes, s.span)
        target = buf.flat
        flat = np.broadcast_to(np.asarray(flat, np.intp), (n,))
        value = np.broadcast_to(np.asarray(value, target.dtype), (n,))
        old = apply_atomic(s.op, target, flat, value, want_old=s.result is not None)
        if s.result is not None:
            self.set_var(s.result, lanes, old)


def _var_of(s: ir.For) -> ir.Var:
    return ir.Var(s.span, s.var, type=s.start.type)
