"""The WGSL dialect: a kernel as one ``@compute`` entry point of a WebGPU shader module.

WGSL (W3C WebGPU Shading Language) has ``bool``, ``i32``, ``u32`` and ``f32`` only: a kernel
with any other type (8-, 16- and 64-bit integers, ``f16``, ``f64``), or an atomic on a float
element, is refused by :func:`check_wgsl` with a ``PxTypeError`` at the statement that uses
it. A ``bool`` array element is stored as a ``u32`` word holding 0 or 1 (WGSL storage has no
``bool``); the ``webgpu`` backend widens and narrows it on copy. Flat offsets are ``i32``
(a storage binding is far below 2**31 elements). The module holds, in order:

    struct PxosParams { pxos_nx: i32, pxos_ny: i32, pxos_nz: i32, <scalar or extent>... }
    @group(0) @binding(0) var<uniform> pxos_p: PxosParams;
    @group(0) @binding(1 + k) var<storage, read_write> v_<array k>: array<T>;
    [@group(0) @binding(1 + arrays) var<storage, read_write> pxos_err: array<atomic<i32>>;]
    var<workgroup> v_<shared>: array<T, size>;   helper functions;   the entry point

The uniform struct holds, per parameter in order, a scalar's value (``bool`` as ``u32``) or
an array's extents ``d0_a, …``, all 4-byte words (``webgpu`` packs them). A 1-D launch of
more than 65535 blocks is dispatched as rows of at most 65535 workgroups (WebGPU's
``maxComputeWorkgroupsPerDimension`` default); the block index is ``x + y * rows``. WGSL
integer ``+ - *`` wrap (WGSL §8.7), as pxos defines them; division, rounding, ``min``/``max``
of floats (NaN ignored, as C's ``fmin``) and rotations are helper functions here.
"""

from __future__ import annotations

from pxos.codegen.dialect import Dialect, KernelSource, comment
from pxos.codegen.intrinsics import Intrinsics
from pxos.codegen.render import Renderer, dim_name, var_name
from pxos.codegen.signature import entry_name
from pxos.errors import PxTypeError
from pxos.ir import nodes as ir
from pxos.ir.types import BOOL, F32, I8, I16, I32, U8, U16, U32, Array, Scalar

# WGSL's type of each pxos type it can hold: 8- and 16-bit integers live in 32-bit ones
TYPES = {BOOL: "bool", I8: "i32", I16: "i32", I32: "i32", U8: "u32", U16: "u32", U32: "u32",
         F32: "f32"}
# back into range after an operation on a narrow integer (wrap-around, as docs/language.md)
_NARROW = {U8: "({} & 0xffu)", U16: "({} & 0xffffu)", I8: "(({} << 24u) >> 24u)",
           I16: "(({} << 16u) >> 16u)"}
_ATOMIC = {"add": "atomicAdd", "min": "atomicMin", "max": "atomicMax", "and": "atomicAnd",
           "or": "atomicOr", "xor": "atomicXor", "exch": "atomicExchange"}
_MATH = {"abs": "abs", "sqrt": "sqrt", "exp": "exp", "log": "log", "sin": "sin", "cos": "cos",
         "tanh": "tanh", "floor": "floor", "ceil": "ceil", "pow": "pow", "fma": "fma"}


