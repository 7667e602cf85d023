"""Calibration: the machine figures the cost model needs, measured once per machine.

For every backend present (the interpreter only where nothing compiles: it is the
planner's candidate only then), small `.px` kernels (``planner/probes.px``) run through that
backend's own compile and launch path, and their times are divided into the work
``ir/analysis`` counts for them, so the rates are in the same units the model uses:

- ``vector_rate``: the same with a loop count written in the kernel, which lets a CPU
  compiler vectorise across threads (used for kernels whose loops all have literal counts);
- ``launch_s``: a launch of 32 threads, submitted and waited for (seconds);
- ``bandwidth``: device memory, from ``y = a*x + y`` over a large array (bytes/s);
- ``ops_rate``: arithmetic issue rate of the whole device, four independent multiply-add
  chains per thread (operations/s); ``serial_rate``: the same for one thread alone;
- ``transcendental_rate``: ``sin``/``exp`` per second; ``atomic_rate``: atomic additions
  into 256 counters per second;
- ``compile_s``: generating and compiling a kernel not in the cache;
- for a backend with its own memory, copies from and to pageable host memory (and pinned,
  for ``cuda``), bytes/s.

The host library operations (``REDUCE``, ``SORT``) are measured with NumPy and, where the
``cuda`` backend is present, CuPy. Where a CPU backend and a GPU are both present, one
HYBRID split over host data is timed against each device alone, where the model predicts
the two close (``probes.measure_split``). Its figures are stored as JSON under the cache
folder, keyed by the CPU, the compiler, each device's name and driver and :data:`VERSION`,
and reused until one of those changes.

Calibration measures at once only what every plan needs: the C backend (the interpreter
where nothing compiles), each GPU, and NumPy's library operations. The rest is measured
the first time the planner considers it (:func:`complete`): OpenCL on a CPU (PoCL, whose
probe kernels alone take seconds to build), and CuPy's ``REDUCE``/``SORT`` (CuPy compiles
its CUB reductions with NVRTC on first use). So ``pxos calibrate`` takes about a second on
a CPU-only machine, and ``pxos run --device c`` never waits for OpenCL.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from pxos import backends, registry
from pxos.atomic_write import write_atomic
from pxos.backends.cache import cache_dir, cache_key
from pxos.planner import stored

VERSION = 6  # bump when what is measured, or how, changes
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
    gpu: bool = False                # a GPU (SIMT: warps, sectors), not a CPU
    upload: float | None = None      # host → device, pageable, bytes/s
    download: float | None = None    # device → host, pageable, bytes/s
    upload_pinned: float | None = None
    download_pinned: float | None = None


@dataclass
class LibraryFigures:
    """``REDUCE`` and ``SORT`` on one side: NumPy on the host, CuPy on ``cuda``.

    Attributes:
        call_s, sort_call_s: one ``REDUCE`` / ``SORT`` of a tiny array, seconds.
        reduce_bandwidth: bytes/s of a large sum.
        sort_rate: elements/s of a large sort, divided by ``log2(n)`` on the host (a
            comparison sort) and not on the device (a radix sort).
    """

    side: str
    call_s: float
    reduce_bandwidth: float
    sort_rate: float
    sort_call_s: float = 0.0


@dataclass
class Machine:
    """Everything calibration measured on this machine.

    Attributes:
        key: what the figures depend on (CPU, compiler, devices, drivers), hashed.
        cpu: the CPU's model; cores: logical CPUs this process may use.
        devices: :class:`DeviceFigures` by backend name.
        library: :class:`LibraryFigures` by side (``host``, ``cuda``).
        seconds: how long the calibration took.
        hybrid: for each HYBRID pair (``c+cuda``), how much faster a split over host
            data ran than the faster device alone (``probes.measure_split``); the planner
            offers a split only where this shows it pays.
        hybrid_error: for each pair timed, the model's relative error on that split's
            gain, |predicted ÷ measured − 1| (``planner/hybrid.split_margin``).
        pending: backends present but not measured yet, and :data:`CUDA_LIBRARY`
            (:func:`complete` measures them).
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

    def is_gpu(self, device: str) -> bool:
        """Whether backend ``device`` runs on a GPU (an OpenCL device may be a CPU, as with
        PoCL: calibration recorded which)."""
        fig = self.devices.get(device)
        return registry.is_gpu(device) or (fig is not None and fig.gpu)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

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
        if not isinstance(found.pending, list) or not all(
                registry.known(n) or n == CUDA_LIBRARY for n in found.pending):
            raise stored.StoredError(f"calibration.pending is {found.pending!r}, not a "
                                     "list of backend names")
        return found


class OtherVersion(ValueError):
    """A calibration file written by another version of pxos (calibrated again quietly)."""


