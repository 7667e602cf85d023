"""The native launcher's launch record (host/native_call.record_launches), what a profile
reads for launches that skip the listener: each launch that ran, once, on Python's
``perf_counter`` clock, with the line of the frame that called the launcher's caller."""

from __future__ import annotations

import inspect
import time

import numpy as np
import pytest

import pxos
from pxos.host import native_call
from pxos.host.native_call import AFTER_CALLS
from tests.conftest import BACKENDS

pytestmark = pytest.mark.skipif("c" not in BACKENDS, reason="no C compiler here")


@pxos.kernel
def scale(a: pxos.f32, x: pxos.Array[pxos.f32, 1], out: pxos.Array[pxos.f32, 1]):
    for i in pxos.parallel(len(x)):
        out[i] = a * x[i]


def _launcher(x, out):
    for _ in range(AFTER_CALLS + 1):
        scale(np.float32(1.0), x, out, device="c")
    if not scale._native:
        pytest.skip("the native call helper cannot be built here (no Python.h?)")
    return scale._native["c"][0]


def _line_of(code, lasti: int) -> int:
    """The line of byte offset ``lasti`` in ``code``, from the code's own line table."""
    return next(line for start, end, line in code.co_lines() if start <= lasti < end)


def test_records_each_launch_on_the_perf_counter_clock_with_its_line():
    x = np.arange(10_000, dtype=np.float32)  # over 4096 threads: launched without the GIL
    out = np.empty_like(x)
    launcher = _launcher(x, out)
    native_call.recorded_launches()  # empty
    native_call.record_launches(True)
    try:
        spans = []
        for a in (2.0, 3.0, 4.0):
            before = time.perf_counter()
            line = inspect.currentframe().f_lineno + 1
            scale(np.float32(a), x, out, device="c")
            spans.append((before, time.perf_counter(), line))
    finally:
        native_call.record_launches(False)
    records = native_call.recorded_launches()
    np.testing.assert_allclose(out, 4.0 * x)
    assert len(records) == 3
    for (who, start, end, code, lasti, timed), (before, after, line) in zip(records, spans):
        assert who is launcher and timed is True  # not paced: every launch read the clock
        assert before <= start <= end <= after  # one clock with perf_counter
        assert code is test_records_each_launch_on_the_perf_counter_clock_with_its_line \
            .__code__
        assert _line_of(code, lasti) == line
    assert native_call.recorded_launches() == []  # handed over once


def test_nothing_is_recorded_when_off_or_not_taken():
    x = np.ones(64, np.float32)
    out = np.empty_like(x)
    _launcher(x, out)
    native_call.recorded_launches()
    scale(np.float32(1.0), x, out, device="c")  # off
    y = np.arange(64, dtype=np.float32)
    native_call.record_launches(True)
    try:
        scale(np.float32(2.0), y, y, device="c")  # in place: the Python path takes it
    finally:
        native_call.record_launches(False)
    assert native_call.recorded_launches() == []
    np.testing.assert_allclose(y, 2.0 * np.arange(64))
