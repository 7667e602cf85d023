"""The launch record paced by the profile's sampler (``native_record.h``, issue 20): a
launcher reads the clock for its first 2 launches of a recording session, for a launch
more than a sampler period after its last or after a long one, and for one launch in 32 at
random; the others are recorded with their line, and placed evenly between the known
moments around them. Here the test bumps the epoch itself, as the sampler does."""

from __future__ import annotations

import ctypes
import time

import numpy as np
import pytest

from pxos.host import native_call
from tests.host.test_native_record import _launcher, scale
from tests.conftest import BACKENDS

pytestmark = pytest.mark.skipif("c" not in BACKENDS, reason="no C compiler here")


@pytest.fixture()
def paced():
    """The helper module, paced, recording; (module, epoch) where epoch bumps its epoch."""
    module = native_call.helper()
    if module is None:
        pytest.skip("the native call helper cannot be built here")
    counter = ctypes.c_long.from_address(module.epoch_address())

    def bump():
        counter.value += 1

    module.recorded_launches()
    native_call.record_launches(True)
    module.pace(True)
    try:
        yield module, bump
    finally:
        module.pace(False)
        native_call.record_launches(False)
        module.recorded_launches()


def test_a_tight_loop_reads_the_clock_for_some_launches_and_places_the_others(paced):
    module, _ = paced
    x = np.ones(64, np.float32)
    out = np.empty_like(x)
    launcher = _launcher(x, out)
    native_call.record_launches(False)  # a new session: its first 2 launches are timed
    native_call.record_launches(True)
    module.recorded_launches()
    before = time.perf_counter()
    for _ in range(3200):
        scale(np.float32(2.0), x, out, device="c")
    records = module.recorded_launches()
    handed = time.perf_counter()  # after the loop: the last ones are placed before it
    assert len(records) == 3200 and all(r[0] is launcher for r in records)
    timed = [r[5] for r in records]
    assert timed[:2] == [True, True]
    # one in 32 at random: 100 expected, the binomial's sd is about 10
    assert 50 <= sum(timed) <= 160, sum(timed)
    starts = [r[1] for r in records]
    assert starts == sorted(starts) and before <= starts[0] and records[-1][2] <= handed
    assert all(r[1] == r[2] for r in records if not r[5])  # placed: no length of their own
    assert all(r[1] <= r[2] for r in records if r[5])


def test_a_launch_after_a_sampler_period_or_a_long_launch_is_timed(paced):
    module, bump = paced
    x = np.ones(64, np.float32)
    out = np.empty_like(x)
    _launcher(x, out)
    module.recorded_launches()
    for _ in range(40):  # each launch two periods after the last
        bump()
        bump()
        scale(np.float32(2.0), x, out, device="c")
    assert all(r[5] for r in module.recorded_launches())
    big = np.ones(4_000_000, np.float32)  # a launch of milliseconds: the next one timed
    big_out = np.empty_like(big)
    _launcher(big, big_out)
    native_call.record_launches(False)  # a new session: its first 2 are timed, and long
    native_call.record_launches(True)
    module.recorded_launches()
    for _ in range(20):
        scale(np.float32(2.0), big, big_out, device="c")
    records = module.recorded_launches()
    assert len(records) == 20 and all(r[5] for r in records)
    np.testing.assert_allclose(big_out[:4], 2.0)