def check_wgsl(kernel: ir.Kernel) -> None:
    """Refuse a kernel WGSL cannot express (module docstring).

    Raises:
        PxTypeError: at the first parameter, shared array, statement or atomic whose type
            is not ``bool``, ``i32``, ``u32`` or ``f32``, or an atomic on ``f32``.
    """
    def refuse(t: Scalar, span, what: str):
        raise PxTypeError(f"kernel {kernel.name!r}: {what} has type {t.name}, which WGSL "
                          "(the webgpu backend) lacks; it has bool, i32, u32 and f32", span,
                          hint="use i32/u32/f32 here, or another --device (c, opencl, cuda)")
    for p in kernel.params:
        t = p.type.elem if isinstance(p.type, Array) else p.type
        if t not in TYPES:
            refuse(t, kernel.span, f"parameter {p.name!r}")
    for s in kernel.shared:
        if s.elem not in TYPES:
            refuse(s.elem, kernel.span, f"shared array {s.name!r}")
    names = dict(kernel.variables)
    for s in ir.walk(kernel.body):
        for e in (x for x in ir.stmt_exprs(s) for x in ir.subexprs(x)):
            if e.type not in TYPES:
                refuse(e.type, s.span, "a value")
        for n in (getattr(s, a, None) for a in ("name", "var", "result")):
            if isinstance(n, str) and names.get(n, I32) not in TYPES:
                refuse(names[n], s.span, f"variable {n!r}")
        if isinstance(s, ir.Atomic) and _elem(kernel, s.array) not in (I32, U32, F32):
            raise PxTypeError(f"kernel {kernel.name!r}: WGSL has atomics on i32, u32 and f32 "
                              f"only, not on {_elem(kernel, s.array).name}", s.span,
                              hint="accumulate in i32/u32, or use another --device")


def _elem(kernel: ir.Kernel, array: str) -> Scalar:
    shared = {s.name: s.elem for s in kernel.shared}
    return shared.get(array) or kernel.param(array).type.elem


def atomic_arrays(kernel: ir.Kernel) -> set[str]:
    """Arrays some ATOMIC_* statement updates: declared ``atomic<T>`` in WGSL."""
    return {s.array for s in ir.walk(kernel.body) if isinstance(s, ir.Atomic)}


class WgslIntrinsics(Intrinsics):
    """Helpers in WGSL: native ``min``/``max``/``abs`` and atomics, functions for the rest."""

    def call(self, kind: str, t: Scalar, *args: str) -> str:
        if kind in ("min", "max", "abs"):
            return f"{kind}({', '.join(args)})"
        if kind.startswith("atomic_"):
            return f"{_ATOMIC[kind[7:]]}({', '.join(args)})"
        if kind == "bound":
            args = args[:-1]  # pxos_err is a module-scope binding in WGSL
        return super().call(kind, t, *args)

    def _fn(self, fname: str, t: Scalar, params: str, body: str) -> str:
        return f"fn {fname}({params}) -> {TYPES[t]} {{ {body} }}"

    def _div(self, fname: str, t: Scalar) -> str:
        T = TYPES[t]
        neg = "" if t.kind == "u" else f"if (b == {T}(-1)) {{ return {T}(0) - a; }} "
        return self._fn(fname, t, f"a: {T}, b: {T}",
                        f"if (b == {T}(0)) {{ return {T}(0); }} {neg}return a / b;")

    def _mod(self, fname: str, t: Scalar) -> str:
        T = TYPES[t]
        zero = f"b == {T}(0)" + ("" if t.kind == "u" else f" || b == {T}(-1)")
        return self._fn(fname, t, f"a: {T}, b: {T}", f"if ({zero}) {{ return {T}(0); }} "
                        "return a % b;")

    def _rotate(self, fname: str, t: Scalar, first: str, second: str) -> str:
        T, w = TYPES[t], t.bits
        return self._fn(fname, t, f"a: {T}, n: {T}", f"let x = bitcast<u32>(a) & "
                        f"{2**w - 1}u; let s = bitcast<u32>(n) & {w - 1}u; return bitcast<{T}>"
                        f"((x {first} s) | (x {second} (({w}u - s) & {w - 1}u)));")

    def _round(self, fname: str, t: Scalar) -> str:
        """Half away from zero, as C's ``roundf`` (WGSL's ``round`` ties to even)."""
        return self._fn(fname, t, "x: f32", "let r = trunc(x); "
                        "if (abs(x - r) >= 0.5f) { return r + sign(x); } return r;")

    def _fmin(self, fname: str, t: Scalar) -> str:
        return self._fn(fname, t, "a: f32, b: f32", "if (a != a) { return b; } "
                        "if (b != b) { return a; } return min(a, b);")

    def _fmax(self, fname: str, t: Scalar) -> str:
        return self._fn(fname, t, "a: f32, b: f32", "if (a != a) { return b; } "
                        "if (b != b) { return a; } return max(a, b);")

    def float_atomic(self, op: str, array: str, index: str, value: str) -> str:
        """``op`` on ``f32`` element ``array[index]``, kept as ``atomic<u32>`` bits: a
        compare-and-swap loop (WGSL has no float atomics, nor pointer parameters to storage,
        so the helper names its array)."""
        fname = f"pxos_atomic_{op}_{array}"
        if op == "exch":
            return f"bitcast<f32>(atomicExchange(&{array}[{index}], bitcast<u32>({value})))"
        new = {"add": "o + v", "min": "select(o, v, v < o)", "max": "select(o, v, o < v)"}[op]
        self.needed[fname] = (
            f"fn {fname}(i: i32, v: f32) -> f32 {{\n    var old = atomicLoad(&{array}[i]);\n"
            f"    loop {{ let o = bitcast<f32>(old);\n        let r = atomicCompareExchangeWeak("
            f"&{array}[i], old, bitcast<u32>({new}));\n"
            "        if (r.exchanged) { break; }\n        old = r.old_value; }\n"
            "    return bitcast<f32>(old);\n}")
        return f"{fname}({index}, {value})"

    def _bound(self, fname: str, t: Scalar) -> str:
        """Checked mode: ``i`` if ``0 <= i < n``, else record the first violation in
        ``pxos_err`` (flag, line, column, array, axis, index, extent) and return 0."""
        record = " ".join(f"atomicStore(&pxos_err[{k}], {v});" for k, v in enumerate(
            ("line", "col", "array", "axis", "i", "n"), start=1))
        return (f"fn {fname}(i: i32, n: i32, line: i32, col: i32, array: i32, axis: i32) "
                "-> i32 {\n    if (i >= 0 && i < n) { return i; }\n"
                "    loop { let r = atomicCompareExchangeWeak(&pxos_err[0], 0, 1);\n"
                f"        if (r.exchanged) {{ {record} break; }}\n"
                "        if (r.old_value != 0) { break; } }\n    return 0;\n}")


