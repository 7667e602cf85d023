"""Kernel events: every launch, copy, ``REDUCE``/``SORT`` and compile, timed on one clock.

:class:`Recorder` is a listener of ``pxos.events``. Times are seconds on the host's
``time.perf_counter`` clock, from the start of the profile. How each device is timed, by
the backend's ``timer`` in ``pxos.registry``:

- ``cuda-events`` (``cuda``): a pair of CUDA events recorded on the stream around the
  operation, resolved after the run: by the native launcher right around
  ``cuLaunchKernel`` (a prepared call on CuPy arrays, below), else by the listener as the
  last thing before the operation (CuPy events; the host work of the Python launch path
  that follows counts when the GPU idles). Their times are put on the host clock through
  one reference event recorded right after a device synchronize (host time of that
  moment).
- ``queue`` (``opencl``, ``webgpu``): the clock around the launch and a synchronize of the
  queue (the backend's launch only queues).
- ``clock`` (``c``, ``interp``, ``host``): the clock around the call (they run
  synchronously).

Each event keeps its source line: the ``.px`` statement's span, or the first stack frame
outside the pxos package (the Python line that called the kernel).

A native launch (``c``: ``host/native_call``; ``cuda``: ``host/native_device_call``)
does not call the listener: the launcher records its clock readings, calling frame and,
on ``cuda``, the CUDA events it recorded right around ``cuLaunchKernel``, in C;
``launch_log.LaunchLog`` (``events.LAUNCHES``) collects the records when the profile
stops, and every event is made after the run (:meth:`Recorder.resolve`), so that a
profiled launch costs tens of nanoseconds more on ``c``, not the half microsecond of the
same record made in Python, nor the tens of microseconds of the general path; and a CUDA
kernel's time holds no host work (an event recorded before the launch's host work would
count it while the GPU idles).
"""

from __future__ import annotations

import bisect
import os
import sys
import time
from dataclasses import dataclass, field

import pxos
from pxos import registry
from pxos.host import native_device_call
from pxos.lib.profile.launch_log import LaunchLog, Shapes, cuda_reference

PXOS_DIR = os.path.dirname(pxos.__file__) + os.sep
perf_counter = time.perf_counter
TIMED_ON_DEVICE = ("launch", "reduce", "sort", "copy")


@dataclass
class Event:
    """One operation.

    Attributes:
        kind: ``launch``, ``copy``, ``reduce``, ``sort`` or ``compile``.
        name: kernel or operation; device: where it ran; stream: CUDA stream (0 if none).
        file, line: the source line that caused it ('' and 0 if unknown).
        start, end: seconds from the profile's start, on the host clock.
        nbytes: bytes a copy or library operation moved (0 for others).
        tier: for a compile, ``memory``, ``disk`` or ``build`` (where the binary came from).
        threads: a launch's thread counts (its key in :attr:`Recorder.works`).
        timed: False for a launch on ``cuda`` that the native launcher did not time with
            CUDA events (start and end are then the host's call, which only queued it;
            ``counters.kernel_stats`` gives it the timed launches' mean).
    """

    kind: str
    name: str
    device: str
    stream: int
    file: str
    line: int
    start: float
    end: float
    nbytes: int = 0
    tier: str = ""
    threads: tuple = ()
    timed: bool = True

    @property
    def seconds(self) -> float:
        return self.end - self.start


