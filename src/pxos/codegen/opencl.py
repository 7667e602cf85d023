"""The OpenCL dialect: a kernel as one ``__kernel`` function in OpenCL C 1.2.

What differs from CUDA C (sections of the OpenCL C 1.2 specification):

* No ``<stdint.h>``: the prelude names the fixed-width integer types after OpenCL's own
  (§6.1.1: ``char`` is signed 8-bit, ``long`` 64-bit) and defines ``INT64_C``/``UINT64_C``.
  ``#pragma OPENCL FP_CONTRACT OFF`` (§6.10) keeps ``a * b + c`` two roundings, as on the
  C backend and in the interpreter.
* ``bool`` may not be a kernel argument nor a buffer element (§6.9 k): a ``bool`` is
  stored as ``uchar`` holding 0 or 1, NumPy's layout of ``bool``.
* ``half`` needs ``cl_khr_fp16`` for anything but pointers (§6.1.1.1), and few devices have
  it (PoCL's CPU device and NVIDIA's do not). ``f16`` is a storage type in `.px`
  (docs/language.md), so ``f16`` buffers are read with ``vload_half`` and written with
  ``vstore_half`` (§6.12.7, round to nearest even, as NumPy converts); ``f16`` variables
  and shared arrays are ``float`` holding ``f16`` values, a conversion to ``f16`` rounds
  through ``vstore_half``. Every device runs the same code and gets NumPy's values.
* Atomics (§6.12.11): ``atomic_*`` on 32-bit integers, ``atom_*`` from
  ``cl_khr_int64_base_atomics``/``cl_khr_int64_extended_atomics`` on 64-bit ones, and
  compare-and-swap loops on the bit pattern for float addition. The functions are
  overloaded on the address space but user functions are not, so each helper exists in a
  ``__global`` and a ``__local`` version (``pxos_atomic_add_i32``,
  ``pxos_atomic_add_local_i32``).
* ``double`` needs ``cl_khr_fp64`` (§9.3); :func:`required_extensions` lists what a kernel
  needs, the prelude enables it and the backend refuses a device that lacks it.
"""

from __future__ import annotations

from pxos.codegen.gpu import GpuDialect, KernelSource, render_gpu
from pxos.codegen.intrinsics import Intrinsics
from pxos.codegen.render import Renderer, var_name
from pxos.ir import nodes as ir
from pxos.ir.types import F16, F32, F64, Array, Scalar

_PRELUDE = """\
/* OpenCL C has no <stdint.h>: fixed-width names for its own integer types */
typedef char int8_t;
typedef uchar uint8_t;
typedef short int16_t;
typedef ushort uint16_t;
typedef int int32_t;
typedef uint uint32_t;
typedef long int64_t;
typedef ulong uint64_t;
#define INT64_C(c) c ## L
#define UINT64_C(c) c ## UL
#pragma OPENCL FP_CONTRACT OFF
"""

_INDEX = {"local_id": "get_local_id", "group_id": "get_group_id",
          "local_size": "get_local_size", "num_groups": "get_num_groups"}

# atomic read-modify-write functions by pxos op: (32-bit, 64-bit) OpenCL C 1.2 §6.12.11 and
# the cl_khr_int64_*_atomics extensions (§9.4); float add is a CAS loop, float exch below
_NATIVE = {"add": ("atomic_add", "atom_add"), "and": ("atomic_and", "atom_and"),
           "or": ("atomic_or", "atom_or"), "xor": ("atomic_xor", "atom_xor"),
           "min": ("atomic_min", "atom_min"), "max": ("atomic_max", "atom_max"),
           "exch": ("atomic_xchg", "atom_xchg")}
_EXTENDED = ("and", "or", "xor", "min", "max")  # in cl_khr_int64_extended_atomics


