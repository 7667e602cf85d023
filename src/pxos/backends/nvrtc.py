"""CUDA C to a cubin with NVRTC (through cuda-core), and the cubin cache.

Needs no GPU: with cuda-core, cuda-bindings and the NVRTC wheel installed (extra
``nvrtc``), any machine can compile the CUDA code pxos generates for any architecture —
CI does so for every example. Options: ``--fmad=false`` (no contraction: float results
match the interpreter and the C backend, which builds with ``-ffp-contract=off``), IEEE
division and square root (NVRTC's defaults), no ``--use_fast_math``.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from pxos.backends.cache import cache_key, find_entry, has_entry, store_entry
from pxos.codegen.gpu import KernelSource
from pxos.errors import PxBackendError

OPTIONS = ("--fmad=false",)


@cache
def nvrtc_version() -> str:
    """NVRTC's ``major.minor``.

    Raises:
        PxBackendError: cuda-core / cuda-bindings / NVRTC are not installed.
    """
    try:
        from cuda.bindings import nvrtc
    except ImportError as e:
        raise PxBackendError(f"NVRTC is not available ({e})",
                             hint="pip install 'pxos[nvrtc]'") from None
    err, major, minor = nvrtc.nvrtcVersion()
    return f"{major}.{minor}"


@cache
def cuda_include_dir() -> str | None:
    """The folder holding CUDA's ``cuda_fp16.h`` (needed by kernels with ``f16`` data):
    found by cuda-pathfinder, else under ``$CUDA_PATH``/``$CUDA_HOME``/``/usr/local/cuda``."""
    try:
        from cuda.pathfinder import find_nvidia_header_directory
        found = find_nvidia_header_directory("cudart")
        if found:
            return str(found)
    except Exception:  # an older cuda-pathfinder, or no CUDA headers where it looks
        pass
    for root in (os.environ.get("CUDA_PATH"), os.environ.get("CUDA_HOME"), "/usr/local/cuda"):
        if root and (Path(root) / "include" / "cuda_fp16.h").exists():
            return str(Path(root) / "include")
    return None


def _include(src: KernelSource) -> str | None:
    """The CUDA include folder a kernel needs (for ``cuda_fp16.h``), else None."""
    return cuda_include_dir() if "#include <cuda_fp16.h>" in src.source else None


def cubin_key(src: KernelSource, arch: str) -> str:
    """The cache key of ``src``'s cubin for ``arch``: the source, NVRTC's version, the
    architecture, the options and the include folder."""
    include = _include(src)
    return cache_key(src.source, nvrtc_version(), arch, " ".join(OPTIONS), include or "")


def cubin_cached(src: KernelSource, arch: str) -> bool:
    """Whether the cubin of ``src`` for ``arch`` seems cached (not verified)."""
    return has_entry("cuda", cubin_key(src, arch), ".cubin")


def nvrtc_compile(src: KernelSource, arch: str) -> bytes:
    """The cubin of ``src`` for ``arch`` (e.g. ``"90"`` for sm_90), compiled by NVRTC.

    Raises:
        PxBackendError: NVRTC is missing, ``cuda_fp16.h`` is needed but not found, or
            NVRTC refused the code (the message holds its log).
    """
    include = _include(src)
    if include is None and "#include <cuda_fp16.h>" in src.source:
        raise PxBackendError(
            f"kernel {src.kernel.name!r} uses f16, which needs CUDA's cuda_fp16.h; no "
            "CUDA include folder was found", src.kernel.span,
            hint="set CUDA_PATH to the CUDA toolkit, or pip install nvidia-cuda-runtime")
    nvrtc_version()  # a clear error where NVRTC is missing
    from cuda.core import Program, ProgramOptions

    options = ProgramOptions(name=f"{src.entry}.cu", arch=f"sm_{arch}", fma=False,
                             include_path=include)
    try:
        code = Program(src.source, code_type="c++", options=options).compile("cubin")
    except Exception as e:  # cuda-core raises its own error types, with NVRTC's log
        raise PxBackendError(
            f"NVRTC rejected the CUDA code generated for kernel {src.kernel.name!r} "
            f"(a pxos bug; please report it):\n{str(e)[-4000:]}", src.kernel.span) from None
    return bytes(code.code)


def compile_cubin(src: KernelSource, arch: str) -> tuple[Path, bool]:
    """Compile ``src`` for ``arch``, or find it in the cache (without a GPU: for checks
    and exports; the ``cuda`` backend builds through ``backends/base``).

    Returns:
        The cubin's path in the cache, and whether it was already there.

    Raises:
        PxBackendError: as :func:`nvrtc_compile`.
    """
    key = cubin_key(src, arch)
    found = find_entry("cuda", key, ".cubin")  # verified: a damaged entry is rebuilt
    if found is not None:
        return found[0], True
    return store_entry("cuda", key, ".cubin", nvrtc_compile(src, arch)), False
