"""The CUDA dialect: a kernel as an ``extern "C" __global__`` function for NVRTC or nvcc.

The same translation unit compiles under NVRTC (the ``cuda`` backend) and under ``nvcc``
(``pxos export --standalone``): under NVRTC, which has no C library headers, the prelude
defines the fixed-width integer types itself. Atomics use CUDA's native ``atomic*``
functions where one exists for the type (CUDA C++ Programming Guide, "Atomic Functions"),
else a compare-and-swap loop with the C dialect's update rule.
"""

from __future__ import annotations

import math

from pxos.codegen.dialect import KernelSource
from pxos.codegen.gpu import GpuDialect, render_gpu
from pxos.codegen.intrinsics import Intrinsics
from pxos.ir import nodes as ir
from pxos.ir.types import F32, F64, I32, I64, U32, U64, Scalar

_INDEX = {"local_id": "threadIdx", "group_id": "blockIdx", "local_size": "blockDim",
          "num_groups": "gridDim"}

_PRELUDE = """\
#ifdef __CUDACC_RTC__
typedef signed char int8_t;
typedef unsigned char uint8_t;
typedef short int16_t;
typedef unsigned short uint16_t;
typedef int int32_t;
typedef unsigned int uint32_t;
typedef long long int64_t;
typedef unsigned long long uint64_t;
#define INT64_C(c) c ## LL
#define UINT64_C(c) c ## ULL
#else
#include <stdint.h>
#endif
#define PXOS_NAN __int_as_float(0x7fc00000)
#define PXOS_INFINITY __int_as_float(0x7f800000)
"""

# the CUDA type whose native atomic serves each pxos type, and how a value converts to it
_NATIVE_INT = {I32: "int", U32: "unsigned int", I64: "unsigned long long",
               U64: "unsigned long long"}


class CudaIntrinsics(Intrinsics):
    """Atomics through CUDA's ``atomic*`` functions (device-wide, relaxed order)."""

    def _native(self, fname: str, t: Scalar, fn: str, cuda_type: str) -> str:
        T = self.dialect.type_name(t)
        return (f"{self._head(fname, t, f'{T} *p, {T} v')} "
                f"{{ return ({T}){fn}(({cuda_type} *)p, ({cuda_type})v); }}")

    def _atomic(self, fname: str, t: Scalar, update: str) -> str:
        """A compare-and-swap loop applying ``update`` (of ``o``, the old value, and
        ``v``) to a 32- or 64-bit element."""
        T = self.dialect.type_name(t)
        if t == F64:
            U, to_bits = "unsigned long long", "(unsigned long long)__double_as_longlong"
            from_bits = "__longlong_as_double((long long)old)"
        elif t == F32:
            U, to_bits, from_bits = "unsigned int", "__float_as_uint", "__uint_as_float(old)"
        else:
            U = "unsigned long long" if t.bits == 64 else "unsigned int"
            to_bits, from_bits = f"({U})", f"({T})old"
        return (f"{self._head(fname, t, f'{T} *p, {T} v')} {{\n"
                f"    {U} *q = ({U} *)p, old = *q, seen;\n"
                f"    do {{ seen = old; {T} o = {from_bits}; {T} n = {update};\n"
                f"         old = atomicCAS(q, seen, {to_bits}(n)); }} while (old != seen);\n"
                f"    return {from_bits};\n}}")

    def _atomic_add(self, fname: str, t: Scalar) -> str:
        cuda_type = {F32: "float", F64: "double"}.get(t) or _NATIVE_INT[t]
        return self._native(fname, t, "atomicAdd", cuda_type)

    def _fetch(self, fname: str, t: Scalar, op: str) -> str:
        return self._native(fname, t, "atomic" + op.capitalize(), _NATIVE_INT[t])

    def _atomic_min(self, fname: str, t: Scalar) -> str:
        cuda_type = "long long" if t == I64 else _NATIVE_INT[t]
        return self._native(fname, t, "atomicMin", cuda_type)

    def _atomic_max(self, fname: str, t: Scalar) -> str:
        cuda_type = "long long" if t == I64 else _NATIVE_INT[t]
        return self._native(fname, t, "atomicMax", cuda_type)

    def _atomic_exch(self, fname: str, t: Scalar) -> str:
        if t == F64:
            return self._atomic(fname, t, "v")
        return self._native(fname, t, "atomicExch", "float" if t == F32 else _NATIVE_INT[t])


class CudaDialect(GpuDialect):
    """CUDA C++ spellings (NVRTC and nvcc)."""

    name = "cuda"
    barrier = "__syncthreads();"
    intrinsics_class = CudaIntrinsics
    shared_qualifier = "__shared__"
    grid_stride = True

    def type_name(self, t: Scalar) -> str:
        return "__half" if t.name == "f16" else super().type_name(t)

    def _float_literal(self, v: float, t: Scalar) -> str:
        text = super()._float_literal(v, t)
        return text.replace("NAN)", "PXOS_NAN)").replace("INFINITY)", "PXOS_INFINITY)")

    def prelude(self, f16: bool = False) -> str:
        return _PRELUDE + ("#include <cuda_fp16.h>\n" if f16 else "")

    def inline(self) -> str:
        return "static __device__ __forceinline__"

    def claim(self, err: str) -> str:
        return f"atomicCAS((int *){err}, 0, 1) == 0"

    def index(self, which: str, axis: int) -> str:
        return f"(int32_t){_INDEX[which]}.{'xyz'[axis]}"

    def kernel_qualifier(self, block: tuple[int, ...]) -> str:
        threads = math.prod(block)
        return f'extern "C" __global__ void __launch_bounds__({threads})'


def render_cuda(kernel: ir.Kernel, checked: bool = False) -> KernelSource:
    """The CUDA C of a checked kernel (one ``extern "C" __global__`` function).

    Args:
        kernel: from ``ir.check.check_kernel``.
        checked: add bounds checks reported through the last parameter, ``pxos_err``.
    """
    return render_gpu(kernel, CudaDialect(), checked)
