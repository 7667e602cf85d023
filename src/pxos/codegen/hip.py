"""The HIP dialect: a kernel as an ``extern "C" __global__`` function for AMD GPUs (ROCm).

HIP keeps CUDA's kernel language: the same index variables (``threadIdx``, ``blockIdx``,
``blockDim``, ``gridDim``), ``__syncthreads``, ``__shared__``, ``__launch_bounds__`` and
atomic functions (HIP Programming Guide, "HIP C++ language extensions"), so this dialect is
the CUDA one with HIP's headers. Under hiprtc (``__HIPCC_RTC__``) the prelude defines the
fixed-width integer types itself, as the CUDA prelude does under NVRTC. The code is rendered
(``pxos compile --target hip``) and compiled by ``hipcc``/``clang -x hip`` where present;
pxos has no HIP backend to run it (docs/backends.md).
"""

from __future__ import annotations

from pxos.codegen.cuda import _PRELUDE, CudaDialect
from pxos.codegen.dialect import KernelSource
from pxos.codegen.gpu import render_gpu
from pxos.ir import nodes as ir

_HEADERS = """\
#ifndef __HIPCC_RTC__
#include <hip/hip_runtime.h>
#endif
"""


class HipDialect(CudaDialect):
    """HIP C++ spellings: CUDA's, with HIP's runtime and ``f16`` headers."""

    name = "hip"

    def prelude(self, f16: bool = False) -> str:
        cuda = _PRELUDE.replace("__CUDACC_RTC__", "__HIPCC_RTC__")
        return _HEADERS + cuda + ("#include <hip/hip_fp16.h>\n" if f16 else "")


def render_hip(kernel: ir.Kernel, checked: bool = False) -> KernelSource:
    """The HIP C++ of a checked kernel (one ``extern "C" __global__`` function).

    Args:
        kernel: from ``ir.check.check_kernel``.
        checked: add bounds checks reported through the last parameter, ``pxos_err``.
    """
    return render_gpu(kernel, HipDialect(), checked)
