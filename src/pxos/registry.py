"""The one registry of pxos's backends and code-generation targets.

A backend is one :class:`BackendEntry` in :data:`BACKENDS`; a target (a dialect of the
C-family renderer, or another renderer) one :class:`TargetEntry` in :data:`TARGETS`. Every
other module asks this one (``registry.is_gpu(name)``, ``registry.cpu_backends()`` …)
instead of spelling backend names, so adding a backend or a target is one entry here plus
its own module.

This module is data and queries only: it imports no other pxos layer, so every layer, from
the `.px` parser (``GPU_TARGET`` names) to the command line, can ask it. The modules named
in the entries are imported by ``backends`` (backends) and ``codegen/targets`` (targets).
"""

from __future__ import annotations

from dataclasses import dataclass

HOST = "host"  # the memory of the CPU backends (``backends/base.HOST``)


@dataclass(frozen=True)
class BackendEntry:
    """One backend.

    Attributes:
        name: the name of ``--device``, ``device=`` and ``GPU_TARGET``.
        module, cls: where its class is (``module``'s attribute ``cls``); constructing it
            raises ``PxBackendError`` where it cannot run.
        kind: ``"cpu"`` (runs on the host CPU, in host memory), ``"gpu"`` (a GPU with
            memory of its own) or ``"device"`` (a device API whose device may be a GPU or
            a CPU, as OpenCL on PoCL: calibration measures which).
        target: the :class:`TargetEntry` it renders; None for one that runs the IR itself.
        auto: rank among the CPU backends that ``--device auto`` falls back to, lower
            first; None: never chosen that way.
        always_checked: it checks every array access as it runs (the interpreter), so
            neither checked builds nor the launch bounds checker apply.
        libraries: the array libraries (``host/arrays.library_of`` kinds) whose arrays live
            in its memory, so a call on them runs there without copies.
        library_ops: the host's library operations (``REDUCE``, ``SORT``) have a version in
            its memory (CuPy's for ``cuda``).
        native_calls: a Python kernel's repeated calls may go through the C helper
            ``host/native_call`` (its builds have the packed entry, ``codegen/c_packed``).
        timer: how a profile times one of its launches (``lib/profile``): ``clock`` (the
            host clock around the call: it runs synchronously), ``queue`` (the clock
            around the call and a synchronize of its queue: the call only queues) or
            ``cuda-events`` (a pair of CUDA events through CuPy, with its arrays in CuPy's
            memory pool: copies of its memory also use CuPy's pinned host memory).
        requires: the Python packages it needs, as (module, name shown) pairs: where one
            is not installed, ``backends.get`` refuses the backend before importing its
            module (``backends/cuda`` imports pxos's CUDA code generator: ~50 ms of every
            process that asks for ``cuda`` on a machine without CuPy, issue 14).
    """

    name: str
    module: str
    cls: str
    kind: str
    target: str | None
    auto: int | None = None
    always_checked: bool = False
    libraries: tuple[str, ...] = ()
    library_ops: bool = False
    native_calls: bool = False
    timer: str = "clock"
    requires: tuple[tuple[str, str], ...] = ()

    @property
    def memory(self) -> str:
        """Where its launch arguments live: :data:`HOST`, or its own name."""
        return HOST if self.kind == "cpu" else self.name


@dataclass(frozen=True)
class TargetEntry:
    """One code-generation target (``pxos compile --target``).

    Attributes:
        name: the target's name.
        module: the ``codegen`` module holding the dialect and the renderer.
        dialect: the dialect class's name in ``module``.
        render: the name of ``module``'s ``render(kernel, checked) -> KernelSource``.
        runs: whether a backend present somewhere runs its code (False: rendered only, as
            a target for other tools).
        options: keyword arguments ``render`` takes besides the kernel and ``checked``
            (WGSL's ``wide``: a unit shown or compiled alone assumes 64-bit types).
        unit: the kernels share one translation unit (``codegen/dialect.render_unit``);
            False: each kernel is a module of its own (WGSL binds its buffers per module).
    """

    name: str
    module: str
    dialect: str
    render: str
    runs: bool = True
    options: tuple[tuple[str, object], ...] = ()
    unit: bool = True


BACKENDS: tuple[BackendEntry, ...] = (
    BackendEntry("interp", "pxos.backends.interp", "InterpBackend", "cpu", None, auto=1,
                 always_checked=True),
    BackendEntry("c", "pxos.backends.c", "CBackend", "cpu", "c", auto=0, native_calls=True),
    BackendEntry("cuda", "pxos.backends.cuda", "CudaBackend", "gpu", "cuda",
                 libraries=("cupy", "torch-cuda", "cuda"), library_ops=True,
                 timer="cuda-events", requires=(("cupy", "CuPy"),)),
    BackendEntry("opencl", "pxos.backends.opencl", "OpenCLBackend", "device", "opencl",
                 timer="queue", requires=(("pyopencl", "PyOpenCL"),)),
    BackendEntry("webgpu", "pxos.backends.webgpu", "WebGPUBackend", "device", "wgsl",
                 timer="queue", requires=(("wgpu", "wgpu-py"),)),
)

TARGETS: tuple[TargetEntry, ...] = (
    TargetEntry("c", "pxos.codegen.c", "CDialect", "render_c"),
    TargetEntry("cuda", "pxos.codegen.cuda", "CudaDialect", "render_cuda"),
    TargetEntry("opencl", "pxos.codegen.opencl", "OpenCLDialect", "render_opencl"),
    TargetEntry("hip", "pxos.codegen.hip", "HipDialect", "render_hip", runs=False),
    TargetEntry("wgsl", "pxos.codegen.wgsl", "WgslDialect", "render_wgsl",
                options=(("wide", True),), unit=False),
)

