"""The parameters of a kernel's generated function, the same on every target.

    <qualifiers> k_<name>(int64_t pxos_nx, int64_t pxos_ny, int64_t pxos_nz, <param>...,
                          [int64_t *pxos_err])

``pxos_nx``/``pxos_ny``/``pxos_nz`` are the threads requested per axis (``GPU_THREADS``; an
axis the launch does not have passes 1); an array parameter ``a`` of rank r passes ``T *v_a,
int64_t d0_a, …, d{r-1}_a`` (its extents); a scalar passes its value, ``f16`` as ``f32``
(every ABI has ``float``, not every one ``half``); ``pxos_err`` is the checked-mode flag
buffer of seven ``int64`` (claimed flag, `.px` line and column of the access, array number,
axis, index, extent), present only when the kernel was rendered checked. Backends pack
launch arguments in this order. The C backend declares its array pointers ``restrict``
(``T *restrict v_a``) and launches a build without it where a written array overlaps
another array argument (``backends/c``).
"""

from __future__ import annotations

from pxos.codegen.dialect import Dialect
from pxos.codegen.render import dim_name, var_name
from pxos.ir import nodes as ir
from pxos.ir.types import F16, F32, Array, Scalar

ERR_WORDS = 7  # int64 words of the checked-mode flag buffer
AXES = 3  # launch axes every kernel function takes the thread counts of (pxos_nx, ny, nz)


def launch_counts(threads) -> tuple[int, ...]:
    """The ``pxos_nx, pxos_ny, pxos_nz`` values of a launch of ``threads`` (x first)."""
    return tuple(int(n) for n in threads) + (1,) * (AXES - len(threads))


def entry_name(kernel: ir.Kernel) -> str:
    """The generated function's name: ``k_<kernel name>`` on every target."""
    return f"k_{kernel.name}"


def scalar_param_type(t: Scalar) -> Scalar:
    """How a scalar parameter crosses the launch ABI (``f16`` travels as ``f32``)."""
    return F32 if t == F16 else t


def kernel_params(kernel: ir.Kernel, d: Dialect, checked: bool = False,
                  restrict: bool = False) -> list[str]:
    """The parameter declarations every target's kernel function takes, in order;
    ``restrict``: array pointers declared C99 ``restrict`` (no two of them reach one
    element that the kernel writes: the caller's promise)."""
    params = ["int64_t pxos_nx", "int64_t pxos_ny", "int64_t pxos_nz"]
    for p in kernel.params:
        if isinstance(p.type, Array):
            params.append(f"{d.pointer(p.type.elem)}{'restrict ' * restrict}"
                          f"{var_name(p.name)}")
            params += [f"int64_t {dim_name(p.name, a)}" for a in range(p.type.ndim)]
        else:
            params.append(f"{d.type_name(scalar_param_type(p.type))} {var_name(p.name)}")
    if checked:
        params.append(f"{d.pointer_int64()}pxos_err")
    return params
