"""The names a Python kernel is written with: types, launch indices, shared memory, atomics.

Inside a ``@pxos.kernel`` function these objects are never called: the front-end
(``lang/py/frontend``) reads the function's source and resolves each name it uses to one of
these objects (through the function's globals, so ``import pxos as px`` and ``from pxos
import f32`` both work). Outside a kernel the types are ordinary conversions
(``pxos.f32(1.5)`` is ``numpy.float32(1.5)``) and the kernel-only functions raise
:class:`PxError` saying where they belong.
"""

from __future__ import annotations

from pxos.errors import PxError
from pxos.ir import types as t


class DType:
    """A scalar type of `.px` as a Python object: an annotation (``x: pxos.f32``), a cast in
    a kernel (``pxos.f32(i)``), an array element type (``pxos.Array[pxos.f32, 2]``), and a
    NumPy conversion outside kernels.

    Attributes:
        scalar: the IR type (``ir.types.Scalar``).
        dtype: the NumPy dtype.
    """

    def __init__(self, scalar: t.Scalar):
        self.scalar = scalar
        self.dtype = scalar.dtype

    def __call__(self, value):
        """``value`` converted to this type, as NumPy converts (outside kernels)."""
        return self.dtype.type(value)

    def __repr__(self) -> str:
        return f"pxos.{self.scalar.name}"


bool_ = DType(t.BOOL)
i8, u8, i16, u16 = DType(t.I8), DType(t.U8), DType(t.I16), DType(t.U16)
i32, u32, i64, u64 = DType(t.I32), DType(t.U32), DType(t.I64), DType(t.U64)
f16, f32, f64 = DType(t.F16), DType(t.F32), DType(t.F64)
DTYPES = (bool_, i8, u8, i16, u16, i32, u32, i64, u64, f16, f32, f64)


class ArrayType:
    """``pxos.Array[pxos.f32, 2]``: an array parameter's annotation (element type, rank
    1 to 3; the rank defaults to 1)."""

    def __init__(self, elem: DType, ndim: int = 1):
        if not isinstance(elem, DType) or ndim not in (1, 2, 3):
            raise PxError(f"pxos.Array[element type, rank]: element a pxos type "
                          f"(pxos.f32, …), rank 1, 2 or 3; got {elem!r}, {ndim!r}")
        self.type = t.Array(elem.scalar, ndim)

    def __repr__(self) -> str:
        return f"pxos.Array[pxos.{self.type.elem.name}, {self.type.ndim}]"


class _ArrayFactory:
    def __getitem__(self, key) -> ArrayType:
        return ArrayType(*key) if isinstance(key, tuple) else ArrayType(key)

    def __repr__(self) -> str:
        return "pxos.Array"


Array = _ArrayFactory()


def _kernel_only(name: str, doc: str):
    def marker(*args, **kwargs):
        raise PxError(f"pxos.{name}() works only inside a @pxos.kernel function")
    marker.__name__ = marker.__qualname__ = name
    marker.__doc__ = doc + "\n\nOnly inside a ``@pxos.kernel`` function."
    return marker


parallel = _kernel_only(
    "parallel", "``for i in pxos.parallel(n):``, ``for y, x in pxos.parallel(h, w):`` or "
    "``for z, y, x in pxos.parallel(d, h, w):``: the kernel's grid, one thread per index "
    "(the outermost loop of a loop-form kernel; the last extent is x).")
thread_id = _kernel_only(
    "thread_id", "The thread's global index: ``thread_id()`` (linear), ``thread_id(0)`` "
    "(x), ``thread_id(1)`` (y), ``thread_id(2)`` (z).")
local_id = _kernel_only("local_id", "The thread's index in its block (``axis`` as thread_id).")
block_id = _kernel_only("block_id", "The block's index in the grid (``axis`` as thread_id).")
block_size = _kernel_only("block_size", "Threads per block (``axis`` as thread_id).")
num_threads = _kernel_only("num_threads", "Threads requested in all.")
shared = _kernel_only(
    "shared", "``tile = pxos.shared(256, pxos.f32)`` or ``pxos.shared((16, 16), pxos.f32)``: "
    "an array shared by a block's threads (constant shape).")
sync_threads = _kernel_only(
    "sync_threads", "A barrier: every thread of the block waits here (every thread must "
    "reach it).")
_ATOMIC = {"add": "a[i] + v", "min": "min(a[i], v)", "max": "max(a[i], v)",
           "and": "a[i] & v", "or": "a[i] | v", "xor": "a[i] ^ v", "exch": "v"}
atomic_add, atomic_min, atomic_max, atomic_and, atomic_or, atomic_xor, atomic_exch = (
    _kernel_only(f"atomic_{op}", f"``old = pxos.atomic_{op}(a, i, v)``: a[i] = {new} "
                                 "atomically (``i`` a tuple for 2-D arrays); returns the old "
                                 "value.") for op, new in _ATOMIC.items())
select = _kernel_only("select", "``pxos.select(c, a, b)``: ``a`` where ``c`` else ``b``.")
rotl = _kernel_only("rotl", "``pxos.rotl(x, n)``: rotate the bits of ``x`` left by ``n``.")
rotr = _kernel_only("rotr", "``pxos.rotr(x, n)``: rotate the bits of ``x`` right by ``n``.")
fma = _kernel_only("fma", "``pxos.fma(a, b, c)``: ``a * b + c`` with one rounding.")
rsqrt = _kernel_only("rsqrt", "``pxos.rsqrt(x)``: ``1 / sqrt(x)``.")
