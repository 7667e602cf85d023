"""The backends present on this machine, by name.

``interp`` (NumPy, always present), ``c`` (the system C compiler with OpenMP), ``cuda``
(NVRTC and CuPy, where a CUDA device is present) and ``opencl`` (PyOpenCL on any OpenCL
device: PoCL on a CPU, a vendor's driver on a GPU). Tests are parametrised over
:func:`available`, so a new backend is tested by adding it here.
"""

from __future__ import annotations

from functools import cache

from pxos.errors import PxBackendError

KNOWN = ("interp", "c", "cuda", "opencl", "webgpu")
CPU_BACKENDS = ("c", "interp")


def _make(name: str):
    if name == "interp":
        from pxos.backends.interp import InterpBackend
        return InterpBackend()
    if name == "c":
        from pxos.backends.c import CBackend
        return CBackend()
    if name == "cuda":
        from pxos.backends.cuda import CudaBackend
        return CudaBackend()
    if name == "opencl":
        from pxos.backends.opencl import OpenCLBackend
        return OpenCLBackend()
    if name == "webgpu":
        from pxos.backends.webgpu import WebGPUBackend
        return WebGPUBackend()
    raise PxBackendError(f"backend {name!r} is not available in this version of pxos",
                         hint="use --device c or --device interp")  # a name in KNOWN only


@cache
def get(name: str):
    """The backend instance called ``name`` (one per process).

    Raises:
        PxBackendError: unknown name, or the backend cannot run here (no C compiler, …).
    """
    if name not in KNOWN:
        raise PxBackendError(f"unknown device {name!r}; expected one of auto, "
                             + ", ".join(KNOWN))
    return _make(name)


def available() -> list[str]:
    """Names of the backends that can run on this machine."""
    out = []
    for name in KNOWN:
        try:
            get(name)
        except PxBackendError:
            continue
        out.append(name)
    return out


def choose(device: str, target: str = "auto") -> str:
    """The backend for a launch: ``device`` (``--device``; ``cpu+device`` pins a HYBRID
    split, ``backends/hybrid``) if not ``auto``, else the kernel's
    ``GPU_TARGET`` pin, else the fastest CPU backend present (``c``, else ``interp``).

    Raises:
        PxBackendError: a pinned backend that cannot run here.
    """
    if device != "auto":
        for part in device.split("+", 1):  # "c+cuda": HYBRID, a launch split between two
            get(part)
        return device
    if target in ("cuda", "opencl"):
        get(target)
        return target
    for name in CPU_BACKENDS:
        try:
            get(name)
            return name
        except PxBackendError:
            continue
    raise PxBackendError("no backend can run here")  # interp always can; a pxos bug
