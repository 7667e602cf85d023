"""What differs between C, CUDA C and OpenCL C: a small object per target.

The C-family renderer (``codegen/render.py``) asks its dialect for type names, literals,
the spelling of each operation (``ir/functions``), casts, wrapping arithmetic, declarations,
loop updates and line markers, the launch-geometry names of the thread indices, and the
helper functions it needs; everything else about rendering is shared. ``codegen/c.py``
holds the C dialect; CUDA, OpenCL, HIP and WGSL dialects subclass :class:`Dialect`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from pxos.ir import nodes as ir
from pxos.errors import PxTypeError
from pxos.ir.functions import Lowering, lowering
from pxos.ir.types import BOOL, F16, F32, F64, Array, Scalar, unsigned_of

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
    types = _C_TYPES  # type names by pxos type name
    geometry = {g: f"pxos_{g}" for g in GEOMETRY}
    # spelling tables: an int32 widened for flat offsets, an extent as int32, a unit-step
    # FOR update, a statement discarding a value, a local declaration, a source line marker
    index_cast, int_cast, unit_step = "(int64_t){}", "(int32_t){}", "++{}"
    discard_stmt, declaration = "(void){};", "{type} {name} = {init};"
    line_marker = '#line {line} "{file}"'
    native_wrap = False  # whether signed + - * and negation wrap without unsigned casts
    barrier = "/* SYNC_THREADS */"  # C splits the thread code here instead (ir/passes/fission)
    simd_pragma = ""  # before the x loop of a ThreadLoop whose threads may be SIMD lanes
    intrinsics_class = None  # a subclass of codegen.intrinsics.Intrinsics, if not the C one
    shared_qualifier = ""  # how a GPU dialect declares a block's shared array
    # expression forms ({type}: a type's name): a conversion, a select, a shift (its count
    # masked to {m} = bits - 1), a bool & | ^ (by operator), a float + - * (None: plain)
    cast_form, select_form = "(({type}){x})", "({cond} ? {a} : {b})"
    shift_form = "({a} {op} ({b} & {m}))"
    bool_forms = {op: f"(bool)({{a}} {op} {{b}})" for op in "&|^"}
    float_form = None
    promotes_u16 = True  # C's integer promotion makes a u16 * u16 an int: widened first
    # by type: how a result of a narrow integer type kept in a wider value (WGSL's i8 in an
    # i32) is wrapped back into its range; index32: 64-bit indices are narrowed to i32
    narrow_forms: dict = {}
    index32 = False
    bool_words = None  # (load, store) forms of a bool element held in a wider word
    err_argument = True  # checked mode's bound helper takes pxos_err (else: it is global)

    def type_name(self, t: Scalar) -> str:
        return self.types[t.name]

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

    # -- operations: the renderer spells every operation through these (C by default)
    def cast(self, text: str, t: Scalar) -> str:
        """``text`` converted to type ``t`` (to ``bool``: whether it is non-zero)."""
        if t == BOOL:
            return f"({text} != 0)"
        return self.cast_form.format(type=self.type_name(t), x=text)

    def as_index(self, text: str) -> str:
        """``text`` (an ``int32`` expression) widened to the index type of flat offsets."""
        return self.index_cast.format(text)

    def as_int(self, text: str) -> str:
        """``text`` (an extent or launch count) as an ``int32`` value."""
        return self.int_cast.format(text)

    def select(self, cond: str, a: str, b: str) -> str:
        """``a`` where ``cond`` holds, else ``b`` (both evaluated or not: no side effects)."""
        return self.select_form.format(cond=cond, a=a, b=b)

    def binary(self, op: str, a: str, b: str, t: Scalar, wraps: bool = False) -> str:
        """``a <op> b`` in type ``t`` for a C operator ``op`` (``+ - * < == && & <<`` …);
        ``wraps``: a signed ``+ - *`` that may overflow, computed modulo ``2**bits``."""
        if wraps and not self.native_wrap:  # wraps as pxos defines, not undefined as in C
            u = self.type_name(unsigned_of(t))
            return f"(({self.type_name(t)})(({u}){a} {op} ({u}){b}))"
        if op in ("<<", ">>"):
            return self.shift_form.format(a=a, op=op, b=b, m=t.bits - 1,
                                          type=self.type_name(t))
        if t == BOOL and op in self.bool_forms:
            return self.bool_forms[op].format(a=a, b=b)
        if op == "*" and t.kind == "u" and t.bits == 16 and self.promotes_u16:
            return f"(({self.type_name(t)})((uint32_t){a} * {b}))"
        if t.is_float and op in ("+", "-", "*", "/") and self.float_form is not None:
            return self.float_form.format(a=a, op=op, b=b, type=self.type_name(t),
                                          bits="u64" if t.bits == 64 else "u32")
        return f"({a} {op} {b})"

    def negate(self, a: str, t: Scalar, wraps: bool = False) -> str:
        """``-a`` in type ``t``; ``wraps``: it may overflow (``-MIN`` is ``MIN``)."""
        if wraps and not self.native_wrap:
            return f"(({self.type_name(t)})(0 - ({self.type_name(unsigned_of(t))}){a}))"
        return f"(-({a}))" if a.startswith("-") else f"(-{a})"  # not --5.0f

    # -- statements and declarations
    def declare(self, name: str, t: Scalar, init: str) -> str:
        """The declaration of a function-local variable ``name`` of type ``t``."""
        return self.declaration.format(type=self.type_name(t), name=name, init=init)

    def shared_array(self, name: str, t: Scalar, size: int) -> str:
        """The declaration of a block's shared array of ``size`` elements."""
        return f"{self.shared_qualifier} {self.type_name(t)} {name}[{size}];"

    def increment(self, v: str) -> str:
        """The update clause of a unit-step FOR loop over variable ``v``."""
        return self.unit_step.format(v)

    def step(self, v: str, step: str, t: Scalar, wraps: bool) -> str:
        """The update clause ``v += step`` of a FOR loop; ``wraps``: it may step past the
        range of ``t``, which must wrap."""
        if wraps and not self.native_wrap:
            u = self.type_name(unsigned_of(t))
            return f"{v} = ({self.type_name(t)})(({u}){v} + ({u}){step})"
        return f"{v} += {step}"

    def discard(self, call: str) -> str:
        """A statement evaluating ``call`` for its effect only."""
        return self.discard_stmt.format(call)

    def line_directive(self, line: int, file: str) -> str:
        return self.line_marker.format(line=line, file=c_string(file))

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