class OpenCLIntrinsics(Intrinsics):
    """Atomics through OpenCL's ``atomic_*``/``atom_*`` functions, per address space."""

    def atomic(self, op: str, t: Scalar, space: str, pointer: str, value: str) -> str:
        """A call of the atomic ``op`` (a name of ``ir.nodes.ATOMIC_OPS``) on the element
        ``*pointer`` of type ``t`` in address space ``space`` (``global`` or ``local``),
        returning the old value; the helper's definition is recorded."""
        suffix = "" if space == "global" else f"_{space}"
        fname = f"pxos_atomic_{op}{suffix}_{t.name}"
        if fname not in self.needed:
            self.needed[fname] = self._atomic_helper(fname, op, t, space)
        return f"{fname}({pointer}, {value})"

    def _atomic_helper(self, fname: str, op: str, t: Scalar, space: str) -> str:
        d = self.dialect
        T = d.type_name(t)
        head = self._head(fname, t, f"volatile {d.pointer(t, space)}p, {T} v")
        wide = t.bits == 64
        if not t.is_float:
            return f"{head} {{ return {_NATIVE[op][wide]}(p, v); }}"
        U = "ulong" if wide else "uint"
        bits, value = ("as_ulong", "as_double") if wide else ("as_uint", "as_float")
        q = f"(volatile __{space} {U} *)p"
        if op == "exch":
            return f"{head} {{ return {value}({_NATIVE['exch'][wide]}({q}, {bits}(v))); }}"
        cas = "atom_cmpxchg" if wide else "atomic_cmpxchg"
        return (f"{head} {{\n"
                f"    volatile __{space} {U} *q = {q};\n"
                f"    {U} old = *q, seen;\n"
                f"    do {{ seen = old; old = {cas}(q, seen, {bits}({value}(seen) + v)); }}"
                f" while (old != seen);\n"
                f"    return {value}(old);\n}}")

    def _to_f16(self, fname: str, t: Scalar) -> str:
        """``x`` of float type ``t`` rounded to the nearest ``f16`` (ties to even), as a
        ``float``: ``vstore_half`` into private memory and back (§6.12.7)."""
        T = self.dialect.type_name(t)
        return (f"{self.dialect.inline()} float {fname}({T} x) {{ ushort h; "
                f"vstore_half(x, 0, (half *)&h); return vload_half(0, (const half *)&h); }}")


class OpenCLRenderer(Renderer):
    """The shared renderer, with ``f16`` buffer access and address-space-aware atomics."""

    def _global_f16(self, array: str) -> bool:
        return array not in self.shared and self.kernel_array_elem(array) == F16

    def _e_load(self, e: ir.Load) -> str:
        if self._global_f16(e.array):
            index = self.flat_index(e.array, e.index)
            return f"vload_half({index}, {var_name(e.array)})"
        return super()._e_load(e)

    def _s_store(self, s: ir.Store, indent: int) -> list[str]:
        if not self._global_f16(s.array):
            return super()._s_store(s, indent)
        value = s.value
        if isinstance(value, ir.Cast) and value.operand.type in (F32, F64):
            value = value.operand  # vstore_half rounds f32 and f64 to f16 itself
        index = self.flat_index(s.array, s.index)
        return [f"vstore_half({self.expr(value)}, {index}, {var_name(s.array)});"]

    def _e_cast(self, e: ir.Cast) -> str:
        if e.to != F16:
            return super()._e_cast(e)
        a, t = self.expr(e.operand), e.operand.type
        if t == F16:
            return a
        if t not in (F32, F64):
            a, t = f"((float){a})", F32  # exact below 2**24; larger values overflow f16
        return self.intrinsics.call("to_f16", t, a)

    def _s_atomic(self, s: ir.Atomic, indent: int) -> list[str]:
        space = "local" if s.array in self.shared else "global"
        call = self.intrinsics.atomic(s.op, self.kernel_array_elem(s.array), space,
                                      "&" + self.element(s.array, s.index),
                                      self.expr(s.value))
        if s.result is None:
            return [self.d.discard(call)]
        return [f"{self.variable(s.result)} = {call};"]


