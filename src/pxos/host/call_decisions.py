"""Where a Python kernel's calls run under the planner (``auto``): one decision per argument
signature, sizes and scalars, asked of the planner (``planner/call``) once and looked up
after, and asked again only where the planner says so.

A first call's decision charges each device the build of the kernel's code, so a short
kernel goes where it builds fastest (``c``) even where another device (``cuda``, CuPy
arrays already there) runs it far faster: on a fresh H200 machine a 32-element call on
CuPy arrays went to ``c`` (copies both ways, 104 µs a call) instead of ``cuda`` (4.6 µs).
Such a decision is *unsettled*: after :func:`~pxos.planner.call.calls_to_amortize` calls
like it the planner decides again with no build time charged, and that decision stays.
While unsettled, a call goes the Python way (the native launchers take settled decisions
only: ``host/pykernel``), so every call is counted.
"""

from __future__ import annotations

from typing import Callable, Sequence

from pxos.arraylike import is_array


class CallDecisions:
    """A Kernel's decisions under ``auto`` (see the module docstring).

    ``decide(args, threads, signature, place)``: the decision for a call, where
    ``place(amortized)`` asks the planner (``planner/call.place_arguments``).
    """

    def __init__(self):
        self.memo: dict[tuple, object] = {}  # (signature, sizes and scalars, threads) -> …
        self.left: dict[tuple, int] = {}  # unsettled: calls before the planner is asked again

    def decide(self, args: Sequence, threads, signature: tuple,
               place: Callable[[bool], object]) -> tuple[object, bool]:
        """(the planner's decision for a call with ``args``, whether it is settled)."""
        from pxos.planner.call import MEMO_LIMIT, calls_to_amortize

        key = (signature, tuple(a.shape if is_array(a) else a for a in args),
               None if threads is None else tuple(threads))
        found = self.memo.get(key)
        if found is not None:
            left = self.left.get(key)
            if left is None:
                return found, True
            if left > 1:
                self.left[key] = left - 1
                return found, False
            del self.left[key]
            found = self.memo[key] = place(True)  # built where it runs: the steady choice
            return found, True
        if len(self.memo) >= MEMO_LIMIT:
            self.memo.clear()
            self.left.clear()
        found = self.memo[key] = place(False)
        calls = calls_to_amortize(found)
        if calls is not None:
            self.left[key] = calls
        return found, calls is None

    def settled(self, decision) -> bool:
        """Whether ``decision`` (one of :meth:`decide`'s) is settled."""
        return not any(self.memo.get(key) is decision for key in self.left)
