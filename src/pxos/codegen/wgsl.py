"""The WGSL dialect: a kernel as one ``@compute`` entry point of a WebGPU shader module.

Types, refusals (``PxTypeError``) and rounding are those of docs/backends.md ("WGSL and the
``webgpu`` backend"): 8- and 16-bit integers live in 32-bit values, wrapped back into range
after each operation; a float ``+ - *`` result's bits are XORed with ``pxos_nc``, a zero from
the uniform buffer, so that no compiler fuses or reassociates it; ``f32`` ``/`` and ``sqrt``
are correctly rounded. Helpers of one type are WGSL source in the prelude
``codegen/wgsl_exact.wgsl`` (:func:`prelude`), the others templates here. Layout: binding 0
is the uniform ``PxosParams`` of ``codegen/uniform``; binding ``1 + k`` is array parameter
``k``; then ``pxos_err`` (checked mode: seven ``i32``). A 1-D grid of more than 65535 blocks
comes as rows of 65535. The outline is ``codegen/gpu``'s; this module holds WGSL's spellings.
"""

from __future__ import annotations

import math
import re
from dataclasses import replace
from functools import cache
from pathlib import Path

from pxos.codegen.dialect import KernelSource, check_types
from pxos.codegen.gpu import GpuDialect, render_gpu
from pxos.codegen.intrinsics import Intrinsics
from pxos.codegen.render import Renderer, var_name
from pxos.codegen.uniform import uniform_fields
from pxos.ir import nodes as ir
from pxos.ir.functions import Lowering, lowering
from pxos.ir.passes.fold import fold_constants
from pxos.ir.typecheck import convert_value
from pxos.ir.types import BOOL, F32, F64, I8, I16, I32, I64, U8, U16, U32, U64, Array, Scalar

TYPES = {BOOL: "bool", I8: "i32", I16: "i32", I32: "i32", U8: "u32", U16: "u32", U32: "u32",
         F32: "f32", I64: "i64", U64: "u64", F64: "f64"}
WIDE = (I64, U64, F64)
_NO_F64 = [(fn, F64) for fn in ("exp", "log", "sin", "cos", "tanh", "pow")]  # Vulkan: f32 only
_NARROW = {U8: "({} & 0xffu)", U16: "({} & 0xffffu)", I8: "(({} << 24u) >> 24u)",
           I16: "(({} << 16u) >> 16u)"}
_SUFFIX = {I32: "i", U32: "u", F32: "f", I64: "li", U64: "lu", F64: "lf"}
_UNSIGNED = {8: "u32", 16: "u32", 32: "u32", 64: "u64"}  # as wide as a type, 32 bits or more


def storage_type(t: Scalar, atomic: bool = False) -> str:
    """The WGSL element type of an array of ``t`` in memory (bits for a float atomic)."""
    name = _UNSIGNED[t.bits] if atomic and t.is_float else "u32" if t == BOOL else TYPES[t]
    return f"atomic<{name}>" if atomic else name


# helper bodies by kind, in a, b (T: the WGSL type, U: unsigned as wide); C's semantics
# (docs/language.md). Signed / and % divide magnitudes as unsigned numbers: Vulkan leaves
# SPIR-V's OpSRem/OpSMod undefined for negative operands, and NVIDIA's driver errs there.
_ZERO = "if (b == {T}(0)) {{ return {T}(0); }} "
_MAGNITUDES = ("let ua = select(bitcast<{U}>(a), {U}(0) - bitcast<{U}>(a), a < {T}(0)); "
               "let ub = select(bitcast<{U}>(b), {U}(0) - bitcast<{U}>(b), b < {T}(0)); ")