def _positive(name: str) -> bool:
    """Whether a stored figure must be > 0: a rate, a bandwidth, a copy speed, cores."""
    return (name.endswith(("rate", "bandwidth")) and name != "vector_rate"
            or name.startswith(("upload", "download")) or name == "cores")


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``, else ``platform.processor()``)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_cores() -> int:
    """Logical CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def identity() -> dict[str, str]:
    """What the figures depend on: the CPU, and each backend present with its device."""
    out = {"cpu": f"{cpu_model()} × {cpu_cores()}", "version": str(VERSION)}
    for name in backends.available():
        b = backends.get(name)
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
            found = Machine.from_json(path.read_text())
            _loaded[key] = found
            return found
        except OtherVersion:
            pass  # calibrate again
        except (OSError, ValueError) as err:  # unreadable, not JSON, or of the wrong shape
            stored.warn(path, str(err), "calibrating again")
    if not auto:
        from pxos.errors import PxBackendError
        raise PxBackendError("this machine is not calibrated", hint="run `pxos calibrate`")
    say = progress or (lambda s: sys.stderr.write(s + "\n"))
    say("pxos: calibrating this machine once (a few seconds; `pxos calibrate` redoes it)")
    return calibrate(ident)


_loaded: dict[str, Machine] = {}


def calibrate(ident: dict[str, str] | None = None,
              progress: Callable[[str], None] | None = None) -> Machine:
    """Measure the backends every plan needs (see the module docstring), store the figures
    and return them; the others are listed in :attr:`Machine.pending`."""
    ident = ident or identity()
    key = cache_key(json.dumps(ident, sort_keys=True))
    t0 = time.perf_counter()
    present = backends.available()
    auto = backends.auto_candidates(present)  # the others run only when named: later
    # the interpreter is a candidate only where nothing compiles (planner/program)
    candidates = registry.compiling(auto)
    now = [b for b in candidates if registry.entry(b).kind != "device" or _is_gpu(b)]
    later = [b for b in candidates if b not in now] + \
        [b for b in present if b not in auto and registry.compiles(b)] + \
        ([CUDA_LIBRARY] if any(registry.entry(b).library_ops for b in candidates) else [])
    found = Machine(key, cpu_model(), cpu_cores(), {}, {}, 0.0,
                    time.strftime("%Y-%m-%dT%H:%M:%S"), VERSION, ident, pending=now + later)
    return _measure(found, now + ["library host"], t0, progress, pending=later)


def complete(machine: Machine, names: list[str] | None = None,
             progress: Callable[[str], None] | None = None) -> Machine:
    """Measure those of ``machine.pending`` among ``names`` (default: all) now, store the
    figures again and return ``machine`` (the planner calls this for its candidates)."""
    todo = [n for n in machine.pending if names is None or n in names]
    if not todo:
        return machine
    say = progress or (lambda s: sys.stderr.write(s + "\n"))
    say(f"pxos: calibrating {', '.join(todo)} once (the first time it is a candidate)")
    return _measure(machine, todo, time.perf_counter() - machine.seconds, progress,
                    pending=[n for n in machine.pending if n not in todo])


def _is_gpu(name: str) -> bool:
    from pxos.planner.probes import is_gpu_backend

    return is_gpu_backend(name, backends.get(name))


def _measure(found: Machine, todo: list[str], t0: float, progress, pending: list[str]):
    """Measure ``todo`` (backend names, ``library host``, :data:`CUDA_LIBRARY`) into
    ``found``, then the HYBRID split if a new pair appeared; store and return it."""
    from pxos.planner.probes import (compile_ahead, measure_backend, measure_library,
                                     measure_split)

    names = [n for n in todo if not n.startswith("library")]
    compile_ahead({name: backends.get(name) for name in names}, CUDA_LIBRARY in todo)
    if progress:
        progress(f"built the probes in {time.perf_counter() - t0:.1f} s")
    for name in names:
        started = time.perf_counter()
        found.devices[name] = measure_backend(name, backends.get(name))
        if progress:
            progress(f"measured {name} in {time.perf_counter() - started:.1f} s")
    for side in registry.library_sides():
        if f"library {side}" in todo:
            started = time.perf_counter()
            found.library[side] = measure_library(side)
            if progress:
                progress(f"measured REDUCE and SORT on {side} in "
                         f"{time.perf_counter() - started:.1f} s")
    found.pending = pending
    if names:
        found.hybrid, found.hybrid_error = measure_split(found)
    found.seconds = time.perf_counter() - t0
    try:
        write_atomic(calibration_path(found.key), found.to_json().encode())
    except OSError as err:  # a full or read-only cache: the figures still serve this run
        stored.warn(calibration_path(found.key), err.strerror or str(err),
                    "the figures are not kept; calibrating again next time")
    _loaded[found.key] = found
    return found
