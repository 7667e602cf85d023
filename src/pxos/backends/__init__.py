"""The backends present on this machine, by name.

Which backends exist is ``pxos.registry``'s :data:`~pxos.registry.BACKENDS`: ``interp``
(NumPy, always present), ``c`` (the system C compiler with OpenMP), ``cuda`` (NVRTC and
CuPy, where a CUDA device is present) and ``opencl`` (PyOpenCL on any OpenCL device: PoCL
on a CPU, a vendor's driver on a GPU). Tests are parametrised over :func:`available`, so a
new backend is tested by registering it there.
"""

from __future__ import annotations

from functools import cache
from importlib import import_module

from pxos import extras, registry
from pxos.errors import PxBackendError


@cache
def get(name: str):
    """The backend instance called ``name`` (one per process).

    Raises:
        PxBackendError: unknown name, or the backend cannot run here (no C compiler, …).
    """
    if not registry.known(name):
        raise PxBackendError(f"unknown device {name!r}; expected one of auto, "
                             + ", ".join(registry.names()))
    found = registry.entry(name)
    for module, shown in found.requires:
        if not extras.installed(module):
            raise PxBackendError(f"the {name} backend needs {shown} (No module named "
                                 f"{module!r})", hint=f"pip install 'pxos[{name}]'")
    return getattr(import_module(found.module), found.cls)()


def installed(name: str) -> bool:
    """Whether the Python packages backend ``name`` needs (``registry``'s ``requires``)
    are installed in this process (found, not imported: cheap, and remembered where
    missing). A backend may still fail to load for want of a device or a driver."""
    return all(extras.installed(module) for module, _ in registry.entry(name).requires)




def available() -> list[str]:
    """Names of the backends that can run on this machine."""
    out = []
    for name in registry.names():
        try:
            get(name)
        except PxBackendError:
            continue
        out.append(name)
    return out


def auto_candidates(names) -> list[str]:
    """Those of backend ``names`` that ``--device auto`` may choose: not one whose
    ``Backend.auto_candidate`` is False (a WebGPU adapter that is a CPU, Mesa's lavapipe:
    there for correctness tests, run only when named; one on a GPU that a native backend
    drives, :func:`native_twin`). A name that cannot be loaded here
    is kept (the caller's estimate for it is moot)."""
    out = []
    for name in names:
        try:
            keep = get(name).auto_candidate
        except PxBackendError:
            keep = True
        if keep:
            out.append(name)
    return out


def native_twin(backend) -> str | None:
    """The backend registered before ``backend`` (a backend instance with ``name``,
    ``device_name``) that drives the same GPU, if one is present here: a ``gpu`` or
    ``device`` backend whose device is a GPU (``on_gpu``) and whose ``device_name`` holds
    ``backend``'s, or is held in it, case aside (``cuda``'s ``"NVIDIA H200"`` and NVIDIA's
    Vulkan adapter of that name). The registry lists native backends (``cuda``, ``opencl``)
    before portable ones (``webgpu``), so a portable backend asks this to leave a GPU to the
    native one under ``--device auto`` (docs/backends.md). Loads those backends (cached)."""
    mine = backend.device_name.strip().lower()
    for name in registry.names():
        if name == backend.name:
            return None
        if registry.entry(name).kind == "cpu":
            continue
        try:
            other = get(name)
        except PxBackendError:
            continue
        theirs = other.device_name.strip().lower()
        if other.on_gpu and mine and theirs and (mine in theirs or theirs in mine):
            return name
    return None


def choose(device: str, target: str = "auto") -> str:
    """The backend for a launch: ``device`` (``--device``; ``cpu+device`` pins a HYBRID
    split, ``backends/hybrid``) if not ``auto``, else the kernel's ``GPU_TARGET`` pin (a
    device backend), else the fastest CPU backend present (``registry.cpu_backends``).

    Raises:
        PxBackendError: a pinned backend that cannot run here.
    """
    if device != "auto":
        for part in device.split("+", 1):  # "c+cuda": HYBRID, a launch split between two
            get(part)
        return device
    if target in registry.device_backends():
        get(target)
        return target
    for name in registry.cpu_backends():
        try:
            get(name)
            return name
        except PxBackendError:
            continue
    raise PxBackendError("no backend can run here")  # interp always can; a pxos bug
