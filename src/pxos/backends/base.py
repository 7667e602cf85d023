"""What every backend provides, the one build-and-cache path they share, and the launch
geometry.

A backend compiles a checked kernel once (:meth:`Backend.compile`) and launches the result
over a :class:`Launch` with arguments in parameter order: for array parameters, C-contiguous
arrays of the parameter's dtype *in the backend's memory* (``Backend.memory``: NumPy arrays
for ``"host"``, CuPy arrays for ``"cuda"``, ``pyopencl.array.Array`` for ``"opencl"``); for
scalars, NumPy scalars of the parameter's type. The host runtime (``pxos.host``) does the
conversions, checks and transfers (``host/residency``) before calling.

Building (:meth:`Backend.compile`) is one path for every backend, as tinygrad's runtimes
share ``compile_cached``: the backend renders the kernel and names its cache key
(:meth:`Backend.render`, once per kernel object); the first kernel with that key looks
the artefact up in the disk cache (``backends/cache``), builds it if missing or damaged
(:meth:`Backend.build_artefact`) and loads it (:meth:`Backend.load`); later calls are one
dictionary lookup. :meth:`Backend.is_cached` answers from the same keys, for the planner.

Kernel time: :meth:`Backend.launch_timed` launches, waits, and returns the kernel's time
in seconds as the device measures it (CUDA events, OpenCL profiling events; on the CPU
backends a ``time.perf_counter`` clock around the synchronous launch). :meth:`launch`
itself measures nothing, so untimed launches cost what they did.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
import time
from typing import Any, Sequence

import numpy as np

from pxos.backends.cache import BuiltKernels, find_entry, has_entry, store_entry
from pxos.ir import nodes as ir

HOST = "host"  # the memory of the CPU backends


@dataclass(frozen=True)
class Launch:
    """The shape of one kernel launch.

    Attributes:
        threads: threads requested per axis, x first (``GPU_THREADS``), each ≥ 0.
        block: threads per block per axis, x first.
    """

    threads: tuple[int, ...]
    block: tuple[int, ...]

    @cached_property
    def grid(self) -> tuple[int, ...]:
        """Blocks per axis: ``ceil(threads / block)``."""
        return tuple(-(-t // b) for t, b in zip(self.threads, self.block))

    @property
    def total_threads(self) -> int:
        """Threads requested in all (``NUM_THREADS``)."""
        return int(np.prod(self.threads))

    @property
    def total_blocks(self) -> int:
        return int(np.prod(self.grid))

    @property
    def block_threads(self) -> int:
        return int(np.prod(self.block))


def make_launch(kernel: ir.Kernel, threads: Sequence[int]) -> Launch:
    """The launch of checked ``kernel`` for the given thread counts (its ``GPU_BLOCK``, or
    the default block the checker set: 256 threads in 1-D, 16 × 16 in 2-D, 32 × 4 × 2 in
    3-D)."""
    return Launch(tuple(int(t) for t in threads), tuple(kernel.block))


@dataclass
class Artefact:
    """A built kernel's artefact in the disk cache, as :meth:`Backend.load` receives it.

    Attributes:
        path: the cache entry's path.
        data: its bytes (a shared library, a cubin, an OpenCL program binary).
        hit: it was in the cache already (not built by this process).
        built: what :meth:`Backend.build_artefact` made besides the bytes (an OpenCL
            program already built from source), or None.
    """

    path: Any
    data: bytes
    hit: bool
    built: Any = None


class Backend:
    """The base of every backend (``interp``, ``c``, ``cuda``, ``opencl``).

    A subclass sets ``name``, ``memory`` and ``suffix``, calls ``super().__init__()``, and
    provides :meth:`render`, :meth:`build_artefact` (unless ``suffix`` is None),
    :meth:`load`, :meth:`launch` and, for asynchronous devices, :meth:`synchronize` and
    :meth:`launch_timed`.

    Attributes:
        name: the name used by ``--device`` (``pxos.registry``).
        memory: where launch arguments must live: ``"host"`` (``interp``, ``c``) or the
            device backend's own name (``cuda``, ``opencl``).
        suffix: the file suffix of its disk cache entries; None when nothing is stored on
            disk (the interpreter runs the IR; a backend whose driver caches builds
            itself builds in :meth:`load`).
        on_gpu: its device is a GPU (an OpenCL device may be a CPU, as PoCL is).
        device_name: its device's name as its driver gives it ("" for the CPU backends).
        auto_candidate: ``--device auto`` may choose it (``backends.auto_candidates``);
            False: it runs only when named (a WebGPU adapter that is a CPU, or on a GPU
            that a native backend drives: ``backends.native_twin``).
        uniform_loops_vectorised: its code runs a loop whose count is the same in every
            thread once per block, around a vectorised loop over the block's threads,
            whether the count is a literal or not (the C backend: ``codegen/interchange``);
            calibration then takes its vectorised rate to be its operation rate.
    """

    name: str
    memory: str
    suffix: str | None = None
    on_gpu: bool = False
    device_name: str = ""
    auto_candidate: bool = True
    uniform_loops_vectorised: bool = False

    def __init__(self):
        self._built = BuiltKernels()

    # -- the hooks a backend provides
    def render(self, kernel: ir.Kernel, checked: bool) -> tuple[Any, str | None]:
        """The generated source of ``kernel`` (whatever :meth:`load` needs) and the cache
        key of its artefact: the SHA-256 of everything that determines it
        (``backends.cache.cache_key``); None when nothing is built."""
        return kernel, None

    def admit(self, kernel: ir.Kernel) -> None:
        """Refuse, before building, a kernel this backend's device cannot run.

        Raises:
            PxBackendError: naming what the device lacks.
        """

    def build_artefact(self, source: Any) -> tuple[bytes, Any]:
        """Build ``source``: the artefact's bytes for the disk cache, and anything else
        made on the way that :meth:`load` may reuse (or None).

        Raises:
            PxBackendError: the toolchain refused the generated code.
        """
        raise NotImplementedError(f"{type(self).__name__} stores no artefact")

    def load(self, source: Any, artefact: Artefact | None) -> Any:
        """The launchable kernel of ``source`` from ``artefact`` (None when ``suffix`` is
        None: build it here, in memory); None if the device refuses an intact cached
        artefact (a changed driver), which is then built again."""
        return source

    # -- the shared path
    def compile(self, kernel: ir.Kernel, checked: bool = False) -> Any:
        """Prepare a checked kernel to run; cached in memory and on disk, so calling twice
        is one dictionary lookup.

        Args:
            kernel: from ``ir.check.check_kernel``.
            checked: bounds-check every array access (``pxos run --checked``); ``interp``
                always checks.

        Raises:
            PxBackendError: the device cannot run the kernel, or the toolchain refused
                the generated code.
        """
        known = self._built.get(kernel, checked)
        if known is not None:
            return known
        self.admit(kernel)
        source, key = self._source(kernel, checked)
        return self._built.build(kernel, checked, key, lambda: self._make(source, key))

    def is_cached(self, kernel: ir.Kernel, checked: bool = False) -> bool:
        """Whether :meth:`compile` would find ``kernel`` built (in memory or on disk, not
        verified): what the planner charges no build time for."""
        if self._built.get(kernel, checked) is not None:
            return True
        _, key = self._source(kernel, checked)
        if key is None:  # nothing to build
            return True
        return self._built.has(kernel, checked, key) or (
            self.suffix is not None and has_entry(self.name, key, self.suffix))

    def prebuild(self, kernel: ir.Kernel, checked: bool = False) -> bool:
        """Build ``kernel``'s artefact into the disk cache without loading it, where it is
        not cached: what a thread that must not load code for this device may do ahead of
        :meth:`compile` (calibration builds the ``cuda`` probes so, while its thread with
        the CUDA context measures). Returns whether it built.

        Raises:
            PxBackendError: the toolchain refused the generated code.
        """
        if self.suffix is None or self.is_cached(kernel, checked):
            return False
        source, key = self._source(kernel, checked)
        store_entry(self.name, key, self.suffix, self.build_artefact(source)[0])
        return True

    def _source(self, kernel: ir.Kernel, checked: bool) -> tuple[Any, str | None]:
        return self._built.source(kernel, checked, lambda: self.render(kernel, checked))

    def _make(self, source: Any, key: str | None) -> Any:
        """Load the artefact of ``key`` from the disk cache, or build and store it; with
        no ``suffix`` (no disk cache), :meth:`load` builds in memory."""
        if self.suffix is None:
            return self.load(source, None)
        found = find_entry(self.name, key, self.suffix)  # verified: a damaged one is rebuilt
        if found is not None:
            loaded = self.load(source, Artefact(found[0], found[1], True))
            if loaded is not None:
                return loaded
            found[0].unlink(missing_ok=True)
        data, built = self.build_artefact(source)
        path = store_entry(self.name, key, self.suffix, data)
        return self.load(source, Artefact(path, data, False, built))

    # -- launching
    def launch(self, compiled: Any, args: Sequence[Any], launch: Launch) -> None:
        """Run the kernel over ``launch``; arrays (in ``memory``) are updated in place.
        Device backends return once the launch is queued.

        Raises:
            PxBoundsError: an out-of-bounds index (always in ``interp``; in checked mode
                elsewhere, after waiting for the launch).
        """
        raise NotImplementedError

    def launch_timed(self, compiled: Any, args: Sequence[Any], launch: Launch) -> float:
        """:meth:`launch`, then wait for it: the kernel's time in seconds. Here (the
        synchronous CPU backends) a ``time.perf_counter`` clock around the launch, after
        waiting for earlier work; device backends measure with the device's events.

        Raises:
            as :meth:`launch`.
        """
        self.synchronize()
        start = time.perf_counter()
        self.launch(compiled, args, launch)
        self.synchronize()
        return time.perf_counter() - start

    def launch_parts(self, compiled: Any, args: Sequence[Any], launch: Launch) -> tuple | None:
        """What a native launcher needs to repeat ``launch`` of ``compiled`` with other
        arrays of the shapes of ``args`` (``host/native_device_call``): the address of the
        driver's launch function, the kernel's handle, the six grid and block sizes, a
        function giving the stream, the packed parameter buffer (bytes) and per argument
        ``(pointer slot, shape)`` or ``(-1, value)``. None (here): no native launcher."""
        return None

    def event_parts(self) -> tuple[int, int] | None:
        """The addresses of the driver's event functions a native launcher records a
        profiled launch between (``cuEventCreate``, ``cuEventRecord``: CUDA Driver API,
        "Event Management"), or None (here): no device events."""
        return None

    def synchronize(self) -> None:
        """Wait until every launch has finished (a no-op on synchronous backends)."""


class DeviceBackend(Backend):
    """A backend with memory of its own (``memory != "host"``): arrays move explicitly."""

    def to_device(self, host: np.ndarray) -> Any:
        """A new device array holding a copy of C-contiguous ``host`` (blocking)."""
        raise NotImplementedError

    def to_host(self, device: Any, out: np.ndarray) -> None:
        """Copy ``device`` into the host array ``out`` of the same shape and dtype,
        after every queued launch has finished (blocking)."""
        raise NotImplementedError

    def zeros(self, shape: tuple[int, ...], dtype: np.dtype) -> Any:
        """A new zero-filled device array (no transfer)."""
        raise NotImplementedError
