"""Calibration's probe kernels built ahead of timing them (issue 14: calibration time).

Every probe of every backend calibration measures is built before anything is timed, on a
pool of one thread per core: compilers are processes (gcc) or release the GIL (NVRTC), so
the builds overlap each other and whatever the calling thread does meanwhile (loading
CuPy and starting CUDA, NumPy's library figures). A job per backend:

- a backend that builds several kernels in one compiler run (``build_together``, the C
  backend): its fault guard (``CBackend.load_guard``: a small compiler run of its own,
  which the first kernel's load would otherwise run after the groups), and the probes in
  one group per core but one (:attr:`ProbeBuilds.groups`), balanced by size (longest
  first onto the lightest group: Graham's LPT rule, R. L. Graham, "Bounds on
  multiprocessing timing anomalies", SIAM J. Appl. Math. 17, 1969), each group one
  compiler run of one translation unit (a compiler start, header parse and link cost
  ~0.06 s of CPU each);
- a ``gpu`` backend (``cuda``): each probe compiled into the disk cache without loading it
  (``Backend.prebuild``: a CUDA module is loaded by the thread that holds the context,
  at its first launch);
- any other (OpenCL): each probe compiled and loaded in a thread of its own.

A backend's ``compile_s`` is the median over its jobs of the build time per kernel built
(a group's time divided by its kernels: the compiler's start and link shared among them).
"""

from __future__ import annotations

import statistics
import time
from concurrent.futures import Future, ThreadPoolExecutor

from pxos import backends, registry
from pxos.backends.library import reduce_array
from pxos.errors import PxBackendError
from pxos.ir import nodes as ir
from pxos.planner.probes import kernels_for, prefault


class ProbeBuilds:
    """Probe builds running on a pool (module docstring); :meth:`wait` collects them.

    Args:
        cores: the machine's (``host_cpu.cpu_cores``): the pool's threads, and one more
            than the most groups a backend's probes are split into (:attr:`groups`).
        early: the C probes' unit already compiling (``probe_source.start``), or None;
            where given, the C backend's probes are one group, that unit's library.
        memory: the probes' host memory (``probe_memory.ProbeMemory``), faulted in on the
            pool first (``probes.prefault``), or None.

    Attributes:
        groups: the most compiler runs of one backend's probes, ``cores - 1`` (at least
            one): the calling thread keeps a core for its own work meanwhile (NumPy's
            figures, loading CuPy), and one run saves a compiler start and link per group
            (on 2 cores, one run of the four C probes took about 0.6 s of CPU, two runs
            0.7 s).
    """

    def __init__(self, cores: int, early=None, memory=None):
        self.cores = max(1, cores)
        self.groups = max(1, self.cores - 1)
        self.early, self.memory = early, memory
        # one thread more for the guard, one for the memory
        self._pool = ThreadPoolExecutor(max_workers=max(2, self.cores) + 2)
        self._futures: list[Future] = []
        if memory is not None:
            self._futures.append(self._pool.submit(_prefaulted, memory))

    def start(self, backends_by_name: dict, cupy_library: bool = False) -> "ProbeBuilds":
        """Submit the builds of the probe kernels (``probes.kernels_for``) on each backend
        of ``backends_by_name`` (name to backend object) that compiles, and, with
        ``cupy_library``, a first ``REDUCE SUM`` on CuPy (whose kernels NVRTC compiles on
        first use)."""
        for name, backend in backends_by_name.items():
            if registry.compiles(name):
                for job, args in _jobs(name, backend, kernels_for(backend), self.groups,
                                       self.early):
                    self._futures.append(self._pool.submit(job, *args))
        if cupy_library:
            self._futures += [self._pool.submit(_warm_cupy_reduce, n) for n in (16, 1 << 26)]
        return self

    def wait(self) -> dict[str, float]:
        """Wait for every build, and end the pool.

        Returns:
            by backend name, the median build time per kernel of its jobs that built
            something (its ``compile_s``); a backend whose probes were all cached is left
            out. A build's error is left for the measurement to raise, when it compiles
            the same kernel.
        """
        times: dict[str, list[float]] = {}
        for future in self._futures:
            if future.exception() is None and future.result() is not None:
                name, seconds = future.result()
                times.setdefault(name, []).append(seconds)
        self._pool.shutdown()
        self._futures = []
        if self.early is not None:
            self.early.discard()  # unused (the probes were cached): stopped
        return {name: statistics.median(got) for name, got in times.items()}


