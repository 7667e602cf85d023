"""Host samples: the Python stack of one thread, at a set rate, from a thread of our own.

Why our own sampler rather than pyinstrument's: pyinstrument's in-process sampler is driven
by ``sys.setprofile`` (a callback on every Python call and return, timed against the
interval), so its cost grows with the number of calls, which is what a program of many
short kernel launches makes. A thread that wakes at the rate and reads
``sys._current_frames()`` costs the same whatever the program does; py-spy reads the same
stacks from outside the process but needs ptrace rights and a subprocess. The sampler
needs the GIL to read the stack, so a sample may come late (up to the interpreter's switch
interval, 5 ms, while the program runs Python code) and samples are not evenly spaced.
Each sample is weighted by measured time, not counted: it stands for the time nearer to it
than to its neighbours (:func:`centred`), which corrects that bias both ways (a late sample
neither stands for one period only, nor takes all of its wait from the line before it).

pxos's own frames are folded into one frame: ``kernel k on d`` while a launch runs (from
the :class:`~pxos.lib.profile.recorder.Recorder`), the ``.px`` statement running
(``file:line KEYWORD``) for a ``.px`` program, otherwise ``pxos`` and the function.
"""

from __future__ import annotations

import bisect
import sys
import sysconfig
import threading
from time import perf_counter, sleep

from pxos.lib.profile import native_sampler
from pxos.lib.profile.recorder import PXOS_DIR

_LIBRARY_DIRS = tuple({sysconfig.get_paths()[k] for k in ("stdlib", "purelib", "platlib")}
                      | {"<frozen "})  # runpy, importlib
EVENT_FRAMES = {"launch": "kernel", "compile": "compile", "copy": "copy", "reduce": "",
                "sort": ""}  # the folded frame of an operation: "kernel k on d" …
DEFAULT_RATE = 1000.0  # samples per second
LONGEST_SLEEP = 0.02  # s: a longer period waits on an event that stop() sets
MEMORY_EVERY = 50  # read the memory gauges every this many samples (50 ms at 1 kHz)
PACED_UP_TO = 0.002  # s: a period up to this paces the launch records (native_sampler.pace)


