"""How calibration grows a probe until it is long enough to time (planner/probes)."""

from __future__ import annotations

import pytest

from pxos.planner import probes


@pytest.mark.parametrize("per_element, sizes", [
    (2e-9, [1 << 18, 1 << 21, 1 << 22]),       # long enough at 2^21: on to 16x, not 2^23
    (1e-11, [1 << 18, 1 << 24, 1 << 26]),      # short: aims at twice the target time,
                                               # up to the limit
    (1e-7, [1 << 18, 1 << 22]),                # long at once: 16x the first size
])
def test_a_probe_grows_to_the_target_time_and_sixteen_times_its_start(monkeypatch,
                                                                     per_element, sizes):
    seen = []

    def prepare(self, name, args, threads):
        seen.append(threads[0])
        return (lambda: None), threads[0]
    monkeypatch.setattr(probes._Runner, "prepare", prepare)
    monkeypatch.setattr(probes, "best_time",
                        lambda run, repeats=3, warm=True: seen[-1] * per_element)
    runner = probes._Runner.__new__(probes._Runner)
    seconds, work = runner.grow(lambda n: ("probe", [], (n,)), 1 << 18, 1 << 26)
    assert seen == sizes and work == sizes[-1]
    assert seconds == pytest.approx(sizes[-1] * per_element)
