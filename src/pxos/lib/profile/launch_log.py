"""The launches a profile gets from the native launchers, recorded in C, not by the listener.

A native launch (``host/native_call`` on ``c``, about a microsecond; ``host/native_device_call``
on ``cuda``, a prepared call on CuPy arrays) does not call the listener: the launcher
records its two clock readings and calling frame in C (and, on ``cuda``, its stream and the
two CUDA events it recorded right around ``cuLaunchKernel``), :class:`LaunchLog`
(``events.LAUNCHES``) collects the records when the profile stops, and the events are made
after the run (:meth:`LaunchLog.events`; the recorder puts device times on the host clock).
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass

from pxos import registry
from pxos.host import native_call, native_device_call


class LaunchLog(list):
    """``events.LAUNCHES`` while a profile runs: ``(key, start, end, code, lasti, device)``
    per native launch, where key is ``(kernel name, device, threads)``, start and end
    ``perf_counter`` seconds, code and lasti the calling frame's code object (or None) and
    instruction offset, and device ``(stream, start event, end event)`` (CUDA handles) for
    a launch timed by CUDA events, ``False`` for a launch on ``c`` the helper did not time
    (placed between timed ones, its kernel's mean length: :meth:`_lengthen`), else None. The launchers record them in C between
    :meth:`start` and :meth:`stop`; :meth:`collect` moves them here. :meth:`note` (a plan of
    ``c``) or :meth:`note_device` (a prepared call on ``cuda``) is called before the
    first native launch of each. Attributes: ``keys``: per launcher, its key; ``noted``:
    (key, shapes, decision) per plan; ``made``: entries made into events; ``reference``:
    (CuPy event, ``perf_counter`` seconds) of one moment on both clocks, once a CUDA
    launch is noted."""

    active: list = []  # the logs recording now, innermost last (a profile in a profile)
    serials = itertools.count(1)  # each log's number (native_call.watch_log)

    def __init__(self):
        super().__init__()
        self.serial = next(LaunchLog.serials)
        self.keys: dict = {}
        self.noted: list = []  # (key, Shapes, decision)
        self.made = 0
        self.starts = None  # start times, once sorted (recorder.logged_launch)
        self.reference = None

    def start(self) -> None:
        """Start recording native launches (into this log, until :meth:`stop`)."""
        if LaunchLog.active:
            LaunchLog.active[-1].collect()  # the records so far are the outer log's
        LaunchLog.active.append(self)
        native_call.watch_log(self.serial)
        native_call.record_launches(True)
        native_device_call.record_launches(True)

    def stop(self) -> None:
        """Stop recording unless an outer log records, and collect the records (the last
        collection frees the helpers' buffers)."""
        if self in LaunchLog.active:
            LaunchLog.active.remove(self)
        native_call.record_launches(bool(LaunchLog.active))
        native_call.watch_log(LaunchLog.active[-1].serial if LaunchLog.active else 0)
        native_device_call.record_launches(bool(LaunchLog.active))
        self.collect()

    def collect(self) -> None:
        """Move the launches recorded in C since the last call into this log (those of a
        launcher no plan noted here are left out: nothing names them)."""
        keys, first = self.keys, len(self)
        self.extend((keys[launcher], start, end, code, lasti, None if timed else False)
                    for launcher, start, end, code, lasti, timed
                    in native_call.recorded_launches() if launcher in keys)
        self._lengthen(first)
        unnamed = []
        for launcher, start, end, code, lasti, stream, *marks in \
                native_device_call.recorded_launches():
            if launcher in keys:
                self.append((keys[launcher], start, end, code, lasti,
                             (stream, *marks) if all(marks) else None))
            else:
                unnamed += marks
        native_device_call.spare_events([m for m in unnamed if m])

    def _lengthen(self, first: int) -> None:
        """Give the launches on ``c`` the helper did not time (device ``False``: it read no
        clock, and placed them between the timed ones, ``native_record.h``), from entry
        ``first`` on (the helper's, in launch order), their kernel's mean timed length
        from their start (at most to the next launch's start), so that a host
        sample during one is folded into the kernel's frame as often as during a timed
        one (``recorder.logged_launch``)."""
        untimed = {entry[0] for entry in self[first:] if entry[5] is False}
        sums: dict = {}
        for key, start, end, _, _, device in self:
            if device is None and key in untimed:
                total = sums.setdefault(key, [0.0, 0])
                total[0] += end - start
                total[1] += 1
        for i in range(first, len(self)):
            key, start, _, code, lasti, device = self[i]
            if device is False and key in sums:
                end = start + sums[key][0] / sums[key][1]
                if i + 1 < len(self):  # not past the next launch's start: the order kept
                    end = min(end, self[i + 1][1])
                self[i] = (key, start, end, code, lasti, False)

    def note(self, plan, args, threads, decision) -> None:
        """Keep the launch shape of ``plan`` (a ``host/pykernel`` ``CallPlan`` of ``c``),
        and mark the plan as noted here (``plan.profiled``)."""
        plan.profiled = self
        key = (plan.kernel.name, plan.device, tuple(threads))
        for launcher in plan.native.values():
            if launcher is not None:
                self.keys[launcher] = key
                launcher.note(self.serial)  # the native Kernel call's test (watched)
        self.noted.append((key, Shapes(plan.kernel, [getattr(a, "shape", a) for a in args],
                                       key[2]), decision))

    def note_device(self, launcher, plan, args, threads, decision) -> None:
        """Keep the launch shape of the native prepared call ``launcher`` (of ``plan``,
        on a device timed by CUDA events), mark it as noted here (its ``note``: the
        Kernel's dispatch in C then launches it with this log's serial, recorded, with no
        Python frame), and take the log's clock reference if it has none (a device
        synchronize: once per profile)."""
        key = (plan.kernel.name, plan.device, tuple(threads))
        self.keys[launcher] = key
        launcher.note(self.serial)  # later calls of the Kernel launch it from C
        self.noted.append((key, Shapes(plan.kernel, [getattr(a, "shape", a) for a in args],
                                       key[2]), decision))
        if self.reference is None and registry.timer(plan.device) == "cuda-events":
            self.reference = cuda_reference()

    def events(self, t0: float, make, until: float = float("inf")) -> list:
        """Events of the entries not made yet (their lines found now), each made by
        ``make(kind, name, device, stream, file, line, start, end, threads, timed)``
        (seconds from ``t0``, at most ``until``: the last launches, when not timed, are
        placed up to the moment the records were handed over, after the profile's end;
        ``timed`` False for a launch on a device timed by CUDA
        events that the launcher did not time (its start and end are the host's call, or
        placed between timed ones where the sampler paced it: ``native_device_call``'s
        ``timed_launch`` says which are timed), and for one on ``c`` it read no clock for
        (placed, its kernel's mean length)), and ``(event,
        start event, end event)`` per launch timed by CUDA events (the recorder puts those
        on the host clock)."""
        lines: dict = {}
        out, timed = [], []
        by_events = {}  # device -> whether CUDA events time it
        for key, start, end, code, lasti, device in self[self.made:]:
            line = lines.get((code, lasti))
            if line is None:
                line = lines[code, lasti] = line_of(code, lasti)
            on_device = by_events.get(key[1])
            if on_device is None:
                on_device = by_events[key[1]] = registry.timer(key[1]) == "cuda-events"
            event = make("launch", key[0], key[1], device[0] if device else 0,
                         "" if code is None else code.co_filename, line,
                         min(start - t0, until), min(end - t0, until), key[2],
                         device is not False and (device is not None or not on_device))
            out.append(event)
            if device:
                timed.append((event, device[1], device[2]))
        self.made = len(self)
        return out, timed


def cuda_reference() -> tuple:
    """(CuPy event, ``perf_counter`` seconds): an event recorded on an idle device and the
    host clock when it completed, one moment on both clocks."""
    import cupy

    cupy.cuda.Device().synchronize()
    ref = cupy.cuda.Event()
    ref.record()
    ref.synchronize()
    return ref, time.perf_counter()


def line_of(code, lasti: int) -> int:
    """The source line of instruction offset ``lasti`` in ``code`` (0 if none)."""
    if code is None:
        return 0
    for start, end, line in code.co_lines():
        if start <= lasti < end:
            return line or 0
    return 0


@dataclass
class Shapes:
    """A launch's kernel, argument shapes (arrays) or values (scalars), and threads (its
    cost features are found from them after the run)."""

    kernel: object
    args: list
    threads: tuple
