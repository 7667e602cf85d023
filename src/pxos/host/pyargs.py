"""The arguments of a Python kernel call: their pxos types, and the checks every call makes.

A call is refused, with a :class:`~pxos.errors.PxArgumentError` (or ``PxTypeError``)
naming the argument, for: a Python list or tuple (pass ``numpy.asarray(x)``), a
``numpy.matrix``, a masked array (``numpy.ma``: its mask would be ignored), an array
pxos has no element type for, an array of rank outside 1..3 or of more than
``MAX_ELEMENTS`` elements, a non-contiguous array, a read-only array the
kernel writes, an array of the wrong dtype (a type error) or rank, a scalar that NumPy's
``same_kind`` rule would not cast to the parameter's type (``2.7`` or NaN to an ``i32``),
and thread counts that are not integers in ``0..MAX_ELEMENTS`` (their product too).

Overlapping arguments: an array the kernel only reads that shares memory with an array
it writes is copied before a launch on the host, so every backend reads the values from
before the call (as the device backends do, whose inputs are copies anyway); two
overlapping arrays that the kernel both writes are refused.
"""

from __future__ import annotations

import operator
from typing import Callable, Sequence

import numpy as np

from pxos.arraylike import numpy_dtype
from pxos.errors import PxArgumentError, PxShapeError, PxTypeError
from pxos.host.arrays import ndarray
from pxos.ir import nodes as ir
from pxos.ir.analysis.features import MAX_ELEMENTS
from pxos.ir.typecheck import convert_value
from pxos.ir.types import BOOL, F32, I32, Array, Scalar, scalar_of_dtype

NUMBERS = frozenset((bool, int, float, *(np.dtype(t).type for t in (
    "bool", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64",
    "float16", "float32", "float64"))))


def type_of(a, name: str):
    """The pxos type of argument ``a``: arrays by dtype and rank; Python float → f32,
    int → i32, bool → bool; NumPy scalars their own type.

    Raises:
        PxArgumentError: anything else (a list names ``numpy.asarray``).
        PxShapeError: an array of rank outside 1..3.
    """
    if isinstance(a, bool):
        return BOOL
    if isinstance(a, int):
        return I32
    if isinstance(a, float):
        return F32
    if isinstance(a, np.generic):
        found = scalar_of_dtype(a.dtype)
        if found is None:
            raise PxArgumentError(f"argument {name!r}: pxos has no type for {a.dtype}")
        return found
    if isinstance(a, (list, tuple)):
        raise PxArgumentError(f"argument {name!r} is a {type(a).__name__}; pass "
                              f"numpy.asarray({name})")
    if isinstance(a, np.matrix):
        raise PxArgumentError(f"argument {name!r} is a numpy.matrix; pass "
                              f"numpy.asarray({name})")
    if type(a).__module__.startswith("numpy.ma"):  # (not np.ma: importing it costs ms)
        raise PxArgumentError(f"argument {name!r} is a masked array, whose mask a kernel "
                              f"would not see; pass {name}.filled(value), or "
                              f"numpy.asarray({name}) for its data as they are")
    if hasattr(a, "shape") and hasattr(a, "dtype"):
        elem = scalar_of_dtype(numpy_dtype(a.dtype))
        if elem is None:
            raise PxArgumentError(f"argument {name!r}: pxos has no element type for {a.dtype}")
        if not 1 <= len(a.shape) <= 3:
            raise PxShapeError(f"argument {name!r}: arrays of rank 1 to 3, got {a.shape}")
        return Array(elem, len(a.shape))
    raise PxArgumentError(f"argument {name!r}: expected an array or a number, got "
                          f"{type(a).__name__}")


def check_against(name: str, a, t) -> None:
    """Refuse argument ``a`` for a parameter of type ``t``.

    Raises:
        PxArgumentError: an array for a number or the other way round, or another rank.
        PxTypeError: an array of another element type.
    """
    got = type_of(a, name)
    if isinstance(t, Array) != isinstance(got, Array):
        want = "an array" if isinstance(t, Array) else "a number"
        raise PxArgumentError(f"argument {name!r}: expected {want} ({t}), got {got}")
    if isinstance(t, Array) and got.ndim != t.ndim:
        raise PxArgumentError(f"argument {name!r}: expected a {t.ndim}-D array ({t}), got "
                              f"a {got.ndim}-D one of shape {tuple(a.shape)}",
                              hint="reshape it (e.g. x.reshape(-1) for 1-D)")
    if isinstance(t, Array) and got != t:
        raise PxTypeError(f"argument {name!r}: expected {t}, got {got}", hint=f"convert it (e.g. {name}.astype(numpy."
                          f"{t.elem.dtype.name}))")
    if not isinstance(t, Array):
        scalar_converter(t, name)(a)


_KINDS = {"b": 0, "u": 1, "i": 1, "f": 2}  # NumPy's same_kind order: bool < int < float
_KIND_OF = {bool: 0, int: 1, float: 2,
            **{t: _KINDS[np.dtype(t).kind] for t in NUMBERS if t not in (bool, int, float)}}