class Sampler:
    """Samples ``thread_id``'s stack every ``1/rate`` s until :meth:`stop`; with
    ``all_threads``, every Python thread's but the sampler's (one ``sys._current_frames``
    call reads them all), each other thread's stacks under a ``thread NAME`` frame, each
    thread's samples weighted on their own (so the weights of all threads add up to more
    than the wall time where several threads ran).

    Attributes:
        samples: after :meth:`stop`, ``(time_s, weight_s, stack)``: time from ``t0``, the
            interval it stands for, and the stack outermost first as ``(file, line,
            function)`` tuples (while sampling: the raw stacks, made into these by stop).
    """

    def __init__(self, recorder, rate: float = DEFAULT_RATE, thread_id: int | None = None,
                 on_memory=None, all_threads: bool = False):
        if not rate > 0:
            raise ValueError(f"the sampling rate must be > 0 per second, got {rate}")
        self.recorder = recorder
        self.period = 1.0 / rate
        self.thread_id = thread_id or threading.main_thread().ident
        self.on_memory = on_memory
        self.samples: list = []
        self.others: dict | None = {} if all_threads else None  # thread id -> samples
        self._names: dict = {}  # thread id -> name
        self.event_frames: set = set()  # the folded frames that stand for an operation
        self._kinds: dict = {}  # code object -> USER, PXOS or LIBRARY
        self._named: dict = {}  # (code object, offset) -> (file, line, function)
        self._running = True
        # the C sampler thread (built now, the first time: not in the profile's time)
        self._native = None if all_threads else native_sampler.helper()
        self._launches = ([] if self._native is None or self.period > PACED_UP_TO
                          else native_sampler.launch_helpers())
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="pxos-profile-sampler",
                                        daemon=True)

    def start(self) -> None:
        """Start sampling. Where a sampler thread takes the GIL to sample (the Python loop,
        or the C thread sampling a thread other than the main thread), the interpreter's
        switch interval (how long a thread may keep the GIL while another waits) is
        lowered to the period meanwhile, so that a program running Python code is sampled
        at the rate too, not once per 5 ms; the main thread sampled by the C thread
        samples itself (its pending call), and other threads of the program keep the
        usual interval. The C sampler also paces the native launch records where the
        period is at most :data:`PACED_UP_TO` (``native_sampler.pace``): most short
        launches then read no clock."""
        self._switch = sys.getswitchinterval()
        if self._native is not None:
            try:
                native_sampler.start(self._native, self.thread_id, self.period,
                                     self.recorder, self.on_memory, self.recorder.t0,
                                     MEMORY_EVERY)
                native_sampler.pace(self._native, self._launches, True)
                if self.thread_id != threading.main_thread().ident:
                    sys.setswitchinterval(min(self._switch, self.period))
                return
            except RuntimeError:  # sampling already (a profile in a profile)
                self._native = None
        sys.setswitchinterval(min(self._switch, self.period))
        self._thread.start()

    def stop(self) -> None:
        """Stop sampling, make each sample's stack (:meth:`_stack`) and give each sample
        its weight: the time nearer to it than to its neighbours (from the midpoint with
        the previous sample to the midpoint with the next; the first from the start, the
        last to now)."""
        end = perf_counter() - self.recorder.t0  # before the join, which a busy machine
        self._running = False                      # may make last long
        self._wake.set()
        if self._native is not None:
            native_sampler.pace(self._native, self._launches, False)
            self.samples = native_sampler.stop(self._native, self.recorder.t0)
        else:
            self._thread.join()
        sys.setswitchinterval(self._switch)
        edges, stack = self.recorder.edges, self._stack
        samples = [(t, w, self._launch_folded(t, stack(raw, current, stmt)))
                   for t, w, raw, current, stmt in self.samples if t <= end]
        self.samples = centred(samples, end, edges, self.event_frames)
        for tid, found in (self.others or {}).items():
            head = ("", 0, f"thread {self._names[tid]}")
            self.samples += centred([(t, w, (head, *stack(raw))) for t, w, raw in found
                                     if t <= end], end)
        if self.others:
            self.samples.sort(key=_time)

    def _loop(self) -> None:
        """Sleep a period, take the GIL once, read the stack as it is (code objects and
        instruction offsets, :func:`_raw`: 1-5 µs, where naming and folding the frames
        took 10-50 µs, all of it time the sampled thread waits for the GIL; :meth:`stop`
        does that once per sample after the run). ``time.sleep`` releases the GIL in C; a
        ``threading.Event`` wait would run a dozen Python lines and allocate a lock per
        sample, and every extra release of the GIL costs the sampled thread a switch."""
        t0 = self.recorder.t0
        last = perf_counter()
        count = 0
        period, frames, samples = self.period, sys._current_frames, self.samples
        thread_id, others, recorder = self.thread_id, self.others, self.recorder
        own = threading.get_ident()
        nap = sleep if period <= LONGEST_SLEEP else self._wake.wait  # stop() ends a wait
        interrupt = None  # host/interrupt, once a .px program imported it
        while self._running:
            nap(period)
            if others is None:
                frame = frames().get(thread_id)
                now = perf_counter()
                if frame is not None:
                    if interrupt is None:
                        interrupt = sys.modules.get("pxos.host.interrupt")
                    samples.append((now - t0, now - last, _raw(frame), recorder.current,
                                    interrupt and interrupt.current()))
            else:
                now = perf_counter()
                for tid, frame in frames().items():
                    if tid == thread_id:
                        samples.append((now - t0, now - last, _raw(frame),
                                        recorder.current, None))
                    elif tid != own:
                        if tid not in others:  # named now: it may end before stop()
                            others[tid] = []
                            self._names[tid] = _thread_name(tid)
                        others[tid].append((now - t0, 0.0, _raw(frame)))
            last = now
            count += 1
            if count % MEMORY_EVERY == 0 and self.on_memory is not None:
                self.on_memory(now - t0)

    def _launch_folded(self, t: float, stack: tuple) -> tuple:
        """``stack`` of a sample at ``t`` during a logged native launch
        (``launch_log.LaunchLog``) with that kernel's frame innermost: in place of a
        folded pxos frame, else under the user's frame that made the launch (a launch
        from C: no pxos frame is running, or the C sampler's sample was asked for during
        the launch and taken just after it)."""
        if not stack or stack[-1] in self.event_frames:
            return stack
        found = self.recorder.logged_launch(t)
        if found is None:
            return stack
        frame = ("", 0, event_frame("launch", *found))
        self.event_frames.add(frame)
        pxos = not stack[-1][0] and stack[-1][2].startswith("pxos ")
        return (stack[:-1] if pxos else stack) + (frame,)

    def _stack(self, raw: tuple, current: tuple | None = None, stmt=None) -> tuple:
        """The stack of a sample (``raw``: :func:`_raw`'s, innermost first), outermost
        first as (file, line, function): the user's frames, then pxos's frames under them
        folded into one (:meth:`_folded`; ``current``, ``stmt``: the operation and ``.px``
        statement running when it was taken). Frames of pxos and of installed libraries
        outside any user frame (the command line running a script, ``runpy``) are left
        out; a stack with no user frame (a ``.px`` program) is its folded pxos frame
        alone."""
        kinds, named = self._kinds, self._named
        stack, user, last = [], False, None
        for code, lasti in reversed(raw):
            kind = kinds.get(code)
            if kind is None:
                kind = kinds[code] = _kind(code.co_filename)
            if kind == PXOS:
                last = code
                if user:
                    stack.append(self._folded(code, current, stmt))
                    break
            elif user or kind == USER:
                user = True
                frame = named.get((code, lasti))
                if frame is None:
                    frame = named[code, lasti] = (code.co_filename, _line(code, lasti),
                                                  code.co_name)
                stack.append(frame)
        else:
            if not user and last is not None:
                stack.append(self._folded(last, current, stmt))
        return tuple(stack)

    def _folded(self, code, current: tuple | None, stmt) -> tuple:
        """The one frame standing for pxos's frames: the operation or ``.px`` statement
        running (known for the profiled thread only), else ``pxos`` and the function."""
        if current is not None:
            file, line = (stmt.span.file, stmt.span.line) if stmt is not None else ("", 0)
            frame = (file, line, event_frame(*current))
            self.event_frames.add(frame)
            return frame
        if stmt is not None:
            return (stmt.span.file, stmt.span.line, _keyword(stmt))
        what = "import" if code.co_name == "<module>" else code.co_name
        return ("", 0, f"pxos {what}")