class OpenCLDialect(GpuDialect):
    """OpenCL C 1.2 spellings (see the module docstring).

    Args:
        extensions: the OpenCL extensions the prelude enables (:func:`required_extensions`).
    """

    name = "opencl"
    barrier = "barrier(CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE);"
    intrinsics_class = OpenCLIntrinsics
    renderer_class = OpenCLRenderer
    shared_qualifier = "__local"

    def __init__(self, extensions: tuple[str, ...] = ()):
        self.extensions = extensions

    def type_name(self, t: Scalar) -> str:
        """OpenCL's name of ``t``'s private storage: ``uchar`` for ``bool``, ``float`` for
        ``f16`` (a pointer to ``f16`` elements is ``half *``, see :meth:`pointer`)."""
        return {"bool": "uchar", "f16": "float"}.get(t.name) or super().type_name(t)

    def literal(self, value, t: Scalar) -> str:
        """A literal of type ``t``; an ``f16`` value (exact in ``f32``) as a ``float``."""
        return super().literal(value, F32 if t == F16 else t)

    def prelude(self, f16: bool = False) -> str:
        return _PRELUDE + "".join(f"#pragma OPENCL EXTENSION {x} : enable\n"
                                  for x in self.extensions)

    def pointer(self, t: Scalar, space: str = "global") -> str:
        elem = "half" if t == F16 else self.type_name(t)
        return f"__{space} {elem} *"

    def pointer_int64(self) -> str:
        return "__global int64_t *"

    def claim(self, err: str) -> str:
        return f"atomic_cmpxchg((volatile __global int *){err}, 0, 1) == 0"

    def index(self, which: str, axis: int) -> str:
        return f"(int32_t){_INDEX[which]}({axis})"

    def kernel_qualifier(self, block: tuple[int, ...]) -> str:
        sizes = ", ".join(map(str, tuple(block) + (1,) * (3 - len(block))))
        return f"__kernel __attribute__((reqd_work_group_size({sizes}))) void"


def required_extensions(kernel: ir.Kernel) -> tuple[str, ...]:
    """The OpenCL extensions ``kernel`` needs, in the order to enable them.

    ``cl_khr_fp64`` when any value is ``f64`` (OpenCL C 1.2 §9.3);
    ``cl_khr_int64_base_atomics`` for ATOMIC_ADD/EXCH on 64-bit elements (and for the
    compare-and-swap of ``f64`` addition), ``cl_khr_int64_extended_atomics`` for
    ATOMIC_MIN/MAX/AND/OR/XOR on them (§9.4).
    """
    types = {s.elem for s in kernel.shared} | {t for _, t in kernel.variables}
    types |= {p.type.elem if isinstance(p.type, Array) else p.type for p in kernel.params}
    shared = {sh.name: sh.elem for sh in kernel.shared}
    wide_ops = set()
    for s in ir.walk(kernel.body):
        types |= {e.type for x in ir.stmt_exprs(s) for e in ir.subexprs(x)}
        if isinstance(s, ir.Atomic):
            elem = shared.get(s.array) or kernel.param(s.array).type.elem
            if elem.bits == 64:
                wide_ops.add(s.op)
    out = ["cl_khr_fp64"] if F64 in types else []
    if wide_ops:
        out.append("cl_khr_int64_base_atomics")
    if wide_ops & set(_EXTENDED):
        out.append("cl_khr_int64_extended_atomics")
    return tuple(out)


def render_opencl(kernel: ir.Kernel, checked: bool = False) -> KernelSource:
    """The OpenCL C of a checked kernel (one ``__kernel`` function).

    Args:
        kernel: from ``ir.check.check_kernel``.
        checked: add bounds checks reported through the last parameter, ``pxos_err``
            (``__global int64_t *``, six words, ``codegen/signature``).

    Returns:
        The translation unit, with ``#line`` directives back to the `.px` file; its
        parameters follow ``codegen/signature``, with ``bool`` scalars and buffers as
        ``uchar`` and ``f16`` buffers as ``half *``.
    """
    return render_gpu(kernel, OpenCLDialect(required_extensions(kernel)), checked)