def scalar_converter(t: Scalar, name: str = "") -> Callable:
    """A function converting a Python or NumPy number to a NumPy scalar of type ``t`` as
    the language converts (``ir.typecheck.convert_value``: floats round, integers wrap),
    refusing what NumPy's ``same_kind`` casting refuses (a float for an integer, a number
    for a bool).

    Raises (the function):
        PxArgumentError: a value of a kind above ``t``'s, or not a number.
    """
    make = t.dtype.type
    rank = _KINDS[t.dtype.kind]
    info = np.iinfo(t.dtype) if not (t.is_float or t == BOOL) else None
    lo, hi = (int(info.min), int(info.max)) if info is not None else (0, 0)

    def convert(v):
        kind = _KIND_OF.get(type(v))
        if kind is None or kind > rank:
            shown = f"{v!r}" if type(v) in NUMBERS else f"a {type(v).__name__}"
            raise PxArgumentError(f"argument {name!r}: {shown} cannot be passed as {t} "
                                  "(NumPy's same_kind casting)",
                                  hint=f"convert it yourself, e.g. {t.dtype.name}(x)")
        if info is None or lo <= v <= hi:
            return make(v)
        return make(convert_value(int(v), t))
    return convert


def contiguous(name: str, writes: bool) -> Callable:
    """A function returning host array argument ``name`` as is after checking it is
    C-contiguous, not over ``MAX_ELEMENTS`` elements and, if the kernel writes it,
    writeable.

    Raises (the function):
        PxArgumentError: naming the argument.
    """
    def put(x):
        if not x.flags.c_contiguous:
            raise PxArgumentError(f"argument {name!r}: array arguments must be "
                                  "C-contiguous (row-major, no strides); pass "
                                  f"numpy.ascontiguousarray({name})")
        if writes and not getattr(x.flags, "writeable", True):  # CuPy: always
            raise PxArgumentError(f"argument {name!r} is read-only, and the kernel writes "
                                  "it", hint=f"pass a writeable array, e.g. {name}.copy()")
        if x.size > MAX_ELEMENTS:
            raise PxArgumentError(f"argument {name!r} has {x.size} elements; at most "
                                  f"{MAX_ELEMENTS} are supported")
        return x
    return put


def thread_counts(threads) -> tuple[int, ...] | None:
    """``threads=`` of a call (None, an int, or a sequence of ints) as a tuple.

    Raises:
        PxArgumentError: not integers, or a count or product outside ``0..MAX_ELEMENTS``.
    """
    if threads is None:
        return None
    try:
        counts = (operator.index(threads),) if not isinstance(threads, (tuple, list)) \
            else tuple(operator.index(t) for t in threads)
    except TypeError:
        raise PxArgumentError(f"threads={threads!r}: expected an int, or a tuple of ints "
                              "(x first)") from None
    check_launch_size(counts)
    return counts


def check_launch_size(counts: Sequence[int], name: str = "") -> None:
    """Refuse a launch of more than ``MAX_ELEMENTS`` threads or a negative count."""
    total = 1
    for c in counts:
        total *= c
    if not counts or any(c < 0 for c in counts) or total > MAX_ELEMENTS:
        who = f"kernel {name!r}: " if name else ""
        raise PxArgumentError(f"{who}a launch of {tuple(counts)} threads; each count and "
                              f"their product must be in 0..{MAX_ELEMENTS}")


def overlaps(kernel: ir.Kernel, host: bool) -> Callable[[Sequence, list], list] | None:
    """A function of a call's arguments and what was placed for them that refuses two
    overlapping NumPy arrays the kernel both writes and, when the kernel runs on the host
    (``host``), copies each read-only array argument overlapping one it writes (see the
    module docstring); None when the kernel has no such pair of parameters. Cheap:
    ``numpy.may_share_memory`` compares address ranges."""
    access = dict(kernel.access)
    arrays = [i for i, p in enumerate(kernel.params) if isinstance(p.type, Array)]
    written = [i for i in arrays if "w" in access.get(kernel.params[i].name, "")]
    read = [i for i in arrays if i not in written] if host else []
    if not written or len(arrays) < 2:
        return None

    def unalias(args, placed):
        for n, w in enumerate(written):
            for other in written[n + 1:]:
                if isinstance(args[w], np.ndarray) and isinstance(args[other], np.ndarray) \
                        and np.may_share_memory(args[w], args[other]):
                    raise PxArgumentError(
                        f"arguments {kernel.params[w].name!r} and "
                        f"{kernel.params[other].name!r} overlap in memory, and the kernel "
                        "writes both", hint="pass separate arrays")
            for r in read:
                if isinstance(placed[r], np.ndarray) \
                        and np.may_share_memory(placed[r], placed[w]):
                    placed[r] = placed[r].copy()
        return placed
    return unalias


def arg_key(a):
    """What decides a Python kernel's call plan (``host/pykernel``): the argument's class,
    and for arrays dtype and rank (and where the data is, for PyTorch tensors and pxos
    arrays); a 1-tuple of the class for an object of no known kind."""
    cls = type(a)
    if cls in NUMBERS:
        return cls
    if cls is np.ndarray or cls.__module__.startswith("cupy"):
        return cls, a.dtype, a.ndim
    if cls is ndarray:
        return cls, a.dtype, a.ndim, a.device
    if cls.__module__.startswith("torch"):
        return cls, a.dtype, a.dim(), a.is_cuda
    return (cls,)
