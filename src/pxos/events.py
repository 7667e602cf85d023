"""The engine's one observer point: kernel launches, copies, ``REDUCE``/``SORT`` and compiles.

A bottom-layer module (beside ``errors``), so that every layer may report to it and none
needs to know who listens: the profiler (``pxos.lib.profile``) subscribes here; the engine
never imports it. With no listener the cost at a call site is one list test::

    mark = events.begin("launch", kernel.name, device, span, info) if events.LISTENERS else None
    backend.launch(compiled, args, launch)
    if mark is not None:
        events.end(mark)

Kinds: ``launch`` (a kernel), ``copy`` (host↔device), ``reduce``, ``sort`` (library
operations) and ``compile`` (a backend's ``compile``, also when its memo answers).
"""

from __future__ import annotations

from typing import Any, Protocol


class Listener(Protocol):
    """What a subscriber of :data:`LISTENERS` provides."""

    def begin(self, kind: str, name: str, device: str, where: Any,
              info: dict | None) -> Any:
        """Called before the operation; returns a token handed back to :meth:`end`.

        Args:
            kind: ``launch``, ``copy``, ``reduce``, ``sort`` or ``compile``.
            name: the kernel's name, or the operation's (``to_device``, ``SUM`` …).
            device: the backend or memory it runs on (``c``, ``cuda``, ``opencl``,
                ``interp``, ``host``).
            where: the ``.px`` statement's ``ir.span.Span``, or None (a Python caller:
                the listener finds its line on the stack).
            info: more, by kind (``kernel``, ``args``, ``threads``, ``backend``,
                ``bytes``, ``decision``); may be None.
        """

    def end(self, token: Any, result: Any = None) -> None:
        """Called after the operation returned (``result``: its return value, e.g. a
        compiled kernel)."""


LISTENERS: list[Listener] = []  # subscribe with subscribe(); the engine only reads it

LAUNCHES: Any = None
"""While the one listener has a ``log`` (a profile's): that log, where the launches that
skip :func:`begin`/:func:`end` go (a native launch on ``c``, ``host/native_call``, about a
microsecond: a listener's call would cost ten times that; a native prepared call on
``cuda``, ``host/native_device_call``); set by :func:`subscribe` and :func:`unsubscribe`.
With other listeners, every launch takes the general path and calls them. The launcher
records each launch in C (its clock before and after, the calling frame's code object and
instruction offset; on ``cuda`` its stream and CUDA events), and the log collects the
records after the run; before a plan's first native launch (``plan.profiled is not
LAUNCHES``) the caller calls ``LAUNCHES.note(plan, args, threads, decision)``, which sets
``plan.profiled`` (``note_device`` for a prepared call on ``cuda``). None when nobody records."""


def begin(kind: str, name: str, device: str, where: Any = None,
          info: dict | None = None) -> list:
    """Tell every listener that an operation starts; returns the mark for :func:`end`.
    Call only when :data:`LISTENERS` is not empty (the test is the caller's, so that
    nothing at all runs when nobody listens)."""
    if len(LISTENERS) == 1:  # the usual case, without a list comprehension's frame
        listener = LISTENERS[0]
        return [(listener, listener.begin(kind, name, device, where, info))]
    return [(listener, listener.begin(kind, name, device, where, info))
            for listener in LISTENERS]


def end(mark: list, result: Any = None) -> None:
    """Tell the listeners of ``mark`` (from :func:`begin`) that the operation ended."""
    for listener, token in reversed(mark):
        listener.end(token, result)


def subscribe(listener: Listener) -> None:
    """Add ``listener`` (once); a listener with a ``log`` attribute, alone, gets
    :data:`LAUNCHES`."""
    if listener not in LISTENERS:
        LISTENERS.append(listener)
    _find_log()


def unsubscribe(listener: Listener) -> None:
    """Remove ``listener`` if subscribed."""
    if listener in LISTENERS:
        LISTENERS.remove(listener)
    _find_log()


def _find_log() -> None:
    global LAUNCHES
    alone = LISTENERS[0] if len(LISTENERS) == 1 else None
    LAUNCHES = getattr(alone, "log", None)