_BY_NAME = {e.name: e for e in BACKENDS}
_TARGET_BY_NAME = {t.name: t for t in TARGETS}


def names() -> tuple[str, ...]:
    """Every registered backend's name, in registry order."""
    return tuple(_BY_NAME)


def entry(name: str) -> BackendEntry:
    """The entry of backend ``name``.

    Raises:
        KeyError: no backend of that name is registered.
    """
    return _BY_NAME[name]


def known(name: str) -> bool:
    """Whether ``name`` is a registered backend."""
    return name in _BY_NAME


def is_gpu(name: str) -> bool:
    """Whether backend ``name`` always runs on a GPU (``kind == "gpu"``); a ``device``
    backend's device may be a GPU, which calibration finds out."""
    found = _BY_NAME.get(name)
    return found is not None and found.kind == "gpu"


def has_device_memory(name: str) -> bool:
    """Whether backend ``name`` keeps its arrays in memory of its own (not the host's)."""
    found = _BY_NAME.get(name)
    return found is not None and found.kind != "cpu"


def device_backends() -> tuple[str, ...]:
    """The backends with memory of their own, in registry order: what ``GPU_TARGET`` may
    name besides ``auto`` and ``cpu``."""
    return tuple(e.name for e in BACKENDS if e.kind != "cpu")


def cpu_backends() -> tuple[str, ...]:
    """The CPU backends ``--device auto`` may fall back to, best first."""
    return tuple(e.name for e in sorted((e for e in BACKENDS if e.auto is not None),
                                        key=lambda e: e.auto))


def native_calls(name: str) -> bool:
    """Whether backend ``name``'s builds take repeated calls through ``host/native_call``."""
    found = _BY_NAME.get(name)
    return found is not None and found.native_calls


def compiles(name: str) -> bool:
    """Whether backend ``name`` builds code (False: it runs the IR itself)."""
    return _BY_NAME[name].target is not None


def compiling(candidates) -> list[str]:
    """Those of ``candidates`` that build code, or all of them when none does (the
    interpreter is a candidate only where nothing compiles)."""
    built = [n for n in candidates if n in _BY_NAME and _BY_NAME[n].target is not None]
    return built or [n for n in candidates if n in _BY_NAME]


def interpreter() -> str:
    """The backend that runs everywhere (it builds nothing)."""
    return next(e.name for e in BACKENDS if e.target is None)


def always_checked(name: str) -> bool:
    """Whether backend ``name`` checks every access as it runs."""
    found = _BY_NAME.get(name)
    return found is not None and found.always_checked


def memory_of(name: str) -> str:
    """The memory backend ``name``'s launch arguments live in (:data:`HOST` or its name);
    :data:`HOST` for a name that is no backend (a HYBRID pair's host side)."""
    found = _BY_NAME.get(name)
    return found.memory if found is not None else HOST


def memory_of_library(kind: str) -> str:
    """The memory arrays of library ``kind`` (``host/arrays.library_of``) live in: the
    backend claiming them, else :data:`HOST`."""
    return next((e.name for e in BACKENDS if kind in e.libraries), HOST)


def device_libraries() -> frozenset[str]:
    """The array libraries (``arraylike.library_of`` kinds) whose arrays live in a
    backend's own memory (CuPy's, PyTorch's CUDA tensors …)."""
    return frozenset(k for e in BACKENDS if e.kind != "cpu" for k in e.libraries)


def timer(name: str) -> str:
    """How a profile times a launch on backend ``name`` (:attr:`BackendEntry.timer`;
    ``clock`` for a name that is no backend: the host's library operations)."""
    found = _BY_NAME.get(name)
    return found.timer if found is not None else "clock"


def library_sides() -> tuple[str, ...]:
    """Where library operations (``REDUCE``, ``SORT``) can run: :data:`HOST` and each
    backend with ``library_ops``."""
    return (HOST, *(e.name for e in BACKENDS if e.library_ops))


def library_side(device: str) -> str:
    """Where a library operation runs when ``--device`` pins ``device``."""
    found = _BY_NAME.get(device)
    return device if found is not None and found.library_ops else HOST


def target_names() -> tuple[str, ...]:
    """Every registered code-generation target, in registry order."""
    return tuple(_TARGET_BY_NAME)


def target(name: str) -> TargetEntry:
    """The entry of target ``name``.

    Raises:
        KeyError: no target of that name is registered.
    """
    return _TARGET_BY_NAME[name]


def target_of(backend: str) -> str | None:
    """The target backend ``backend`` renders (None: it runs the IR, or is unknown)."""
    found = _BY_NAME.get(backend)
    return found.target if found is not None else None


# -- array collections a library takes a kernel call over (``pxos.dask``): the top-level
# package of the collection's class -> ``handler(kernel, args, device=, threads=,
# checked=)``, whose result the call returns. A library registers itself when imported;
# until then ``host/pykernel`` refuses such an argument, naming the library to import.
COLLECTIONS: dict[str, object] = {}
COLLECTION_LIBRARIES = {"dask": "pxos.dask"}  # collection package -> the library to import


def collection_of(args) -> str | None:
    """The collection package (``dask``) of the first argument that belongs to one."""
    for a in args:
        top = type(a).__module__.partition(".")[0]
        if top in COLLECTION_LIBRARIES:
            return top
    return None
