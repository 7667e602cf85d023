"""The WGSL dialect: a kernel as one ``@compute`` entry point of a WebGPU shader module.

Types, refusals (``PxTypeError``) and rounding are those of docs/backends.md ("WGSL and the
``webgpu`` backend"): 8- and 16-bit integers live in 32-bit values, wrapped back into range
after each operation; a float ``+ - * /`` result's bits are XORed with ``pxos_nc``, a zero
from the uniform buffer, so that no compiler fuses or reassociates it. Layout: binding 0 is
a uniform ``PxosParams`` of 4-byte words (``pxos_nx, ny, nz``, ``pxos_nc``, then per
parameter a scalar, a 64-bit one as ``_lo``/``_hi``, or an array's extents ``d0_a, …``);
binding ``1 + k`` is array parameter ``k``; then ``pxos_err`` (checked mode: seven ``i32``).
A 1-D grid of more than 65535 blocks comes as rows of 65535.
"""

from __future__ import annotations

import math

from pxos.codegen.dialect import KernelSource, check_types
from pxos.codegen.gpu import GpuDialect, render_gpu
from pxos.codegen.intrinsics import Intrinsics
from pxos.codegen.render import Renderer, dim_name, var_name
from pxos.ir import nodes as ir
from pxos.ir.functions import Lowering, lowering
from pxos.ir.types import BOOL, F32, F64, I8, I16, I32, I64, U8, U16, U32, U64, Array, Scalar

TYPES = {BOOL: "bool", I8: "i32", I16: "i32", I32: "i32", U8: "u32", U16: "u32", U32: "u32",
         F32: "f32", I64: "i64", U64: "u64", F64: "f64"}
WIDE = (I64, U64, F64)
_NO_F64 = [(fn, F64) for fn in ("exp", "log", "sin", "cos", "tanh", "pow")]  # Vulkan: f32 only
_NARROW = {U8: "({} & 0xffu)", U16: "({} & 0xffffu)", I8: "(({} << 24u) >> 24u)",
           I16: "(({} << 16u) >> 16u)"}
_SUFFIX = {I32: "i", U32: "u", F32: "f", I64: "li", U64: "lu", F64: "lf"}


def storage_type(t: Scalar, atomic: bool = False) -> str:
    """The WGSL element type of an array of ``t`` in memory (bits for a float atomic)."""
    name = "u32" if t == BOOL else ("u64" if t == F64 else "u32") if atomic and t.is_float \
        else TYPES[t]
    return f"atomic<{name}>" if atomic else name


# helper bodies by kind, in parameters a, b (T: the WGSL type, U: unsigned of its width);
# C's semantics, as docs/language.md. Signed / and % divide the magnitudes as unsigned
# numbers: Vulkan leaves SPIR-V's OpSRem/OpSMod undefined for negative operands (its
# "SPIR-V environment" appendix), and NVIDIA's driver answers wrongly there.
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
    # exact: subtract the largest |b| * 2**k not above |a|, exactly each time (Sterbenz);
    # a NaN of the type itself where fmod is NaN (no float % by 0)
    "fmod": "let y = abs(b); var r = abs(a); if (y == 0 || r - r != 0 || b != b) {{ return "
            "bitcast<{T}>({nan}); }} loop {{ if (r < y) {{ break; }} let e = i32(frexp(r).exp"
            " - frexp(y).exp); var d = ldexp(y, e); if (d > r) {{ d = ldexp(y, e - 1); }} "
            "r = r - d; }} return select(r, -r, (bitcast<{U}>(a) >> {m}u) != {U}(0));",
    "fdiv": "return bitcast<{T}>(bitcast<{U}>(a / b) ^ {U}(pxos_p.pxos_nc));",
    "rotl": "let x = bitcast<{U}>(a){mask}; let s = u32(b) & {m}u; "
            "return bitcast<{T}>({U}((x << s) | (x >> (({w}u - s) & {m}u))));",
}
_HELPERS["rotr"] = _HELPERS["rotl"].replace("(x << s) | (x >>", "(x >> s) | (x <<")
# where WGSL spells an operation of ir/functions unlike OpenCL C: float / as a helper that
# keeps the quotient from fusing (see ``binary``), C's fmin/fmax/fmod/round as helpers
_FUNCTIONS = {
    "abs": Lowering("abs({0})", "@abs", "{0}"), "round": Lowering("@round", "{0}"),
    "min": Lowering("@fmin", "min({0}, {1})"), "max": Lowering("@fmax", "max({0}, {1})"),
    "div": Lowering("@fdiv", "@div"), "mod": Lowering("@fmod", "@mod"),
    "select": Lowering(*["select(({2}), ({1}), ({0}))"] * 2),
    **{f"atomic_{op}": Lowering(f"@atomic_{op}", f"atomic{name}({{0}}, {{1}})") for op, name in (
        ("add", "Add"), ("min", "Min"), ("max", "Max"), ("and", "And"), ("or", "Or"),
        ("xor", "Xor"), ("exch", "Exchange"))},  # integer atomics: WGSL's own
}
_BOUND = """fn pxos_bound_i64(i: i32, n: i32, line: i32, col: i32, array: i32, axis: i32) -> i32 {
    if (i >= 0 && i < n) { return i; }
    loop { let r = atomicCompareExchangeWeak(&pxos_err[0], 0, 1);
        if (r.exchanged) { atomicStore(&pxos_err[1], line); atomicStore(&pxos_err[2], col);
            atomicStore(&pxos_err[3], array); atomicStore(&pxos_err[4], axis);
            atomicStore(&pxos_err[5], i); atomicStore(&pxos_err[6], n); break; }
        if (r.old_value != 0) { break; } }
    return 0;
}"""


