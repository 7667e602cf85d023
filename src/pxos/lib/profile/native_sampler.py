"""The host sampler's thread in C (``native_sampler.c`` beside this file), where it can be
built: a sample of the main thread is taken by that thread itself between two bytecodes
(no hand-over of the GIL), and any sample holds the GIL about a microsecond.

Why: a sampler inside the process needs the GIL to read a thread's stack. The Python loop
(``sampler.Sampler._loop``) takes it from the sampled thread every period: the sampled
thread waits while the sampler holds it (``sys._current_frames()``, which makes a frame
object per frame of every thread, the walk of ``f_back`` and a dozen lines of Python: 5-10
µs), and the two hand-overs cost it a switch each, often a sleep on a futex. The C thread
wakes once a period (no Python, no GIL while it sleeps). For Python's main thread it queues
a pending call (``Py_AddPendingCall``, and sets the interpreter's eval breaker, which that
call does not set from another thread in CPython 3.11 and 3.12) and goes back to sleep:
the interpreter runs the call in the main thread at its next check between bytecodes,
with the GIL that thread holds, and the call copies the stack there, taking no lock and
waking no one. Where the call is still queued at the next wake-up (the thread is in a call
that released the GIL, a kernel on ``c`` say), and for any other thread, the C thread takes
the GIL itself, as the Python loop did, so a sample inside a kernel is still taken inside
it. Either way it copies the code objects and instruction offsets of the interpreter's
frames into C buffers (no frame objects), reads the recorder's ``current`` operation and the
`.px` statement running, and lets go. Names and lines are found after the run, as for the
Python loop's samples. ``counts()`` and ``costs()`` of the helper say what the last run's
sampling cost (``benchmarks/profile_costs.py``). CPython 3.11 and 3.12 only (the frame
layout it reads); elsewhere, with ``PXOS_NATIVE_CALL=0``, with ``all_threads``, or without a
C compiler and Python's headers, the Python loop samples.
"""

from __future__ import annotations

import atexit
import threading
from pathlib import Path

SOURCE = Path(__file__).with_name("native_sampler.c")
NAME = "pxos_native_sampler"


def helper():
    """The built and loaded helper module, or None where it cannot serve here."""
    from pxos.host.native_call import extension, switched_off

    if switched_off():
        return None
    from pxos.backends.c import compiler

    cc = compiler()
    module = None if cc is None else extension(cc, SOURCE, NAME)
    if module is None or not module.available():
        return None
    atexit.register(module.stop)  # a profile left running at exit: its thread ends first
    return module


def start(module, thread_id: int, period: float, recorder, on_memory, t0: float,
          memory_every: int) -> None:
    """Sample ``thread_id`` every ``period`` seconds until :func:`stop` (``on_memory(t)``
    every ``memory_every`` samples, ``t`` seconds from ``t0``, a ``perf_counter`` time).

    Raises:
        RuntimeError: the helper samples already (one sampler at a time), or its thread
            cannot be started.
    """
    module.start(thread_id, period, recorder, on_memory, t0, memory_every,
                 thread_id == threading.main_thread().ident)


def launch_helpers() -> list:
    """The native launch helpers a sampler paces (:func:`pace`), built or loaded now (not in
    a profile's time): ``host/native_call``'s, and ``host/native_device_call``'s where it is
    loaded or CuPy is (a program on ``cuda``); those that cannot be built are left out."""
    import sys

    from pxos.host import native_call, native_device_call

    found = [native_call.helper()]
    if "cupy" in sys.modules or native_device_call.loaded(native_device_call.NAME):
        found.append(native_device_call.helper())
    return [m for m in found if m is not None]


def pace(module, launches: list, on: bool) -> None:
    """While sampling (``on``): bump each launch helper's epoch once per sample, and let
    its launchers read the clock for some launches only (``native_record.h``: on ``c`` their
    first launches, launches a period apart or after a long one, and one in 32 at random;
    on ``cuda`` the CUDA-event-timed ones, their first 8 and one per 2 periods): on the
    H200 host two clock readings were most of a profiled launch's cost on ``c``. Off:
    every launch reads it again."""
    if on:
        module.pace(tuple(m.epoch_address() for m in launches))
    for m in launches:
        m.pace(on)
    if not on:
        module.pace(())


def stop(module, t0: float) -> list:
    """Stop sampling; the samples as ``(time_s, 0.0, raw, current, stmt)``: seconds from
    ``t0``, the stack as ``(code, instruction offset)`` innermost first, the recorder's
    ``current`` and the `.px` statement running (None if none), as the Python loop
    records them."""
    module.stop()
    return [(t - t0, 0.0, raw, current, stmt) for t, raw, current, stmt in module.taken()]