def check_types(kernel: ir.Kernel, types, target: str, atomic_types=None, calls=()) -> None:
    """Refuse a kernel that uses a scalar type outside ``types`` (the ones ``target`` has),
    an ATOMIC_* on an element type outside ``atomic_types`` (default: ``types``), or a
    function on a type that ``calls`` lists as ``(name, type)`` pairs ``target`` lacks.

    Raises:
        PxTypeError: at the first parameter, shared array or statement with such a type.
    """
    def refuse(t: Scalar, span, what: str):
        raise PxTypeError(
            f"kernel {kernel.name!r}: {what} has type {t.name}, which the {target} target "
            f"lacks here; it has {', '.join(t.name for t in types)}", span,
            hint="use one of those types, or another --device (c, opencl, cuda)")
    for p in kernel.params:
        if (p.type.elem if isinstance(p.type, Array) else p.type) not in types:
            refuse(p.type.elem if isinstance(p.type, Array) else p.type, kernel.span,
                   f"parameter {p.name!r}")
    shared = {s.name: s.elem for s in kernel.shared}
    for name, t in shared.items():
        if t not in types:
            refuse(t, kernel.span, f"shared array {name!r}")
    for s in ir.walk(kernel.body):
        for e in (x for x in ir.stmt_exprs(s) for x in ir.subexprs(x)):
            if e.type not in types:
                refuse(e.type, s.span, "a value")
            if isinstance(e, ir.Call) and (e.fn, e.type) in calls:
                raise PxTypeError(f"kernel {kernel.name!r}: the {target} target has no {e.fn} "
                                  f"on {e.type.name}", s.span, hint="convert the operand")
        for name, t in kernel.variables:
            if t not in types and name in (getattr(s, a, None) for a in ("name", "var")):
                refuse(t, s.span, f"variable {name!r}")
        if isinstance(s, ir.Atomic):
            t = shared.get(s.array) or kernel.param(s.array).type.elem
            if t not in (atomic_types or types):
                refuse(t, s.span, f"the atomic's element of {s.array!r}")