class WgslDialect(Dialect):
    """WGSL spellings (module docstring); the renderer's hooks, overridden."""

    name = "wgsl"
    barrier = "storageBarrier(); workgroupBarrier();"
    intrinsics_class = WgslIntrinsics

    def type_name(self, t: Scalar) -> str:
        return TYPES[t]

    def literal(self, value, t: Scalar) -> str:
        if t == BOOL:
            return "true" if value else "false"
        if t == F32:
            v = float(value)
            if v != v or v in (float("inf"), float("-inf")):
                bits = "0x7fc00000u" if v != v else ("0x7f800000u" if v > 0 else "0xff800000u")
                return f"bitcast<f32>({bits})"
            return f"({super()._float_literal(v, F32)})"
        v = int(value)
        return f"{v}u" if t.kind == "u" else (f"{v}i" if v >= 0 else f"i32({v})")

    def cast(self, text: str, t: Scalar) -> str:
        return f"({text} != 0)" if t == BOOL else f"{TYPES[t]}({text})"

    def as_index(self, text: str) -> str:
        return text

    def as_int(self, text: str) -> str:
        return text

    def select(self, cond: str, a: str, b: str) -> str:
        return f"select({b}, {a}, {cond})"

    def binary(self, op: str, a: str, b: str, t: Scalar, wraps: bool = False) -> str:
        if op in ("<<", ">>"):
            return f"({a} {op} bitcast<u32>({b} & {t.bits - 1}))"
        if t == BOOL and op == "^":
            return f"({a} != {b})"
        if t == F32 and op == "*":  # kept from fusing into an fma (module docstring)
            return f"bitcast<f32>(bitcast<u32>({a} * {b}) ^ pxos_nc)"
        return f"({a} {op} {b})"  # i32 and u32 + - * wrap in WGSL

    def negate(self, a: str, t: Scalar, wraps: bool = False) -> str:
        return f"(-{a})"

    def math_call(self, fn: str, t: Scalar, args: list[str]) -> str:
        if fn == "mod":
            return f"({args[0]} % {args[1]})"  # truncated, as C's fmodf
        if fn in ("round", "min", "max"):
            kind = {"round": "round", "min": "fmin", "max": "fmax"}[fn]
            return self.intrinsics.call(kind, t, *args)
        return f"{_MATH[fn]}({', '.join(args)})"

    def declare(self, name: str, t: Scalar, init: str) -> str:
        return f"var {name}: {TYPES[t]} = {init};"

    def increment(self, v: str) -> str:
        return f"{v}++"

    def step(self, v: str, step: str, t: Scalar, wraps: bool) -> str:
        return f"{v} += {step}"

    def discard(self, call: str) -> str:
        return f"_ = {call};"

    def line_directive(self, line: int, file: str) -> str:
        return f"// line {line}"


