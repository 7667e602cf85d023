"""Ctrl-C while a kernel runs: stop at once, say where, exit 130.

Python runs its SIGINT handler only between bytecodes of the main thread, so a kernel
that never returns (an endless ``WHILE``), or a wait for a device, would hold Ctrl-C
until it ends. :func:`install` (the command line calls it) has the C-level signal handler
also write the signal to a pipe (``signal.set_wakeup_fd``), which a watcher thread reads
at once. If a statement is running (:func:`running`), the watcher prints
``interrupted: RUN k at file:line`` and ends the process with exit status 130
(``os._exit``: a kernel on the CPU cannot be stopped part-way, and one on a GPU cannot be
killed from the host). Outputs are written only by ``WRITE_FILE``, atomically and never
while a kernel runs, so no output file is left half-written. Between statements Ctrl-C is
an ordinary ``KeyboardInterrupt``, which the command line turns into exit 130 as well.
"""

from __future__ import annotations

import os
import signal
import sys
import threading

from pxos.ir import nodes as ir

EXIT_CODE = 130  # 128 + SIGINT, as a shell reports it

_now: list = [None]  # the statement running now, or None
NOW = _now  # set directly by a host loop's statements (ProgramRun.execute): no call
# the statement a KeyboardInterrupt left (ProgramRun notes it): the main thread can see
# Ctrl-C before the watcher thread gets the GIL, and then the command line names it
LEFT: list = [None]
_installed: list[bool] = []


def install() -> None:
    """Start the watcher (once; from the main thread, as ``set_wakeup_fd`` requires)."""
    if _installed or threading.current_thread() is not threading.main_thread():
        return
    read, write = os.pipe()
    os.set_blocking(write, False)
    signal.set_wakeup_fd(write, warn_on_full_buffer=False)
    threading.Thread(target=_watch, args=(read,), name="pxos-interrupt", daemon=True).start()
    _installed.append(True)


def message(stmt=None) -> str:
    """``interrupted: RUN k at file:line`` for ``stmt`` (default: the one running now)."""
    if stmt is None:
        stmt = _now[0] if _now[0] is not None else LEFT[0]
    if stmt is None:
        return "interrupted"
    what = f"RUN {stmt.kernel}" if isinstance(stmt, ir.Run) else ir.keyword(stmt)
    return f"interrupted: {what} at {stmt.span.file}:{stmt.span.line}"


def current():
    """The `.px` statement running now (marked by :func:`running`), or None."""
    return _now[0]


class running:  # noqa: N801  (used as a function: ``with running(stmt):``)
    """Mark ``stmt`` (a `.px` host statement) as running, for the watcher (a class, not a
    generator: it wraps every statement of a host loop, and costs a tenth as much)."""

    __slots__ = ("stmt",)

    def __init__(self, stmt):
        self.stmt = stmt

    def __enter__(self):
        _now[0] = self.stmt

    def __exit__(self, kind, *exc):
        if kind is KeyboardInterrupt:
            LEFT[0] = _now[0]
        _now[0] = None


class waiting(running):  # noqa: N801
    """Mark ``stmt`` as running while the host waits for its device work (a copy back
    that synchronizes), unless a statement is marked already; ``None`` marks nothing."""

    __slots__ = ("outer",)

    def __enter__(self):
        self.outer = _now[0]
        if self.outer is None:
            _now[0] = self.stmt

    def __exit__(self, kind, *exc):
        if kind is KeyboardInterrupt and _now[0] is not None:
            LEFT[0] = _now[0]
        _now[0] = self.outer


def _watch(fd: int) -> None:
    while True:
        got = os.read(fd, 64)
        if signal.SIGINT in got and _now[0] is not None:
            sys.stderr.write(message() + "\n")
            sys.stderr.flush()
            os._exit(EXIT_CODE)