USER, PXOS, LIBRARY = 0, 1, 2


def _time(sample: tuple) -> float:
    return sample[0]


def _thread_name(ident: int) -> str:
    return next((t.name for t in threading.enumerate() if t.ident == ident), str(ident))


def _kind(filename: str) -> int:
    return (PXOS if filename.startswith(PXOS_DIR) else
            LIBRARY if filename.startswith(_LIBRARY_DIRS) else USER)


def _raw(frame) -> tuple:
    """A thread's stack as it is now, innermost first: (code object, instruction offset)
    per frame (the cheapest read of a stack from Python: no line numbers, no names)."""
    out = []
    while frame is not None:
        out.append((frame.f_code, frame.f_lasti))
        frame = frame.f_back
    return tuple(out)


def _line(code, lasti: int) -> int:
    """The source line of instruction offset ``lasti`` in ``code`` (0 if none)."""
    for start, end, line in code.co_lines():
        if start <= lasti < end:
            return line or 0
    return 0


def centred(samples: list, end: float, edges: list = (), events: set = frozenset()) -> list:
    """``samples`` (time, interval, stack) reweighted to the time each stands for, so that
    the weights tile the run from 0 to ``end``: the time between two samples is split at
    its middle, or, where one sample is in an operation (a launch, compile, copy …) and
    the other is not, at the operation's start or end (``edges``: sorted host-clock times
    where operations began and returned), which the recorder measured. A late sample (it
    waited for the GIL while a pure-Python line ran, or for a core while a kernel's
    threads spun down) thus neither stands for one period only nor takes its neighbour's
    time. ``events``: the folded frames (``file, line, name``) that stand for an
    operation."""
    def in_event(stack):
        return bool(stack) and stack[-1] in events

    cuts = []
    for (t, _, s), (u, _, r) in zip(samples, samples[1:]):
        cut = (t + u) / 2
        if in_event(s) != in_event(r):
            i = bisect.bisect_right(edges, t)
            if i < len(edges) and edges[i] < u:
                cut = edges[i] if in_event(s) else edges[bisect.bisect_left(edges, u) - 1]
        cuts.append(cut)
    bounds = [0.0] + cuts + [end]
    return [(t, bounds[i + 1] - bounds[i], stack) for i, (t, _, stack) in enumerate(samples)]


def event_frame(kind: str, name: str, device: str) -> str:
    """The folded frame's name of an operation: ``kernel k on c``, ``compile k on c``,
    ``copy to_device on cuda``, ``REDUCE SUM on host``."""
    return f"{EVENT_FRAMES[kind]} {name} on {device}".lstrip()


def _keyword(stmt) -> str:
    from pxos.ir import nodes as ir

    kernel = getattr(stmt, "kernel", None)
    return f"RUN {kernel}" if kernel else ir.keyword(stmt)