class WgslIntrinsics(Intrinsics):
    """Helpers in WGSL: :data:`_HELPERS`, and the checked-mode bound (records the first
    violation in ``pxos_err``)."""

    def call(self, kind: str, t: Scalar, *args: str) -> str:
        if kind == "bound":
            self.needed["pxos_bound_i64"] = _BOUND
            return f"pxos_bound_i64({', '.join(args[:-1])})"  # pxos_err: a global binding
        fname = f"pxos_{kind}_{t.name}"
        self.needed.setdefault(fname, self._helper(fname, kind, t))
        return f"{fname}({', '.join(args)})"

    def _helper(self, fname: str, kind: str, t: Scalar) -> str:
        T, w = TYPES[t], t.bits
        kind = "s" + kind if t.kind == "i" and kind in ("div", "mod") else kind
        body = _HELPERS[kind].format(
            T=T, U="u64" if w == 64 else "u32", w=w, m=w - 1,
            mask=f" & u32({2**w - 1})" if w < 32 else "",
            nan="0x7ff8000000000000lu" if w == 64 else "0x7fc00000u")
        params = ", ".join(f"{v}: {T}" for v in "ab"[:1 + (kind not in ("round", "abs"))])
        return f"fn {fname}({params}) -> {T} {{ {body} }}"


class WgslRenderer(Renderer):
    """``bool`` elements as words, and atomic arrays accessed atomically (WGSL's
    ``atomic<T>`` elements have no plain loads and stores)."""

    def __init__(self, kernel: ir.Kernel, dialect: WgslDialect):
        super().__init__(kernel, dialect)
        self.atomic = {s.array for s in ir.walk(kernel.body) if isinstance(s, ir.Atomic)}

    def _e_load(self, e: ir.Load) -> str:
        text, t = super()._e_load(e), self.kernel_array_elem(e.array)
        if e.array not in self.atomic:
            return text
        return f"bitcast<{TYPES[t]}>(atomicLoad(&{text}))" if t.is_float \
            else f"atomicLoad(&{text})"

    def _s_store(self, s: ir.Store, indent: int) -> list[str]:
        if s.array not in self.atomic:
            return super()._s_store(s, indent)
        t, element, value = self.kernel_array_elem(s.array), self.element(s.array, s.index), \
            self.expr(s.value)
        value = f"bitcast<{storage_type(t, True)[7:-1]}>({value})" if t.is_float else value
        return [f"atomicStore(&{element}, {value});"]

    def _s_atomic(self, s: ir.Atomic, indent: int) -> list[str]:
        """Float atomics: a compare-and-swap loop on the element's bits (WGSL has none)."""
        t = self.kernel_array_elem(s.array)
        if not t.is_float:
            return super()._s_atomic(s, indent)
        T, U, p = TYPES[t], storage_type(t, True)[7:-1], f"&{self.element(s.array, s.index)}"
        new = {"add": "o + v", "min": "select(o, v, v < o)", "max": "select(o, v, o < v)",
               "exch": "v"}[s.op]
        out = "" if s.result is None else f" {self.variable(s.result)} = bitcast<{T}>(old);"
        return [f"{{ let v = {self.expr(s.value)}; var old = atomicLoad({p}); loop {{ "
                f"let o = bitcast<{T}>(old); let r = atomicCompareExchangeWeak({p}, old, "
                f"bitcast<{U}>({new})); if (r.exchanged) {{ break; }} old = r.old_value; }}"
                f"{out} }}"]


