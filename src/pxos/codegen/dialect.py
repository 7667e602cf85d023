"""What differs between C, CUDA C and OpenCL C: a small object per target.

The C-family renderer (``codegen/render.py``) asks its dialect for type names, literals,
the spelling of each operation (``ir/functions``), the launch-geometry names of the thread
indices, and the helper functions it needs; everything else about rendering is shared.
``codegen/c.py`` holds the C dialect; CUDA and OpenCL dialects subclass :class:`Dialect`
the same way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from pxos.ir import nodes as ir
from pxos.ir.functions import Lowering, lowering
from pxos.ir.types import BOOL, F16, F32, F64, Scalar

_C_TYPES = {
    "bool": "bool", "i8": "int8_t", "u8": "uint8_t", "i16": "int16_t", "u16": "uint16_t",
    "i32": "int32_t", "u32": "uint32_t", "i64": "int64_t", "u64": "uint64_t",
    "f16": "_Float16", "f32": "float", "f64": "double",
}
# The launch geometry every dialect names: thread in block (lx, ly, lz), block (bx, by, bz),
# block size (bsx, bsy, bsz), blocks along x and y (gx, gy), requested threads (nx, ny, nz).
GEOMETRY = ("lx", "ly", "lz", "bx", "by", "bz", "bsx", "bsy", "bsz", "gx", "gy", "nx", "ny",
            "nz")


class Dialect:
    """The C dialect's spellings; other targets override what differs.

    Attributes:
        name: target name (``c``, ``cuda``, ``opencl``).
        geometry: C expression for each name of GEOMETRY, all of type ``int32_t``/``int64_t``.
    """

    name = "c"
    geometry = {g: f"pxos_{g}" for g in GEOMETRY}
    barrier = "/* SYNC_THREADS */"  # C splits the thread code here instead (ir/passes/fission)
    intrinsics_class = None  # a subclass of codegen.intrinsics.Intrinsics, if not the C one
    shared_qualifier = ""  # how a GPU dialect declares a block's shared array

    def type_name(self, t: Scalar) -> str:
        return _C_TYPES[t.name]

    def literal(self, value, t: Scalar) -> str:
        """A C literal of ``value`` with exactly type ``t``."""
        if t == BOOL:
            return "true" if value else "false"
        if t.is_float:
            return self._float_literal(float(value), t)
        v = int(value)
        if t.name == "i32":
            return str(v) if v != -2**31 else "(-2147483647 - 1)"
        if t.name == "u32":
            return f"{v}u"
        if t.name == "i64":
            return f"INT64_C({v})" if v != -2**63 else "(-INT64_C(9223372036854775807) - 1)"
        if t.name == "u64":
            return f"UINT64_C({v})"
        return f"(({self.type_name(t)}){v})"

    def _float_literal(self, v: float, t: Scalar) -> str:
        if math.isnan(v):
            return f"(({self.type_name(t)})NAN)"
        if math.isinf(v):
            return f"(({self.type_name(t)}){'-' if v < 0 else ''}INFINITY)"
        text = str(np.float32(v) if t in (F32, F16) else np.float64(v))
        if "." not in text and "e" not in text:
            text += ".0"
        if t == F64:
            return text
        return f"{text}f" if t == F32 else f"(({self.type_name(t)}){text}f)"

    def function(self, name: str) -> Lowering:
        """How this dialect spells operation ``name`` (``ir/functions``: its entry for
        this dialect's ``name``, else the default)."""
        return lowering(name, self.name)

    def line_directive(self, line: int, file: str) -> str:
        return f'#line {line} "{c_string(file)}"'

    def prelude(self, f16: bool = False) -> str:
        return "#include <stdint.h>\n#include <stdbool.h>\n#include <math.h>\n"

    def inline(self) -> str:
        """The qualifier of helper functions."""
        return "static inline"

    def pointer(self, t: Scalar, space: str = "global") -> str:
        """The declaration prefix of a pointer to ``t`` in memory ``space``."""
        return f"{self.type_name(t)} *"

    def pointer_int64(self) -> str:
        """The declaration prefix of the checked-mode flag buffer ``pxos_err``."""
        return "int64_t *"

    def claim(self, err: str) -> str:
        """A condition true in exactly one thread: it sets the first ``int`` of the flag
        buffer ``err`` from 0 to 1 atomically (checked mode records one violation)."""
        return f"__sync_bool_compare_and_swap((int *){err}, 0, 1)"


@dataclass(frozen=True)
class KernelSource:
    """Generated code of one kernel for one target.

    Attributes:
        kernel: the checked kernel.
        source: a complete translation unit (prelude, intrinsics, the kernel function).
        entry: the kernel function's name (``k_<name>``).
        function: the kernel function's text alone; ``intrinsics`` the helper definitions
            it calls, by name.
        checked: whether bounds checks and the ``pxos_err`` parameter are present.
    """

    kernel: ir.Kernel
    source: str
    entry: str
    function: str
    intrinsics: tuple[tuple[str, str], ...]
    checked: bool = False


def render_unit(d: Dialect, helpers, functions: list[str], f16: bool = False) -> str:
    """A translation unit: the dialect's prelude, each helper definition once (``helpers``:
    (name, text) pairs), then the functions."""
    return "\n".join([d.prelude(f16=f16), *(text for _, text in helpers), "", *functions])


def comment(text: str) -> str:
    """A C comment holding ``text``; a ``*/`` or line break in it cannot end the comment."""
    safe = "".join(ch if ch.isprintable() else " " for ch in text).replace("*/", "* /")
    return f"/* {safe} */"


def c_string(text: str) -> str:
    """``text`` for a C string literal's inside: non-printables as spaces, ``\\`` and
    ``"`` escaped."""
    safe = "".join(ch if ch.isprintable() else " " for ch in text)
    return safe.replace("\\", "\\\\").replace('"', '\\"')