_HELPERS = {
    "div": _ZERO + "return a / b;", "mod": _ZERO + "return a % b;",
    "sdiv": _ZERO + _MAGNITUDES + "let q = ua / ub; "
            "return bitcast<{T}>(select(q, {U}(0) - q, (a < {T}(0)) != (b < {T}(0))));",
    "smod": _ZERO + _MAGNITUDES + "let r = ua % ub; "
            "return bitcast<{T}>(select(r, {U}(0) - r, a < {T}(0)));",
    "abs": "return select(a, {T}(0) - a, a < {T}(0));",  # abs(MIN) is MIN, wrapping
    "round": "let r = trunc(a); if (abs(a - r) >= {T}(0.5)) {{ return r + sign(a); }} return r;",
    "fmin": "if (a != a) {{ return b; }} if (b != b) {{ return a; }} return min(a, b);",
    "fmax": "if (a != a) {{ return b; }} if (b != b) {{ return a; }} return max(a, b);",
    "rotl": "let x = bitcast<{U}>(a){mask}; let s = u32(b) & {m}u; "
            "return bitcast<{T}>({U}((x << s) | (x >> (({w}u - s) & {m}u))));",
}
_HELPERS["rotr"] = _HELPERS["rotl"].replace("(x << s) | (x >>", "(x >> s) | (x <<")
# where WGSL spells an operation of ir/functions unlike OpenCL C: helpers (module docstring)
_FUNCTIONS = {
    "abs": Lowering("abs({0})", "@abs", "{0}"), "round": Lowering("@round", "{0}"),
    "min": Lowering("@fmin", "min({0}, {1})"), "max": Lowering("@fmax", "max({0}, {1})"),
    "div": Lowering("@fdiv", "@div"), "mod": Lowering("@fmod", "@mod"),
    "sqrt": Lowering("@fsqrt"), "rsqrt": Lowering("@rsqrt"),
    "select": Lowering(*["select(({2}), ({1}), ({0}))"] * 2),
    **{f"atomic_{op}": Lowering(f"@atomic_{op}", "atomic{}({{0}}, {{1}})".format(
        "Exchange" if op == "exch" else op.capitalize())) for op in ir.ATOMIC_OPS},
}
PRELUDE = Path(__file__).with_name("wgsl_exact.wgsl")  # WGSL source, shipped with pxos


@cache
def prelude(name: str) -> dict[str, str]:
    """Function ``name`` of :data:`PRELUDE` after the prelude functions it calls, by name, in
    order (the text is the backend's cache key); empty if none (OSError: no PRELUDE file)."""
    text = PRELUDE.read_text(encoding="utf-8")
    found = {m[1]: m[0] for m in re.finditer(r"^fn (\w+)\(.*?^}$", text, re.M | re.S)}
    out: dict[str, str] = {}
    for callee in dict.fromkeys(re.findall(r"\b(pxos_\w+)\(", found.get(name, ""))):
        out |= prelude(callee) if callee != name else {}
    return out | {name: found[name]} if name in found else {}


class WgslIntrinsics(Intrinsics):
    """Helpers from :func:`prelude` (with the functions they call), else :data:`_HELPERS`."""

    def define(self, fname: str, kind: str, t: Scalar) -> str:
        if functions := prelude(fname):
            self.needed.update(functions)
            return functions[fname]
        T, w = TYPES[t], t.bits
        kind = "s" + kind if t.kind == "i" and kind in ("div", "mod") else kind
        body = _HELPERS[kind].format(T=T, U=_UNSIGNED[t.bits], w=w, m=w - 1,
                                     mask=f" & u32({2**w - 1})" if w < 32 else "")
        params = ", ".join(f"{v}: {T}" for v in "ab"[:1 + (kind not in ("round", "abs"))])
        return f"fn {fname}({params}) -> {T} {{ {body} }}"


class WgslRenderer(Renderer):
    """Atomic arrays accessed atomically (``atomic<T>`` elements have no plain access)."""

    def __init__(self, kernel: ir.Kernel, dialect: WgslDialect):
        super().__init__(kernel, dialect)
        self.atomic = {s.array for s in ir.walk(kernel.body) if isinstance(s, ir.Atomic)}

    def index(self, e: ir.Expr) -> str:
        """An index as an ``i32`` (the checked-mode bound helper takes one; WGSL converts
        nothing implicitly); a 64-bit constant one as an ``i32`` literal (naga converts no
        64-bit literal)."""
        if isinstance(e, ir.Const) and e.type.bits == 64:
            return self.d.literal(convert_value(e.value, I32), I32)
        text = super().index(e)
        return self.d.cast(text, I32) if e.type.bits < 64 and e.type != I32 else text

    def _e_cast(self, e: ir.Cast) -> str:
        """A 32-bit integer to a 64-bit one of the other signedness through the 64-bit type
        of its own (naga's ``u64(i32)`` zero-extends and ``i64(u32)`` sign-extends; C
        extends by the source's signedness). (A cast of a constant is folded before:
        ``ir/passes/fold``.)"""
        v, to = e.operand, e.to
        if to.bits == 64 and v.type.is_int and v.type.bits < 64 and v.type.kind != to.kind:
            wide = I64 if v.type.kind == "i" else U64
            return self.d.cast(self.d.cast(self.expr(v), wide), to)
        return super()._e_cast(e)

    def _e_load(self, e: ir.Load) -> str:
        text, t = super()._e_load(e), self.kernel_array_elem(e.array)
        text = f"atomicLoad(&{text})" if e.array in self.atomic else text
        return f"bitcast<{TYPES[t]}>({text})" if e.array in self.atomic and t.is_float else text

    def _s_store(self, s: ir.Store, indent: int) -> list[str]:
        if s.array not in self.atomic:
            return super()._s_store(s, indent)
        t, element, value = self.kernel_array_elem(s.array), self.element(s.array, s.index), \
            self.expr(s.value)
        value = f"bitcast<{_UNSIGNED[t.bits]}>({value})" if t.is_float else value
        return [f"atomicStore(&{element}, {value});"]

    def _s_atomic(self, s: ir.Atomic, indent: int) -> list[str]:
        """Float atomics: a compare-and-swap loop on the element's bits (WGSL has none)."""
        t = self.kernel_array_elem(s.array)
        if not t.is_float:
            return super()._s_atomic(s, indent)
        T, U, p = TYPES[t], _UNSIGNED[t.bits], f"&{self.element(s.array, s.index)}"
        new = {"add": "o + v", "min": "select(o, v, v < o)", "max": "select(o, v, o < v)",
               "exch": "v"}[s.op]
        out = "" if s.result is None else f" {self.variable(s.result)} = bitcast<{T}>(old);"
        return [f"{{ let v = {self.expr(s.value)}; var old = atomicLoad({p}); loop {{ "
                f"let o = bitcast<{T}>(old); let r = atomicCompareExchangeWeak({p}, old, "
                f"bitcast<{U}>({new})); if (r.exchanged) {{ break; }} old = r.old_value; }}"
                f"{out} }}"]


