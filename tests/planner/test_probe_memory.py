"""Calibration's probe memory (issue 14, "Calibration"): host arrays cut from buffers the
probes share, so each page is faulted in once."""

from __future__ import annotations

import numpy as np
import pytest

from pxos.planner.probe_memory import FIRST, OUTPUT, ProbeMemory


def test_arrays_are_filled_prefixes_of_one_buffer_per_slot():
    memory = ProbeMemory(1 << 12)
    small = memory.full(FIRST, 100, 1)
    np.testing.assert_array_equal(small, np.ones(100, np.float32))
    large = memory.full(FIRST, 1 << 12, 0.5)
    assert large.dtype == np.float32 and large.flags.c_contiguous
    np.testing.assert_array_equal(large, np.full(1 << 12, 0.5, np.float32))
    assert np.shares_memory(small, large)  # the same pages, written again
    other = memory.full(OUTPUT, 100, 2)
    assert not np.shares_memory(other, large)
    np.testing.assert_array_equal(large[:100], np.full(100, 0.5, np.float32))
    x, y = memory.full(FIRST, 100, 1), memory.full(FIRST, 100, 3, at=100)  # side by side
    assert not np.shares_memory(x, y) and np.shares_memory(y, large)
    np.testing.assert_array_equal(x + y, np.full(100, 4, np.float32))


def test_more_than_the_capacity_is_refused():
    with pytest.raises(ValueError, match="4097 floats"):
        ProbeMemory(1 << 12).full(FIRST, (1 << 12) + 1, 0)
    with pytest.raises(ValueError, match="4097 floats"):
        ProbeMemory(1 << 12).full(FIRST, 1 << 11, 0, at=(1 << 11) + 1)