_GEOMETRY = """let pxos_nx = pxos_p.pxos_nx; let pxos_ny = pxos_p.pxos_ny; let pxos_nz = pxos_p.pxos_nz;
let pxos_nc = pxos_p.pxos_nc; let pxos_bsx = {}i; let pxos_bsy = {}i; let pxos_bsz = {}i;
let pxos_lx = i32(pxos_lid.x); let pxos_ly = i32(pxos_lid.y); let pxos_lz = i32(pxos_lid.z);
let pxos_by = i32(pxos_wid.y); let pxos_bz = i32(pxos_wid.z); let pxos_gy = i32(pxos_nwg.y);"""
# a 1-D grid may come as rows of workgroups: those past the grid return
_BLOCK_X = {1: "let pxos_bx = i32(pxos_wid.x + pxos_wid.y * pxos_nwg.x); let pxos_gx = "
               "(pxos_nx + pxos_bsx - 1) / pxos_bsx; if (pxos_bx >= pxos_gx) { return; }",
            2: "let pxos_bx = i32(pxos_wid.x); let pxos_gx = i32(pxos_nwg.x);"}


class WgslDialect(GpuDialect):
    """WGSL spellings of the renderer's tables and the GPU outline's hooks (module
    docstring); ``wide``: the device has ``shader-int64`` and ``shader-f64``."""

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
    module_shared, early_return = True, "if ({}) {{ return; }}"

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
        block = tuple(kernel.block) + (1,) * (3 - len(kernel.block))
        return [f"@compute @workgroup_size({', '.join(map(str, block))})",
                f"fn {fn}(@builtin(local_invocation_id) pxos_lid: vec3<u32>, "
                "@builtin(workgroup_id) pxos_wid: vec3<u32>, "
                "@builtin(num_workgroups) pxos_nwg: vec3<u32>) {"]

    def kernel_prologue(self, kernel: ir.Kernel, r: Renderer) -> list[str]:
        return _layout(kernel, r, False)[2]

    def geometry_lines(self, kernel: ir.Kernel, body: str) -> list[str]:
        """Every name of ``dialect.GEOMETRY``, and the return of a 1-D grid's workgroups
        past its last row."""
        block = tuple(kernel.block) + (1,) * (3 - len(kernel.block))
        return _GEOMETRY.format(*block).splitlines() + [_BLOCK_X[min(kernel.ndim, 2)]]

    def module(self, kernel: ir.Kernel, r: Renderer, helpers, function: str,
               checked: bool) -> str:
        """The uniform ``PxosParams``, the bindings, the shared arrays, the helpers and
        ``function``."""
        fields, bindings, _ = _layout(kernel, r, checked)
        head = ["struct PxosParams {", *[f"    {f}," for f in fields], "}",
                "@group(0) @binding(0) var<uniform> pxos_p: PxosParams;"]
        head += [f"@group(0) @binding({k}) {b}" for k, b in enumerate(bindings, start=1)]
        head += [f"var<workgroup> {var_name(s.name)}: array<"
                 f"{storage_type(s.elem, s.name in r.atomic)}, {math.prod(s.shape)}>;"
                 for s in kernel.shared]
        return "\n".join(head + [""] + [h for _, h in helpers] + ["", function])


def _layout(kernel: ir.Kernel, r: WgslRenderer, checked: bool):
    """The uniform's fields, the storage bindings (binding 1 on) and the statements that
    read the scalars and extents, in the module docstring's layout."""
    fields = [f"pxos_n{a}: i32" for a in "xyz"] + ["pxos_nc: u32"]
    bindings, prologue = [], []
    for p in kernel.params:
        v, t = var_name(p.name), p.type
        if isinstance(t, Array):
            bindings.append(f"var<storage, read_write> {v}: "
                            f"array<{storage_type(t.elem, p.name in r.atomic)}>;")
            dims = [dim_name(p.name, a) for a in range(t.ndim)]
            fields += [f"{n}: i32" for n in dims]
            prologue += [f"let {n} = pxos_p.{n};" for n in dims]
        elif t.bits == 64:
            fields += [f"{v}_lo: u32", f"{v}_hi: u32"]
            prologue.append(r.d.declare(v, t, f"bitcast<{TYPES[t]}>(u64(pxos_p.{v}_lo) | "
                                        f"(u64(pxos_p.{v}_hi) << 32u))"))
        else:
            fields.append(f"{v}: {storage_type(t)}")
            prologue.append(r.d.declare(v, t, f"pxos_p.{v}" + " != 0u" * (t == BOOL)))
    if checked:
        bindings.append("var<storage, read_write> pxos_err: array<atomic<i32>>;")
    return fields, bindings, prologue


def render_wgsl(kernel: ir.Kernel, checked: bool = False, wide: bool = False) -> KernelSource:
    """The WGSL module of a checked kernel (module docstring for its layout); ``wide``: the
    device has ``shader-int64`` and ``shader-f64``.

    Raises:
        PxTypeError: ``kernel`` uses what WGSL lacks (:meth:`WgslDialect.admit`).
    """
    return render_gpu(kernel, WgslDialect(wide), checked)
