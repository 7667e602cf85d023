"""Decisions of a Python kernel's calls under ``auto`` (``host/call_decisions``): one that
charged a faster device the build of its code is asked again, with no build time charged,
after as many calls as that build costs in time saved per call (ski rental)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from pxos.host.call_decisions import CallDecisions
from pxos.planner.call import calls_to_amortize
from pxos.planner.model import Estimate


def _decision(device: str, **estimates) -> SimpleNamespace:
    """A decision for ``device`` with (build seconds, seconds once built) per device."""
    return SimpleNamespace(device=device, estimates={
        d: Estimate(d, build + steady, compile_s=build) for d, (build, steady) in
        estimates.items()})


def test_calls_to_amortize_is_the_build_over_the_time_saved():
    # c: built in 0.25 s, 2^-10 s a call; cuda: 0.5 s to build, 2^-12 s a call
    first = _decision("c", c=(0.25, 2.0**-10), cuda=(0.5, 2.0**-12))
    assert calls_to_amortize(first) == 683  # ceil(0.5 / (3 * 2^-12)) = ceil(682.67)
    assert calls_to_amortize(_decision("cuda", c=(0.0, 2.0**-10), cuda=(0.5, 2.0**-12))) \
        is None  # already the fastest once built
    assert calls_to_amortize(_decision("c", c=(0.0, 1.0), cuda=(0.0, 0.5))) == 1


def test_an_unsettled_decision_is_made_again_once_the_build_pays():
    first = _decision("c", c=(0.25, 0.5), cuda=(0.5, 0.25))  # 2 calls pay cuda's build
    steady = _decision("cuda", c=(0.0, 0.5), cuda=(0.0, 0.25))
    asked = []

    def place(amortized):
        asked.append(amortized)
        return steady if amortized else first
    decisions = CallDecisions()
    args, signature = (np.float32(2), np.ones(4, np.float32)), ("signature",)
    assert decisions.decide(args, None, signature, place) == (first, False)
    assert not decisions.settled(first)
    assert decisions.decide(args, None, signature, place) == (first, False)
    assert decisions.decide(args, None, signature, place) == (steady, True)
    assert decisions.decide(args, None, signature, place) == (steady, True)
    assert asked == [False, True] and decisions.settled(steady)
    other = (np.float32(2), np.ones(5, np.float32))  # other sizes: a decision of their own
    assert decisions.decide(other, None, signature, place) == (first, False)
    assert asked == [False, True, False]