class WgslRenderer(Renderer):
    """``bool`` elements as ``u32`` words, atomic arrays read and written atomically, and
    8- and 16-bit integer results wrapped back into range."""

    def __init__(self, kernel: ir.Kernel, dialect: WgslDialect, checked: bool = False):
        super().__init__(kernel, dialect, checked)
        dialect.intrinsics = self.intrinsics
        self.atomic = atomic_arrays(kernel)

    def expr(self, e: ir.Expr) -> str:
        text = super().expr(e)
        if e.type in _NARROW and isinstance(e, (ir.Binary, ir.Unary, ir.Cast, ir.Call)):
            return _NARROW[e.type].format(text)
        return text

    def _e_load(self, e: ir.Load) -> str:
        text, t = super()._e_load(e), self.kernel_array_elem(e.array)
        if e.array in self.atomic:
            return f"bitcast<f32>(atomicLoad(&{text}))" if t == F32 else f"atomicLoad(&{text})"
        return f"({text} != 0u)" if t == BOOL else text

    def _s_store(self, s: ir.Store, indent: int) -> list[str]:
        element, value = self.element(s.array, s.index), self.expr(s.value)
        t = self.kernel_array_elem(s.array)
        if t == BOOL:
            value = f"select(0u, 1u, {value})"
        if s.array in self.atomic:
            value = f"bitcast<u32>({value})" if t == F32 else value
            return [f"atomicStore(&{element}, {value});"]
        return [f"{element} = {value};"]

    def _s_atomic(self, s: ir.Atomic, indent: int) -> list[str]:
        if self.kernel_array_elem(s.array) != F32:
            return super()._s_atomic(s, indent)
        call = self.intrinsics.float_atomic(s.op, var_name(s.array),
                                            self.flat_index(s.array, s.index), self.expr(s.value))
        return [self.d.discard(call) if s.result is None
                else f"{self.variable(s.result)} = {call};"]


def storage_type(t: Scalar, atomic: bool) -> str:
    """The WGSL element type of an array of ``t`` in memory (``bool`` as ``u32``)."""
    name = "u32" if t == BOOL or (atomic and t == F32) else TYPES[t]
    return f"atomic<{name}>" if atomic else name