class WgslDialect(GpuDialect):
    """WGSL's tables and GPU outline hooks; ``wide``: ``shader-int64`` and ``shader-f64``."""

    name = "wgsl"
    types = {t.name: n for t, n in TYPES.items()}
    barrier = "storageBarrier(); workgroupBarrier();"
    intrinsics_class, renderer_class = WgslIntrinsics, WgslRenderer
    index_cast = int_cast = "{}"
    cast_form, shift_form = "{type}({x})", "({a} {op} u32({b} & {type}({m})))"
    select_form = "select(({b}), ({a}), ({cond}))"  # (…): `x < y, z > w` is no template list
    bool_forms, promotes_u16 = {"^": "({a} != {b})"}, False
    # float + - * kept from fusing and reassociating (module docstring)
    float_form = "bitcast<{type}>(bitcast<{bits}>({a} {op} {b}) ^ {bits}(pxos_nc))"
    unit_step, discard_stmt, line_marker = "{}++", "_ = {};", "// line {line}"
    declaration = "var {name}: {type} = {init};"
    native_wrap = True  # integer + - * and negation wrap in WGSL (§8.7)
    narrow_forms, index32, bool_words = _NARROW, True, ("({} != 0u)", "select(0u, 1u, {})")
    err_argument = False  # pxos_err is a global binding
    module_shared, early_return = True, "if ({}) {{ return; }}"
    constant_form = "let {name} = {value};"

    def __init__(self, wide: bool = False):
        self.wide = wide

    def literal(self, value, t: Scalar) -> str:
        if t == BOOL:
            return "true" if value else "false"
        T, v = TYPES[t], float(value) if t.is_float else int(value)
        if t.is_float and (v != v or abs(v) == float("inf")):
            return f"{T}(bitcast<f32>({0x7fc00000 if v != v else 0x7f800000 | (v < 0) << 31}u))"
        if t.is_float:
            text = super()._float_literal(v, F64 if t == F64 else F32).rstrip("f")
            return f"{T}({text}{_SUFFIX[t]})" if text.startswith("-") else text + _SUFFIX[t]
        s = _SUFFIX[t] if t.bits == 64 else T[0]
        return f"{v}{s}" if v >= 0 else f"({v + 1}{s} - 1{s})"

    def cast(self, text: str, t: Scalar) -> str:
        if t in (I64, U64):  # lavapipe compares i64(x) < 1li wrongly unless it is opaque
            return f"({TYPES[t]}({text}) ^ {TYPES[t]}(pxos_nc))"
        return super().cast(text, t)

    def negate(self, a: str, t: Scalar, wraps: bool = False) -> str:
        """``-a``; of an unsigned type ``(0u - a)``, as WGSL has no unary minus for it."""
        return f"({self.literal(0, t)} - {a})" if t.kind == "u" else super().negate(a, t, wraps)

    def function(self, name: str) -> Lowering:
        """WGSL's spelling of operation ``name``: :data:`_FUNCTIONS`, else OpenCL's (its
        math functions are overloaded on the type under WGSL's names too)."""
        return _FUNCTIONS.get(name) or lowering(name, "opencl")

    def admit(self, kernel: ir.Kernel) -> None:
        """Refuse what WGSL cannot run (module docstring): ``PxTypeError`` at the parameter
        or statement using a missing type or function."""
        types = [t for t in TYPES if self.wide or t not in WIDE]
        check_types(kernel, types, "WGSL", [t for t in types if t.bits >= 32], _NO_F64)

    def kernel_head(self, kernel: ir.Kernel, fn: str, checked: bool) -> list[str]:
        return [f"@compute @workgroup_size({', '.join(map(str, _block(kernel)))})",
                f"fn {fn}(@builtin(local_invocation_id) pxos_lid: vec3<u32>, "
                "@builtin(workgroup_id) pxos_wid: vec3<u32>, "
                "@builtin(num_workgroups) pxos_nwg: vec3<u32>) {"]

    def launch_geometry(self, kernel: ir.Kernel) -> list[tuple[str, str]]:
        """The builtins' components; a 1-D grid's block x counts the rows of workgroups."""
        out = [(f"pxos_{g}{a}", f"i32({v}.{a})") for a in "xyz"
               for g, v in (("l", "pxos_lid"), ("b", "pxos_wid"))]
        out += [(f"pxos_bs{a}", f"{n}i") for a, n in zip("xyz", _block(kernel))]
        out += [("pxos_gx", "i32(pxos_nwg.x)"), ("pxos_gy", "i32(pxos_nwg.y)")]
        if kernel.ndim == 1:  # a 1-D grid may come as rows of workgroups (module docstring)
            out[1] = ("pxos_bx", "i32(pxos_wid.x + pxos_wid.y * pxos_nwg.x)")
            out[-2] = ("pxos_gx", f"(pxos_p.pxos_nx + {kernel.block[0] - 1}) / {kernel.block[0]}")
        return out

    def kernel_prologue(self, kernel: ir.Kernel, r: Renderer) -> list[str]:
        """A 1-D grid's return past the last block, the uniform's words, the scalars."""
        out = ["if (pxos_bx >= pxos_gx) { return; }"] * (kernel.ndim == 1)
        out += [f"let {n} = pxos_p.{n};" for n, _ in uniform_fields(kernel) if n[:2] != "v_"]
        for v, t in ((var_name(p.name), p.type) for p in kernel.params):
            if not isinstance(t, Array):
                out.append(self.declare(v, t, f"bitcast<{TYPES[t]}>(u64(pxos_p.{v}_lo) | "
                                        f"(u64(pxos_p.{v}_hi) << 32u))" if t.bits == 64
                                        else f"pxos_p.{v}" + " != 0u" * (t == BOOL)))
        return out

    def module(self, kernel: ir.Kernel, r: Renderer, helpers, function: str,
               checked: bool) -> str:
        """The uniform ``PxosParams``, bindings, shared arrays, helpers and ``function``."""
        arrays = [(var_name(p.name), p.type.elem, p.name in r.atomic) for p in kernel.params
                  if isinstance(p.type, Array)]
        head = ["struct PxosParams {", *[f"    {n}: {storage_type(t)}," for n, t in
                                         uniform_fields(kernel)], "}",
                "@group(0) @binding(0) var<uniform> pxos_p: PxosParams;"]
        head += [f"@group(0) @binding({k}) var<storage, read_write> {v}: "
                 f"array<{storage_type(t, atomic)}>;" for k, (v, t, atomic) in
                 enumerate(arrays + [("pxos_err", I32, True)] * checked, start=1)]
        head += [f"var<workgroup> {var_name(s.name)}: array<"
                 f"{storage_type(s.elem, s.name in r.atomic)}, {math.prod(s.shape)}>;"
                 for s in kernel.shared]
        return "\n".join(head + [""] + [h for _, h in helpers] + ["", function])


def _block(kernel: ir.Kernel) -> tuple[int, int, int]:
    return tuple(kernel.block) + (1,) * (3 - len(kernel.block))


def render_wgsl(kernel: ir.Kernel, checked: bool = False, wide: bool = False) -> KernelSource:
    """The WGSL module of a checked kernel (module docstring for its layout); ``wide``: the
    device has ``shader-int64`` and ``shader-f64``.

    Raises:
        PxTypeError: ``kernel`` uses what WGSL lacks (:meth:`WgslDialect.admit`).
    """
    kernel = replace(kernel, body=fold_constants(kernel.body))  # ir/passes/fold: why
    return render_gpu(kernel, WgslDialect(wide), checked)
