"""pxos.profile: where the time and memory go, host and kernels (docs/profiling.md).

``with pxos.profile() as p:`` records every kernel launch, copy, ``REDUCE``/``SORT`` and
compile (``recorder``), samples the host's Python stack (``sampler``), tracks memory
(``memory``), and writes ``trace.json``, ``flame.speedscope.json``, ``profile.json`` and
``report.html`` (``session``). ``pxos.stats()`` returns the live counters (``stats``);
``compare`` finds regressions between two ``profile.json``.
"""

from __future__ import annotations

from pxos.lib.profile.session import DEFAULT_OUT, Profile


def profile(out=DEFAULT_OUT, rate: float = 1000.0, memory: bool = False,
            name: str | None = None, all_threads: bool = False) -> Profile:
    """A :class:`Profile` to use as ``with pxos.profile() as p:`` (arguments as
    :class:`Profile`'s: ``out`` folder or None, ``rate`` in samples per second, ``memory``
    to trace host allocations by line, ``all_threads`` to sample every Python thread)."""
    return Profile(out, rate, memory, name, all_threads=all_threads)


__all__ = ["DEFAULT_OUT", "Profile", "profile"]
