"""Calibration: the machine figures the cost model needs, measured once per machine.

For every backend present (the interpreter only where nothing compiles: it is the
planner's candidate only then), small `.px` kernels (``planner/probes.px``) run through that
backend's own compile and launch path, and their times are divided into the work
``ir/analysis`` counts for them, so the rates are in the same units the model uses:

- ``launch_s``: a launch of 32 threads, submitted and waited for (seconds);
- ``bandwidth``: device memory, from ``y = a*x + y`` over a large array (bytes/s); on a CPU,
  ``cache_bandwidth`` the same over :data:`CACHE_BYTES` of arrays, its team of threads woken;
- ``ops_rate``: the whole device's issue rate, four independent multiply-add chains a
  thread (operations/s); ``vector_rate``: with the loop count a literal (a CPU compiler
  vectorises across threads); ``serial_rate``: one thread alone; on a CPU ``scalar_rate``:
  in a loop a thread may leave early (one thread at a time, or in lockstep on ``c``);
- ``transcendental_rate``: ``sin``/``exp``/s; ``atomic_rate``: atomic adds/s into 256
  counters in a scattered order, as a histogram's (threads on different cache lines);
- ``compile_s``: generating and compiling a kernel not in the cache;
- for a backend with its own memory, copies from and to pageable host memory (and pinned,
  for ``cuda``), bytes/s, and ``up_s``/``down_s``, a copy of 256 bytes each way (seconds);
  on a GPU ``download_fresh``, a copy into new host memory, each page first touched by the
  copy (a call's device arguments copied for a CPU kernel: ``planner/call``), bytes/s.

``REDUCE`` and ``SORT`` are measured with NumPy and, where ``cuda`` is present, CuPy. Where
a CPU backend and a GPU are both present, one HYBRID split over host data is timed against
each device alone where the model predicts the two close, and one of a tiny launch for the
split's fixed cost (``probes.measure_split``). The figures are stored as JSON in the
cache folder, keyed by the CPU, the compiler, each device's name and driver and
:data:`VERSION`, and reused until one of those changes.

Calibration measures at once only what every plan needs: the CPU and GPU backends of
``pxos.registry`` (the interpreter only where nothing compiles) and NumPy's library
operations, not the ``device`` backends (OpenCL, WebGPU), whose drivers take up to seconds
to start and build. They are measured the first time the planner considers them
(:func:`complete`): under ``--device auto`` those that are auto candidates (a CPU WebGPU
adapter never is: it is recorded in :attr:`Machine.named_only` and measured only when
named), and CuPy's ``REDUCE``/``SORT`` on first use (its CUB reductions compile then).
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from pxos import backends, registry
from pxos.atomic_write import write_atomic
from pxos.backends.cache import cache_dir, cache_key
from pxos.errors import PxBackendError
from pxos.planner import stored
from pxos.planner.host_cpu import cpu_cores, cpu_model  # noqa: F401 - also for importers

VERSION = 14  # bump when what is measured, or how, changes
CACHE_BYTES = 1 << 19  # a launch's arrays that stay in a CPU's caches: 512 KiB (module doc)
CUDA_LIBRARY = "library cuda"  # the name of CuPy's REDUCE/SORT figures in Machine.pending
PROBES = Path(__file__).with_name("probes.px")


@dataclass
class DeviceFigures:
    """Measured figures of one backend (units in the module docstring)."""

    backend: str
    device: str
    memory: str
    launch_s: float
    bandwidth: float
    ops_rate: float
    serial_rate: float
    transcendental_rate: float
    atomic_rate: float
    compile_s: float
    vector_rate: float = 0.0         # ops/s of a kernel whose loop counts are literals
    scalar_rate: float = 0.0         # a CPU's ops/s in loops of varying count; 0: none
    gpu: bool = False                # a GPU (SIMT: warps, sectors), not a CPU
    upload: float | None = None      # host → device, pageable, bytes/s
    download: float | None = None    # device → host, pageable, bytes/s
    download_fresh: float | None = None  # the same into new host memory (first touch); GPUs
    upload_pinned: float | None = None
    download_pinned: float | None = None
    cache_bandwidth: float = 0.0     # a CPU's bytes/s for arrays within CACHE_BYTES; 0: none
    up_s: float = 0.0                # a tiny copy to the device, s; 0: launch_s stands in
    down_s: float = 0.0              # a tiny copy back, s; 0: launch_s stands in


@dataclass
class LibraryFigures:
    """``REDUCE`` and ``SORT`` on one side: NumPy on the host, CuPy on ``cuda``.

    Attributes:
        call_s, sort_call_s: one ``REDUCE`` / ``SORT`` of a tiny array, seconds.
        reduce_bandwidth: bytes/s of a large sum.
        sort_rate: elements/s of a large sort, divided by ``log2(n)`` on the host (a
            comparison sort) and not on the device (a radix sort).
        reduce_cache_bandwidth, sort_small_rate: the same on the host for arrays in its
            caches (``probe_library``); 0: not measured.
    """

    side: str
    call_s: float
    reduce_bandwidth: float
    sort_rate: float
    sort_call_s: float = 0.0
    reduce_cache_bandwidth: float = 0.0
    sort_small_rate: float = 0.0


@dataclass
class Machine:
    """Everything calibration measured on this machine.

    Attributes:
        key: what the figures depend on (CPU, compiler, devices, drivers), hashed.
        cpu: the CPU's model; cores: logical CPUs this process may use.
        devices: :class:`DeviceFigures` by backend name; seconds: calibration's time.
        library: :class:`LibraryFigures` by side (``host``, ``cuda``).
        hybrid: for each HYBRID pair (``c+cuda``), how much faster a split over host
            data ran than the faster device alone (``probes.measure_split``); the planner
            offers a split only where this shows it pays.
        hybrid_error: for each pair timed, the model's relative error on that split's
            gain, |predicted ÷ measured − 1| (``planner/hybrid.split_margin``).
        hybrid_overhead: for each pair timed, seconds a split costs beyond its slower
            part, timed on a tiny launch (``planner/hybrid.split_overhead``).
        pending: backends not measured yet (the ``device`` backends, present or not), and
            :data:`CUDA_LIBRARY` (:func:`complete` measures them).
        named_only: pending backends found present but no ``--device auto`` candidate
            (``Backend.auto_candidate``: a CPU WebGPU adapter); measured only when named.
        absent: measured backends whose Python packages this process lacks
            (``backends.installed``), found by :func:`machine`, not stored: one
            calibration file serves every Python environment on the machine (its key is
            the CPU and the backends loaded at once), and another environment, with
            PyOpenCL say, may have measured a backend this one cannot load.
    """

    key: str
    cpu: str
    cores: int
    devices: dict[str, DeviceFigures]
    library: dict[str, LibraryFigures]
    seconds: float = 0.0
    created: str = ""
    version: int = VERSION
    identity: dict[str, str] = field(default_factory=dict)
    hybrid: dict[str, float] = field(default_factory=dict)
    pending: list[str] = field(default_factory=list)  # measured when first a candidate
    hybrid_error: dict[str, float] = field(default_factory=dict)
    hybrid_overhead: dict[str, float] = field(default_factory=dict)
    named_only: list[str] = field(default_factory=list)
    absent: list[str] = field(default_factory=list)

    def present(self) -> list[str]:
        """The measured backends this process can load: :attr:`devices` but
        :attr:`absent`, in the order measured."""
        return [d for d in self.devices if d not in self.absent]

    def is_gpu(self, device: str) -> bool:
        """Whether backend ``device`` runs on a GPU (an OpenCL device may be a CPU, as with
        PoCL: calibration recorded which)."""
        fig = self.devices.get(device)
        return registry.is_gpu(device) or (fig is not None and fig.gpu)

    def to_json(self) -> str:
        """The figures as stored (:attr:`absent` is this process's, not stored)."""
        out = asdict(self)
        del out["absent"]
        return json.dumps(out, indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "Machine":
        """The figures stored by :meth:`to_json`, every field checked (``planner/stored``).

        Raises:
            OtherVersion: stored by another version of pxos.
            StoredError: not JSON of the expected shape (a wrong type, a rate ≤ 0 …).
        """
        d = stored.mapping(json.loads(text), "the file")
        if d.get("version") != VERSION:
            raise OtherVersion("calibrated by another version of pxos")
        d["devices"] = {k: stored.record(DeviceFigures, v, f"devices.{k}", _positive)
                        for k, v in stored.mapping(d.get("devices"), "devices").items()}
        d["library"] = {k: stored.record(LibraryFigures, v, f"library.{k}", _positive)
                        for k, v in stored.mapping(d.get("library"), "library").items()}
        found = stored.record(cls, d, "calibration", _positive)
        for name, names in (("pending", found.pending), ("named_only", found.named_only)):
            if not isinstance(names, list) or not all(isinstance(n, str) and (
                    registry.known(n) or n == CUDA_LIBRARY) for n in names):
                raise stored.StoredError(f"calibration.{name} is {names!r}, not a "
                                         "list of backend names")
        return found


class OtherVersion(ValueError):
    """A calibration file of another version of pxos (calibrated again quietly)."""


def _positive(name: str) -> bool:
    """Whether a stored figure must be > 0: a rate, a bandwidth, a copy speed, cores (not
    those that may be 0, not measured: ``vector_rate``, ``scalar_rate``, the caches')."""
    return (name.endswith(("rate", "bandwidth")) and name not in (
        "vector_rate", "scalar_rate", "cache_bandwidth", "reduce_cache_bandwidth",
        "sort_small_rate") or name.startswith(("upload", "download")) or name == "cores")


def loaded_at_once(name: str) -> bool:
    """Whether calibration measures ``name`` at once: a ``cpu`` or ``gpu`` backend."""
    return registry.entry(name).kind != "device"


def identity() -> dict[str, str]:
    """What the figures depend on: the CPU, and each backend calibration loads at once
    (:func:`loaded_at_once`) that is present, with its device. A ``device`` backend's
    identity is added by :func:`complete` when it is measured (it is not loaded before)."""
    out = {"cpu": f"{cpu_model()} × {cpu_cores()}", "version": str(VERSION)}
    for name in registry.names():
        if not loaded_at_once(name):
            continue
        if not registry.compiles(name):  # the interpreter: always present, no device
            out[name] = name
            continue
        try:
            b = backends.get(name)
        except PxBackendError:
            continue
        out[name] = str(getattr(b, "identity", None) or name)
    return out


def calibration_path(key: str) -> Path:
    return cache_dir() / "calibration" / f"{key[:16]}.json"


def machine(auto: bool = True, progress: Callable[[str], None] | None = None) -> Machine:
    """This machine's figures: from the cache, else calibrated now (when ``auto``) and
    stored.

    Args:
        progress: called with a line of text before a calibration starts (the command line
            prints it to stderr); default: write to stderr.

    Raises:
        PxBackendError: no figures are stored and ``auto`` is False.
    """
    ident = identity()
    key = cache_key(json.dumps(ident, sort_keys=True))
    hit = _loaded.get(key)
    if hit is not None:
        return hit
    path = calibration_path(key)
    if path.exists():
        try:
            found = _loaded[key] = Machine.from_json(path.read_text())
            found.absent = [d for d in found.devices if not backends.installed(d)]
            return found
        except OtherVersion:
            pass  # calibrate again
        except (OSError, ValueError) as err:  # unreadable, not JSON, or of the wrong shape
            stored.warn(path, str(err), "calibrating again")
    if not auto:
        raise PxBackendError("this machine is not calibrated", hint="run `pxos calibrate`")
    say = progress or (lambda s: sys.stderr.write(s + "\n"))
    say("pxos: calibrating this machine once (a few seconds; `pxos calibrate` redoes it)")
    return calibrate(ident)


_loaded: dict[str, Machine] = {}


def calibrate(ident: dict[str, str] | None = None,
              progress: Callable[[str], None] | None = None, early=None) -> Machine:
    """Measure the backends every plan needs (see the module docstring), store the figures
    and return them; the others are listed in :attr:`Machine.pending`.

    Without ``ident``, the CPU backends' probes start building (compiler processes) before
    :func:`identity` loads the GPU backends (CuPy's import and CUDA's start), so the two
    overlap (``planner/probe_builds``). ``early``: the C probes' compiler run, started
    before pxos's imports (``probe_source.start``; default: started now)."""
    from pxos.planner.probe_builds import ProbeBuilds, cpu_builders
    from pxos.planner.probe_memory import ProbeMemory
    from pxos.planner.probe_source import start

    t0 = time.perf_counter()
    builds, started = ProbeBuilds(cpu_cores(), early or start(), ProbeMemory()), {}
    if ident is None:
        started = cpu_builders([n for n in registry.names() if loaded_at_once(n)])
        builds.start(started)
        ident = identity()
        if progress:
            progress(f"loaded the backends in {time.perf_counter() - t0:.2f} s")
    key = cache_key(json.dumps(ident, sort_keys=True))
    present = [n for n in registry.names() if n in ident]  # those loaded at once
    # the others run only when named; the interpreter is a candidate only where nothing
    # compiles (planner/program)
    now = backends.auto_candidates(registry.compiling(present))
    later = [n for n in registry.names() if not loaded_at_once(n)] + \
        ([CUDA_LIBRARY] if any(registry.entry(b).library_ops for b in now) else [])
    found = Machine(key, cpu_model(), cpu_cores(), {}, {}, 0.0,
                    time.strftime("%Y-%m-%dT%H:%M:%S"), VERSION, ident, pending=now + later)
    return _measure(found, now + ["library host"], t0, progress, later, builds, started)


def complete(machine: Machine, names: list[str] | None = None,
             progress: Callable[[str], None] | None = None, library: bool = True) -> Machine:
    """Measure those of ``machine.pending`` among ``names`` now, store the figures again
    and return ``machine`` (the planner calls this for its candidates). ``names`` None:
    every ``--device auto`` candidate (and :data:`CUDA_LIBRARY` if ``library``: a kernel
    call's placement does without it); a pending backend loaded here that is absent is
    dropped, one that is no auto candidate goes to :attr:`Machine.named_only`."""
    if names is None:
        todo = [n for n in machine.pending if n not in machine.named_only
                and (library or n != CUDA_LIBRARY)]
    else:
        todo = [n for n in machine.pending if n in names]
    before = (list(machine.pending), list(machine.named_only))
    todo = [n for n in todo if n == CUDA_LIBRARY or _keep(machine, n, names is None)]
    if not todo:
        if before != (machine.pending, machine.named_only):
            _store(machine)  # what loading the pending backends found out
        return machine
    say = progress or (lambda s: sys.stderr.write(s + "\n"))
    say(f"pxos: calibrating {', '.join(todo)} once (the first time it is a candidate)")
    return _measure(machine, todo, time.perf_counter() - machine.seconds, progress,
                    pending=[n for n in machine.pending if n not in todo])


def _keep(machine: Machine, name: str, auto: bool) -> bool:
    """Whether pending backend ``name`` is to be measured now: loaded, it is present (else
    it leaves ``machine.pending``) and, under ``auto``, an auto candidate (else it goes to
    ``machine.named_only``). One whose Python packages this process lacks stays pending
    (another environment on this machine may have them: :attr:`Machine.absent`)."""
    if not backends.installed(name):
        return False
    try:
        backend = backends.get(name)
    except PxBackendError:
        machine.pending.remove(name)
        return False
    if auto and not backend.auto_candidate:
        machine.named_only.append(name)
        return False
    machine.identity[name] = str(getattr(backend, "identity", None) or name)
    return True


def _measure(found: Machine, todo: list[str], t0: float, progress, pending: list[str],
             builds=None, started: dict | None = None):
    """Measure ``todo`` (backend names, ``library host``, :data:`CUDA_LIBRARY`) into
    ``found``, then the HYBRID split if a new pair appeared; store and return it.

    ``builds``: a ``probe_builds.ProbeBuilds`` already building the probes of the backends
    in ``started``; the others' builds are added. NumPy's figures are measured while the
    builds run where they leave this thread a core (``ProbeBuilds.groups``), else after
    the backends. The probes' host arrays share buffers (``planner/probe_memory``)."""
    from pxos.planner.probe_builds import ProbeBuilds
    from pxos.planner.probe_library import library_into
    from pxos.planner.probe_memory import ProbeMemory
    from pxos.planner.probes import measure_backend, measure_split

    def say(line: str, since: float) -> None:
        if progress:
            progress(f"{line} in {time.perf_counter() - since:.2f} s")

    names = [n for n in todo if not n.startswith("library")]
    builds = builds or ProbeBuilds(cpu_cores())
    builds.start({n: backends.get(n) for n in names if n not in (started or {})},
                 CUDA_LIBRARY in todo)
    sides = [s for s in registry.library_sides() if f"library {s}" in todo]
    memory = builds.memory or ProbeMemory()
    if "host" in sides and builds.groups < found.cores:
        sides.remove("host")
        library_into(found, "host", say, memory)
    built = builds.wait()
    say("built the probes", t0)
    for name in names:  # each figure said, with the time since the backend's first
        found.devices[name] = measure_backend(
            name, backends.get(name), built.get(name), memory,
            lambda figure, name=name, at=time.perf_counter(): say(f"{name}: {figure}", at))
    for side in sides:
        library_into(found, side, say, memory)
    found.pending = pending
    if names:
        started_at = time.perf_counter()
        found.hybrid, found.hybrid_error, found.hybrid_overhead = measure_split(
            found, probe_memory=memory)
        if found.hybrid:
            say(f"timed the {', '.join(found.hybrid)} split", started_at)
    found.seconds = time.perf_counter() - t0
    _store(found)
    return found


def _store(found: Machine) -> None:
    """Write ``found`` to its file (atomically) and keep it for this process."""
    try:
        write_atomic(calibration_path(found.key), found.to_json().encode())
    except OSError as err:  # a full or read-only cache: the figures still serve this run
        stored.warn(calibration_path(found.key), err.strerror or str(err),
                    "the figures are not kept; calibrating again next time")
    _loaded[found.key] = found