def render_wgsl(kernel: ir.Kernel, checked: bool = False) -> KernelSource:
    """The WGSL module of a checked kernel (module docstring for its layout).

    Raises:
        PxTypeError: ``kernel`` uses a type WGSL lacks (:func:`check_wgsl`).
    """
    check_wgsl(kernel)
    d = WgslDialect()
    r = WgslRenderer(kernel, d, checked)
    fields, bindings, prologue = ["pxos_nx: i32", "pxos_ny: i32", "pxos_nz: i32",
                                  "pxos_nc: u32"], [], []
    for p in kernel.params:
        if isinstance(p.type, Array):
            elem = storage_type(p.type.elem, p.name in r.atomic)
            bindings.append(f"var<storage, read_write> {var_name(p.name)}: array<{elem}>;")
            for a in range(p.type.ndim):
                fields.append(f"{dim_name(p.name, a)}: i32")
                prologue.append(f"let {dim_name(p.name, a)} = pxos_p.{dim_name(p.name, a)};")
        else:
            fields.append(f"{var_name(p.name)}: {storage_type(p.type, False)}")
            value = f"pxos_p.{var_name(p.name)}" + (" != 0u" if p.type == BOOL else "")
            prologue.append(d.declare(var_name(p.name), p.type, value))
    if checked:
        bindings.append("var<storage, read_write> pxos_err: array<atomic<i32>>;")
    shared = [f"var<workgroup> {var_name(s.name)}: array<{storage_type(s.elem, s.name in r.atomic)}"
              f", {_size(s.shape)}>;" for s in kernel.shared]
    prologue += [d.declare(var_name(n), t, d.literal(0, t)) for n, t in kernel.variables]
    body = r.body(kernel.body, 0)
    block = tuple(kernel.block) + (1,) * (3 - len(kernel.block))
    fn = entry_name(kernel)
    function = [
        comment(f"pxos: kernel {kernel.name} from {kernel.span.file}, WGSL dialect "
                "(one invocation per pxos thread)"),
        f"@compute @workgroup_size({', '.join(map(str, block))})",
        f"fn {fn}(@builtin(local_invocation_id) pxos_lid: vec3<u32>, "
        "@builtin(workgroup_id) pxos_wid: vec3<u32>, "
        "@builtin(num_workgroups) pxos_nwg: vec3<u32>) {",
        *["    " + x for x in _geometry(kernel, block) + prologue + body], "}", ""]
    params = "struct PxosParams {\n" + "".join(f"    {f},\n" for f in fields) + "}\n"
    head = [params, "@group(0) @binding(0) var<uniform> pxos_p: PxosParams;"]
    head += [f"@group(0) @binding({k}) {b}" for k, b in enumerate(bindings, start=1)]
    helpers = tuple(r.intrinsics.needed.items())
    source = "\n".join(head + shared + [""] + [h for _, h in helpers] + [""] + function)
    return KernelSource(kernel, source, fn, "\n".join(function), helpers, checked)


def _size(shape) -> int:
    size = 1
    for n in shape:
        size *= n
    return size


def _geometry(kernel: ir.Kernel, block: tuple[int, ...]) -> list[str]:
    """``let`` bindings of the names the renderer reads (``dialect.GEOMETRY``), then the
    return of workgroups past the grid (a folded 1-D dispatch) and of threads past
    ``GPU_THREADS`` (a loop-form kernel)."""
    out = [f"let pxos_n{a} = pxos_p.pxos_n{a};" for a in "xyzc"]
    out += [f"let pxos_l{a} = i32(pxos_lid.{a});" for a in "xyz"]
    out += [f"let pxos_bs{a} = {b}i;" for a, b in zip("xyz", block)]
    if kernel.ndim == 1:
        out += ["let pxos_bx = i32(pxos_wid.x + pxos_wid.y * pxos_nwg.x);",
                "let pxos_gx = (pxos_nx + pxos_bsx - 1) / pxos_bsx;",
                "if (pxos_bx >= pxos_gx) { return; }"]
    else:
        out += ["let pxos_bx = i32(pxos_wid.x);", "let pxos_gx = i32(pxos_nwg.x);"]
    out += ["let pxos_by = i32(pxos_wid.y);", "let pxos_bz = i32(pxos_wid.z);",
            "let pxos_gy = i32(pxos_nwg.y);"]
    if kernel.guarded:
        axes = "xyz"[:kernel.ndim]
        cond = " || ".join(f"pxos_b{a} * pxos_bs{a} + pxos_l{a} >= pxos_n{a}" for a in axes)
        out.append(f"if ({cond}) {{ return; }}")
    return out
