"""The host sampler's C thread (lib/profile/native_sampler): the stacks it copies are the
sampled thread's own (checked against the code objects and lines of the functions running,
known here), on the perf_counter clock, with the recorder's current operation; it stops at
once whatever the period; one runs at a time."""

from __future__ import annotations

import inspect
import threading
import time
from types import SimpleNamespace

import pytest

from pxos.lib.profile import native_sampler

pytestmark = pytest.mark.skipif(native_sampler.helper() is None,
                                reason="no C compiler, Python headers, or CPython 3.11-3.12")


def _spin(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:  # the line the samples find
        pass


SPIN_LINE = _spin.__code__.co_firstlineno + 2
# where a sample of _spin can find it: the interpreter runs a pending call (or gives the GIL
# to the sampler thread) at a function's entry (RESUME, on the ``def`` line) and at the
# loop's jump back; a sample queued between the two calls is taken at the second's entry
SPIN_LINES = (_spin.__code__.co_firstlineno, SPIN_LINE, SPIN_LINE + 1)


def _line(code, lasti: int) -> int:
    return next(n for a, b, n in code.co_lines() if a <= lasti < b)


def test_samples_are_the_threads_stack_on_the_perf_counter_clock():
    module = native_sampler.helper()
    recorder = SimpleNamespace(current=None)
    memory = []
    t0 = time.perf_counter()
    native_sampler.start(module, threading.get_ident(), 0.001, recorder, memory.append, t0, 5)
    _spin(0.15)
    recorder.current = ("launch", "k", "c")
    line = inspect.currentframe().f_lineno + 1
    _spin(0.15)
    samples = native_sampler.stop(module, t0)
    end = time.perf_counter() - t0
    assert len(samples) >= 10  # 300 at 1 kHz on an idle machine; a loaded one is slower
    assert all(0 < t <= end and w == 0.0 for t, w, *_ in samples)
    assert [s[0] for s in samples] == sorted(s[0] for s in samples)
    here = test_samples_are_the_threads_stack_on_the_perf_counter_clock.__code__
    spinning = [s for s in samples if s[2] and s[2][0][0] is _spin.__code__]
    assert len(spinning) >= 0.8 * len(samples)  # the others: between the calls
    for t, _, raw, current, stmt in spinning:
        assert _line(raw[0][0], raw[0][1]) in SPIN_LINES
        assert raw[1][0] is here and stmt is None
    late = [s for s in spinning if _line(s[2][1][0], s[2][1][1]) == line]
    assert late and all(s[3] == ("launch", "k", "c") for s in late)
    early = [s for s in spinning if s not in late]
    assert early and all(s[3] is None for s in early)
    assert memory and all(0 < t <= end for t in memory)  # every 5 samples


def test_stops_at_once_and_runs_one_at_a_time():
    module = native_sampler.helper()
    t0 = time.perf_counter()
    native_sampler.start(module, threading.get_ident(), 5.0, SimpleNamespace(current=None),
                         None, t0, 50)
    with pytest.raises(RuntimeError):
        native_sampler.start(module, threading.get_ident(), 0.001, None, None, t0, 50)
    t = time.perf_counter()
    assert native_sampler.stop(module, t0) == []  # asleep for 5 s: woken, no sample
    assert time.perf_counter() - t < 1.0


def test_another_thread_is_sampled_from_the_sampler_thread():
    """Pending calls run in the main thread only: another thread's samples are taken by
    the sampler thread with the GIL (the other path through the loop)."""
    module = native_sampler.helper()
    ready, found = threading.Event(), []

    def worker():
        ready.set()
        _spin(0.3)

    thread = threading.Thread(target=worker)
    t0 = time.perf_counter()
    thread.start()
    ready.wait()
    native_sampler.start(module, thread.ident, 0.001, SimpleNamespace(current=None), None,
                         t0, 50)
    thread.join()
    found = native_sampler.stop(module, t0)
    spinning = [s for s in found if s[2] and s[2][0][0] is _spin.__code__]
    assert len(spinning) >= 5 and all(s[2][1][0] is worker.__code__ for s in spinning)


def test_main_thread_samples_itself_and_the_thread_samples_a_call_without_the_gil():
    """Running Python, the main thread answers its pending calls (the sampler thread does
    not take the GIL); asleep in ``time.sleep`` (the GIL released), the sampler thread
    samples it where it is: the line of the sleep."""
    module = native_sampler.helper()
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("pending calls run in the main thread only")
    t0 = time.perf_counter()
    native_sampler.start(module, threading.get_ident(), 0.001,
                         SimpleNamespace(current=None), None, t0, 50)
    _spin(0.1)
    spun = module.counts()[1]  # samples the main thread took itself, so far
    line = inspect.currentframe().f_lineno + 1
    time.sleep(0.1)
    samples = native_sampler.stop(module, t0)
    wakes, by_call, by_thread, thread_cpu, call_s = module.counts()
    assert spun >= 10 and by_call >= spun  # 100 at 1 kHz on an idle machine
    here = test_main_thread_samples_itself_and_the_thread_samples_a_call_without_the_gil
    asleep = [s for s in samples if s[2] and s[2][0][0] is here.__code__
              and _line(*s[2][0]) == line]
    assert by_thread >= 5 and len(asleep) >= 5
    assert len(samples) == by_call + by_thread <= wakes and 0 < call_s and 0 < thread_cpu
    assert len(module.costs()) == by_call