@dataclass
class Recorder:
    """Collects :class:`Event` objects while subscribed to ``pxos.events``.

    Attributes:
        t0: the profile's start (``perf_counter``).
        events: finished events, in the order they ended (made, and device times
            resolved, by :meth:`resolve`).
        works: per (kernel name, device, threads): the launch's ``Work`` (cost features),
            from the shapes seen at its first launch (found by :meth:`resolve`).
        decisions: the planner's decisions seen on launches, by kernel name.
        current: (kind, name, device) of the operation running now, for the host sampler.
    """

    t0: float = field(default_factory=time.perf_counter)
    events: list = field(default_factory=list)
    works: dict = field(default_factory=dict)
    decisions: dict = field(default_factory=dict)
    current: tuple | None = None
    _raw: list = field(default_factory=list)
    log: list = field(default_factory=lambda: LaunchLog())
    _pending: list = field(default_factory=list)
    _seen: set = field(default_factory=set)
    _timed: list = field(default_factory=list)  # logged CUDA launches, device times to read

    def begin(self, kind, name, device, where, info):
        # the hot path (once per launch): plain lists; Event objects are made by resolve()
        if kind == "launch":
            key = (name, device, tuple(info["threads"]))
            if key not in self.works:
                self._note_launch(key, info)
        self.current = (kind, name, device)
        where = where if where is not None else _caller()
        cuda = (self._cuda_start() if kind in TIMED_ON_DEVICE
                and registry.timer(device) == "cuda-events" else None)  # last: nearest
        return [kind, name, device, where, info, cuda, perf_counter()]

    def end(self, token: list, result=None) -> None:
        if token[0] == "launch" and registry.timer(token[2]) == "queue":
            token[4]["backend"].synchronize()
        t1 = perf_counter()
        cuda = token[5]
        if cuda is not None:
            stop = cuda[0].__class__()
            stop.record()
            cuda = (cuda[0], stop, cuda[1])
        self._raw.append((token, t1, cuda, self._tier(result) if token[0] == "compile"
                          else ""))
        self.current = None

    @property
    def edges(self) -> list:
        """Host-clock seconds when each operation's call began and returned, in order (the
        sampler splits its intervals there: ``sampler.centred``)."""
        t0 = self.t0
        return sorted([t - t0 for token, t1, _, _ in self._raw for t in (token[6], t1)]
                      + [t - t0 for entry in self.log for t in entry[1:3]])

    def logged_launch(self, t: float):
        """(name, device) of the logged native launch running at ``t`` seconds from the
        start, or None (for the sampler, after the run)."""
        log = self.log
        if not log:
            return None
        if log.starts is None:
            log.sort(key=_start)
            log.starts = [entry[1] - self.t0 for entry in log]
        i = bisect.bisect_right(log.starts, t) - 1
        if i >= 0 and log[i][2] - self.t0 >= t:
            return log[i][0][:2]
        return None

    def _events(self, until: float) -> None:
        """Make :class:`Event` objects of the operations recorded since the last call
        (native launches' times at most ``until`` seconds from the start)."""
        t0 = self.t0
        made = len(self.events) - self.log.made
        for token, t1, cuda, tier in self._raw[made:]:
            kind, name, device, where, info, _, start = token
            file, line = ((where.file, where.line) if hasattr(where, "file")
                          else (where[0].co_filename, where[1]) if where else ("", 0))
            info = info or {}
            event = Event(kind, name, device, cuda[2] if cuda else 0, file, line,
                          start - t0, t1 - t0, int(info.get("bytes", 0)), tier,
                          tuple(info.get("threads", ())))
            self.events.append(event)
            if cuda is not None:
                self._pending.append((event, cuda[0], cuda[1]))
        logged, timed = self.log.events(t0, _logged_event, until)
        self._timed += timed
        if logged:
            self.events = sorted(self.events + logged, key=_end)

    def wait_for_devices(self) -> None:
        """Wait until the CUDA launches recorded so far have ended (nothing to wait for
        when none was recorded)."""
        if self.log.reference is not None:
            import cupy

            cupy.cuda.Device().synchronize()

    def resolve(self, until: float = float("inf")) -> None:
        """Find the launches' cost features, and put CUDA events' device times on the host
        clock (waits for the device); ``until``: the profile's end, seconds from its start
        (no event ends later)."""
        self._events(until)
        for key, shapes, decision in self.log.noted:
            self.works.setdefault(key, shapes)
            if decision is not None:
                self.decisions.setdefault(key[0], decision)
        for key, shapes in self.works.items():
            if isinstance(shapes, Shapes):
                self.works[key] = _work_of(shapes)
        if self.log.reference is not None and (self._pending or self._timed):
            self._device_times()  # (a reference is taken before any CUDA event)

    def _device_times(self) -> None:
        """Put the device times of CUDA-timed events on the host clock (waits for the
        device): the start event's time after the log's reference, plus the reference's
        host time; the logged launches' events go back to the launcher's pool."""
        import cupy
        from cupy.cuda import runtime

        cupy.cuda.Device().synchronize()
        ref_event, ref_host = self.log.reference
        ref, base = ref_event.ptr, ref_host - self.t0
        for event, start, stop in self._pending:
            event.start = base + cupy.cuda.get_elapsed_time(ref_event, start) / 1e3
            event.end = event.start + cupy.cuda.get_elapsed_time(start, stop) / 1e3
        self._pending.clear()
        elapsed = runtime.eventElapsedTime
        for event, start, stop in self._timed:
            event.start = base + elapsed(ref, start) / 1e3
            event.end = event.start + elapsed(start, stop) / 1e3
        native_device_call.spare_events([h for _, a, b in self._timed for h in (a, b)])
        self._timed.clear()

    # -- details
    def _cuda_start(self):
        import cupy

        if self.log.reference is None:  # one host-clock anchor for every device time
            self.log.reference = cuda_reference()
        start = cupy.cuda.Event()
        start.record()
        return start, cupy.cuda.get_current_stream().ptr

    def _note_launch(self, key: tuple, info: dict) -> None:
        """Keep a new launch shape (its cost features are found after the run) and the
        planner's decision for the kernel."""
        self.works[key] = Shapes(info["kernel"], [getattr(a, "shape", a)
                                                   for a in info["args"]], tuple(key[2]))
        decision = info.get("decision")
        if decision is not None and key[0] not in self.decisions:
            self.decisions[key[0]] = decision

    def _tier(self, compiled) -> str:
        if compiled is None:
            return ""
        if id(compiled) in self._seen:
            return "memory"
        self._seen.add(id(compiled))
        hit = getattr(compiled, "cache_hit", getattr(compiled, "hit", None))
        return "disk" if hit else "build" if hit is not None else "memory"


def _logged_event(kind, name, device, stream, file, line, start, end, threads,
                  timed) -> Event:
    return Event(kind, name, device, stream, file, line, start, end, 0, "", threads, timed)


def _start(entry) -> float:
    return entry[1]


def _end(event) -> float:
    return event.end


def _caller():
    """(code, line) of the innermost frame outside the pxos package, or None."""
    frame = sys._getframe(3)
    while frame is not None and frame.f_code.co_filename.startswith(PXOS_DIR):
        frame = frame.f_back
    return None if frame is None else (frame.f_code, frame.f_lineno)


def _work_of(launch: Shapes):
    """The launch's cost features (``ir/analysis/features.launch_work``)."""
    from pxos.ir.analysis.features import launch_work
    from pxos.ir.types import Array
    from pxos.planner.dryrun import stand_in

    env = {p.name: stand_in(a, p.type.elem.dtype) if isinstance(p.type, Array) else a
           for p, a in zip(launch.kernel.params, launch.args)}
    return launch_work(launch.kernel, env, launch.threads)
