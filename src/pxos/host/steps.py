"""What a `.px` program run records per executed statement (``ProgramRun.steps``)."""

from __future__ import annotations

from typing import NamedTuple

from pxos.host.residency import NO_TRANSFERS, Transfers


class Step(NamedTuple):
    """One executed statement: its span, a short description (``RUN``, ``REDUCE`` …), the
    device, seconds (wall time), and the copies between host and device it caused.

    A tuple, so that a host loop of native launches (``host/run_loop``) makes each step
    in C as it makes the launch.
    """

    span: object
    what: str
    device: str
    seconds: float
    transfers: Transfers = NO_TRANSFERS
    decision: object = None  # the planner's Decision, where it placed the statement