def cpu_builders(names: list[str]) -> dict:
    """Those of backends ``names`` that build code for the CPU and are present here, by
    name (the C backend): those whose probes can build before the GPU backends load."""
    found = {}
    for name in names:
        if registry.compiles(name) and not registry.is_gpu(name):
            try:
                found[name] = backends.get(name)
            except PxBackendError:
                pass
    return found


def _jobs(name: str, backend, kernels: list[ir.Kernel], groups: int,
          early=None) -> list[tuple]:
    """The build jobs of ``kernels`` on ``backend`` (module docstring), at most ``groups``
    compiler runs where it builds several kernels in one (one, ``kernels`` in their order,
    the unit ``early`` compiles, where given), as (function, arguments) pairs."""
    if registry.is_gpu(name):
        return [(_prebuilt, (name, backend, k)) for k in kernels]
    if not hasattr(backend, "build_together"):
        return [(_compiled, (name, backend, k)) for k in kernels]
    together = [kernels] if early else balanced(kernels, min(groups, len(kernels)))
    return [(_loaded_guard, (backend,))] + [  # its own compiler run, beside the groups
        (_built_together, (name, backend, group, early)) for group in together]


def balanced(kernels: list[ir.Kernel], count: int) -> list[list[ir.Kernel]]:
    """``kernels`` in ``count`` groups of about equal build cost: each kernel, largest
    first, onto the group of least cost so far (Graham's LPT rule). A kernel's cost is 4 +
    its statements (``ir.walk``): gcc took ~0.05 s of CPU for the smallest probe and
    ~0.15 s for the largest of 12 statements."""
    def cost(k: ir.Kernel) -> int:
        return 4 + sum(1 for _ in ir.walk(k.body))

    groups: list[list[ir.Kernel]] = [[] for _ in range(max(1, count))]
    loads = [0] * len(groups)
    for k in sorted(kernels, key=cost, reverse=True):
        lightest = loads.index(min(loads))
        groups[lightest].append(k)
        loads[lightest] += cost(k)
    return [g for g in groups if g]


def _built_together(name: str, backend, group: list[ir.Kernel],
                    early=None) -> tuple[str, float] | None:
    """Build ``group`` on ``backend`` in one compiler run (``early``'s, where it compiled
    the same unit), then load each kernel; (name, seconds per kernel built), or None where
    all were cached."""
    t0 = time.perf_counter()
    built = backend.build_together(group, early.library if early else None)
    seconds = (early and early.seconds) or time.perf_counter() - t0
    if early is not None and not built:
        early.discard()  # all cached (calibrating again): its compiler stopped now
    for k in group:
        backend.compile(k)
    return (name, seconds / len(built)) if built else None


def _prefaulted(memory) -> None:
    """Fault in the probes' host memory (``probes.prefault``)."""
    prefault(memory)


def _loaded_guard(backend) -> None:
    """Build and load ``backend``'s fault guard (``CBackend.load_guard``)."""
    backend.load_guard()


def _prebuilt(name: str, backend, k: ir.Kernel) -> tuple[str, float] | None:
    """Build ``k`` into ``backend``'s disk cache, not loaded; (name, seconds) if it was
    not cached, else None."""
    t0 = time.perf_counter()
    return (name, time.perf_counter() - t0) if backend.prebuild(k) else None


def _compiled(name: str, backend, k: ir.Kernel) -> tuple[str, float] | None:
    """Build and load ``k`` on ``backend``: (name, seconds) if it was not cached, else
    None."""
    if backend.is_cached(k):
        backend.compile(k)
        return None
    t0 = time.perf_counter()
    backend.compile(k)
    return name, time.perf_counter() - t0


def _warm_cupy_reduce(n: int) -> None:
    """Run ``REDUCE SUM`` of ``n`` f32 on CuPy once (see :meth:`ProbeBuilds.start`)."""
    import cupy

    reduce_array("sum", cupy.ones(n, cupy.float32))
