"""The data statements of a `.px` program (READ_FILE, WRITE_FILE, ALLOC, FILL, RANDOM,
SET, PRINT, CONST, SWAP, VERIFY): a part of ``host/program.ProgramRun``, which supplies the
names (``values``, ``residency``), the files, ``emit`` and the expression evaluation
(``evaluate``, ``typed``, ``_current``, ``_converted``, ``array``, ``_define_array``),
and the streamed READ_FILE … CHUNK (``_stream_step``, ``host/pipeline_stream``)."""

from __future__ import annotations

import math

import numpy as np

from pxos.backends.base import HOST
from pxos.backends.library import first_difference
from pxos.errors import PxRuntimeError, PxTypeError
from pxos.host.rng import random_fill
from pxos.host.sizes import exact_int
from pxos.ir import nodes as ir
from pxos.ir.analysis.features import MAX_ELEMENTS
from pxos.ir.evaluate import eval_scalar
from pxos.ir.types import scalar_of_dtype


class DataStatements:
    """One method per data statement, ``_<statement class, lower case>(s)``."""

    def _readfile(self, s: ir.ReadFile):
        if s.chunk is not None:  # streamed: host/pipeline_stream
            return self._stream_step(s)
        self._define_array(s.name, self.files.read(s.path, s.as_type, s.span), s.span)

    def _writefile(self, s: ir.WriteFile):
        if self._stream_step(s) is not None:
            return "stream"
        self.written.append(self.files.write(self.array(s.name, s.span), s.path, s.span))

    def _alloc(self, s: ir.Alloc):
        dims = [self._size(d, s) for d in s.dims]
        if any(n < 0 for n in dims):
            raise PxRuntimeError(f"ALLOC {s.name}: sizes must be ≥ 0, got {dims}", s.span)
        if math.prod(dims) > MAX_ELEMENTS:
            raise PxRuntimeError(f"ALLOC {s.name}: {math.prod(dims)} elements; at most "
                                 f"{MAX_ELEMENTS} are supported", s.span)
        self._define_array(s.name, np.zeros(dims, dtype=s.elem.dtype), s.span, zeros=True)

    def _size(self, e: ir.Expr, s: ir.Alloc) -> int:
        """One size of ALLOC ``s``; an error where its integer arithmetic wrapped."""
        typed = self.typed(e)
        value = int(eval_scalar(typed, self._current(typed)))
        exact = exact_int(typed, self.values)
        if exact is not None and exact != value:
            raise PxRuntimeError(f"ALLOC {s.name}: the size overflows {typed.type} ({exact} "
                                 f"wraps to {value})", e.span,
                                 "compute it in 64 bits with i64(…); an array holds "
                                 f"at most {MAX_ELEMENTS} elements")
        return value

    def _alloclike(self, s: ir.AllocLike):
        other = self.values.get(s.other)
        if not isinstance(other, np.ndarray):
            raise PxTypeError(f"{s.other!r} is not an array", s.span)
        self._define_array(s.name, np.zeros_like(other), s.span, zeros=True)

    def _fill(self, s: ir.Fill):
        arr = self.array(s.name, s.span, overwrite=True)
        arr[...] = self._converted(s.value, scalar_of_dtype(arr.dtype), f"array {s.name!r}",
                                   s.span)

    def _randomfill(self, s: ir.RandomFill):
        arr = self.array(s.name, s.span, overwrite=True)
        seed = int(self.evaluate(s.seed))
        low = None if s.low is None else self.evaluate(s.low).item()
        high = None if s.high is None else self.evaluate(s.high).item()
        random_fill(arr, seed, low, high, s.span)

    def _assign(self, s: ir.Assign):
        old = self.values.get(s.name)
        if old is None:
            self.values[s.name] = self.evaluate(s.value)
        else:  # a name keeps the type of its first assignment
            self.values[s.name] = self._converted(
                s.value, scalar_of_dtype(np.asarray(old).dtype), f"{s.name!r}", s.span)

    def _item(self, e: ir.Expr) -> str:
        if isinstance(e, ir.Str):  # control characters escaped as repr does: \x1b, \x00
            return "".join(c if c.isprintable() else repr(c)[1:-1] for c in e.value)
        value = self._operand(e)
        if isinstance(value, np.ndarray):
            return np.array2string(value, threshold=20, edgeitems=3)
        return str(value)

    def _print(self, s: ir.Print):
        self.emit(" ".join(self._item(i) for i in s.items))

    def _operand(self, e: ir.Expr, where: str | None = HOST):
        """An array named alone (its host array, with current contents if ``where`` is
        ``host``; only for its shape and dtype if None), else the value of a scalar
        expression."""
        if isinstance(e, ir.Var) and isinstance(self.values.get(e.name), np.ndarray):
            return self.residency.on_host(e.name) if where == HOST else self.values[e.name]
        return self.evaluate(e)

    def _constdef(self, s: ir.ConstDef):
        """Nothing to do: the checker put the constant's value into every use."""

    def _swap(self, s: ir.Swap):
        a, b = self.values.get(s.a), self.values.get(s.b)
        for name, v in ((s.a, a), (s.b, b)):
            if not isinstance(v, np.ndarray):
                raise PxTypeError(f"{name!r} is not an array", s.span)
        if a.dtype != b.dtype or a.shape != b.shape:
            raise PxTypeError(f"SWAP needs two arrays of the same type and shape; {s.a!r} is "
                              f"{a.dtype} {a.shape} and {s.b!r} is {b.dtype} {b.shape}",
                              s.span)
        self.values[s.a], self.values[s.b] = b, a
        self.residency.swap(s.a, s.b)

    def _verify(self, s: ir.Verify):
        tol = None if s.tol is None else float(self.evaluate(s.tol))
        why = first_difference(self._operand(s.lhs), self._operand(s.rhs), tol)
        if why is not None:
            raise PxRuntimeError(f"VERIFY failed: {why}", s.span)
