"""Types of the `.px` language and the conversion rules every backend follows.

The rules are C's "usual arithmetic conversions" (C11 6.3.1.8) with two changes the spec
(spec/px-language.md, "Types") spells out:

* an unsuffixed float literal takes the float type of the other operand (``f32`` when the
  other operand is an integer);
* ``f16`` is a storage type: like C's small integers it is promoted, here to ``f32``, before
  arithmetic (CUDA and OpenCL do not all do arithmetic in half precision).

docs/language.md gives an example of each rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np


@dataclass(frozen=True)
class Scalar:
    """A scalar type such as ``f32``.

    Attributes:
        name: the canonical spelling (``i32``, ``f32``, ``bool`` ...).
        kind: ``"b"`` bool, ``"i"`` signed integer, ``"u"`` unsigned integer, ``"f"`` float.
        bits: width in bits (8 for bool).
    """

    name: str
    kind: str
    bits: int

    @property
    def dtype(self) -> np.dtype:
        """The NumPy dtype with the same layout (made once per type: host loops ask
        for it at every launch)."""
        found = _DTYPES.get(self.name)
        if found is None:
            found = _DTYPES[self.name] = np.dtype(_NUMPY[self.name])
        return found

    @property
    def is_float(self) -> bool:
        return self.kind == "f"

    @property
    def is_int(self) -> bool:
        """True for signed and unsigned integers (not bool)."""
        return self.kind in "iu"

    @property
    def is_signed(self) -> bool:
        return self.kind in "if"

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Array:
    """An array type ``T[]``, ``T[,]`` or ``T[,,]``.

    Attributes:
        elem: the element type.
        ndim: 1, 2 or 3. Arrays are row-major (C order).
    """

    elem: Scalar
    ndim: int

    def __str__(self) -> str:
        return f"{self.elem}[{',' * (self.ndim - 1)}]"


Type = Scalar | Array

BOOL = Scalar("bool", "b", 8)
I8, U8 = Scalar("i8", "i", 8), Scalar("u8", "u", 8)
I16, U16 = Scalar("i16", "i", 16), Scalar("u16", "u", 16)
I32, U32 = Scalar("i32", "i", 32), Scalar("u32", "u", 32)
I64, U64 = Scalar("i64", "i", 64), Scalar("u64", "u", 64)
F16, F32, F64 = Scalar("f16", "f", 16), Scalar("f32", "f", 32), Scalar("f64", "f", 64)

SCALARS: dict[str, Scalar] = {
    t.name: t for t in (BOOL, I8, U8, I16, U16, I32, U32, I64, U64, F16, F32, F64)
}
ALIASES: dict[str, Scalar] = {
    "int": I32, "uint": U32, "long": I64, "float": F32, "double": F64, "byte": U8,
}
_DTYPES: dict[str, np.dtype] = {}
_NUMPY = {
    "bool": "bool", "i8": "int8", "u8": "uint8", "i16": "int16", "u16": "uint16",
    "i32": "int32", "u32": "uint32", "i64": "int64", "u64": "uint64",
    "f16": "float16", "f32": "float32", "f64": "float64",
}


def scalar_named(name: str) -> Scalar | None:
    """The scalar type spelled ``name`` (canonical or alias), or ``None``."""
    return SCALARS.get(name) or ALIASES.get(name)


def scalar_of_dtype(dtype: np.dtype) -> Scalar | None:
    """The scalar type of a NumPy dtype, or ``None`` if `.px` has no such type."""
    d = np.dtype(dtype)
    found = _OF_DTYPE.get(d)
    if found is None and d not in _OF_DTYPE:  # each dtype compared once (calls are hot)
        found = _OF_DTYPE[d] = next((SCALARS[name] for name, npname in _NUMPY.items()
                                     if d == np.dtype(npname)), None)
    return found


_OF_DTYPE: dict[np.dtype, Scalar | None] = {}


def promote(t: Scalar) -> Scalar:
    """C's integer promotion (bool and integers narrower than 32 bits become ``i32``),
    extended to ``f16`` (becomes ``f32``)."""
    if t.kind in "biu" and t.bits < 32:
        return I32
    if t == F16:
        return F32
    return t


def common_type(a: Scalar, b: Scalar) -> Scalar:
    """The type both operands convert to before a binary operation (C11 6.3.1.8).

    Literal handling (the float-literal rule) is the checker's job; this function sees the
    operand types after it.
    """
    a, b = promote(a), promote(b)
    if a == b:
        return a
    if a.is_float or b.is_float:
        if a.is_float and b.is_float:
            return a if a.bits >= b.bits else b
        return a if a.is_float else b
    if a.kind == b.kind:
        return a if a.bits >= b.bits else b
    signed, unsigned = (a, b) if a.kind == "i" else (b, a)
    if unsigned.bits >= signed.bits:
        return unsigned
    return signed  # a wider signed type holds every value of the unsigned one


def unsigned_of(t: Scalar) -> Scalar:
    """The unsigned integer type of the same width (for rotations and logical shifts)."""
    return SCALARS["u" + str(t.bits)] if t.kind == "i" else t


def fits(value: int, t: Scalar) -> bool:
    """Whether integer ``value`` is representable in integer type ``t``."""
    low, high = _int_range(t.dtype)
    return low <= value <= high


@cache
def _int_range(dtype: np.dtype) -> tuple[int, int]:
    info = np.iinfo(dtype)  # slow to make: ask once per type
    return int(info.min), int(info.max)
