"""``with pxos.profile() as p:``: one profile of the code in the block.

On entry: subscribe a :class:`~pxos.lib.profile.recorder.Recorder` to ``pxos.events``,
start the memory gauges and the host sampler. On exit: stop them, put device times on the
host clock, and write the outputs folder (unless ``out=None``):

- ``trace.json``: Chrome trace / Perfetto (``trace``);
- ``flame.speedscope.json``: the host flame graph (``flame``);
- ``profile.json``: the summary (``summary``);
- ``report.html``: the page people open (``report``).

Each file is written atomically (temporary file, then rename).
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

from pxos import events
from pxos.errors import PxFileError
from pxos.lib.profile.counters import compile_counts, hot_lines, kernel_stats
from pxos.lib.profile.memory import MemoryTrack
from pxos.lib.profile.recorder import Recorder
from pxos.lib.profile.sampler import DEFAULT_RATE, Sampler

DEFAULT_OUT = "pxos-profile"


class Profile:
    """A profile of the code run while it is active (a context manager, once).

    Args:
        out: the outputs folder, created if needed (default ``pxos-profile``); None
            writes nothing (read the results from the object).
        rate: host samples per second (default 1000).
        memory: trace host allocations by line with ``tracemalloc`` (slow; off by default).
        name: what was profiled, for the report (default: the caller's file).
        decisions: more planner decisions to report (``(kernel name, Decision)`` pairs:
            a ``.px`` run's, given by ``pxos profile``).
        all_threads: sample every Python thread, not only the one entering the block
            (``sampler.Sampler``).

    Attributes (after the block):
        wall_s: seconds the block took; kernels: ``counters.KernelStats`` list, largest
        first; lines: the host's hot lines; compiles: counts by device and tier;
        memory: ``memory.MemoryTrack``; recorder, sampler: the raw events and samples;
        files: the paths written.

    Raises:
        ValueError: ``rate`` is not > 0.
        PxFileError: the outputs folder cannot be written.
    """

    def __init__(self, out: str | Path | None = DEFAULT_OUT, rate: float = DEFAULT_RATE,
                 memory: bool = False, name: str | None = None, decisions=(),
                 all_threads: bool = False):
        self.out = None if out is None else Path(out)
        self.rate = float(rate)
        self.name = name
        self.extra_decisions = list(decisions)
        self.recorder = Recorder()
        self.memory = MemoryTrack(trace_allocations=memory)
        self.sampler = Sampler(self.recorder, self.rate, threading.get_ident(),
                               on_memory=self.memory.read, all_threads=all_threads)
        self.wall_s = 0.0
        self.kernels, self.lines, self.compiles, self.files = [], [], {}, []
        self.machine = None

    def __enter__(self) -> "Profile":
        if self.name is None:
            import sys

            self.name = sys._getframe(1).f_code.co_filename
        self.memory.start()
        self.recorder.t0 = time.perf_counter()
        events.subscribe(self.recorder)
        self.recorder.log.start()  # native launches, recorded in C (host/native_call)
        self.sampler.start()
        return self

    def __exit__(self, *exc) -> None:
        self.recorder.wait_for_devices()  # work queued in the block is part of it
        self.wall_s = time.perf_counter() - self.recorder.t0
        self.recorder.log.stop()
        self.sampler.stop()
        events.unsubscribe(self.recorder)
        self.recorder.resolve(self.wall_s)
        self.memory.stop(self.wall_s)
        self.machine = _calibrated(look_up=self.out is not None)
        self.kernels = kernel_stats(self.recorder.events, self.recorder.works, self.machine)
        self.lines = hot_lines(self.sampler.samples)
        self.compiles = compile_counts(self.recorder.events)
        if self.out is not None and exc[0] is None:
            self.save(self.out)

    def add_decisions(self, decisions) -> None:
        """Report more ``(kernel name, Decision)`` pairs (before the block ends)."""
        self.extra_decisions += list(decisions)

    def summary(self) -> dict:
        """``profile.json``'s contents."""
        from pxos.lib.profile.summary import summary_document

        return summary_document(self)

    def save(self, out: str | Path) -> list[Path]:
        """Write the four outputs into folder ``out``; returns their paths.

        Raises:
            PxFileError: a file cannot be written.
        """
        from pxos.lib.profile.flame import speedscope_document
        from pxos.lib.profile.report import report_html
        from pxos.lib.profile.trace import trace_document

        summary = self.summary()
        documents = {
            "trace.json": json.dumps(trace_document(self.recorder.events,
                                                    self.sampler.samples,
                                                    self.memory.points)),
            "flame.speedscope.json": json.dumps(speedscope_document(self.sampler.samples,
                                                                    str(self.name))),
            "profile.json": json.dumps(summary, indent=1, default=str),
            "report.html": report_html(self, summary),
        }
        folder = Path(out)
        self.files = [_write(folder / name, text) for name, text in documents.items()]
        return self.files


def _write(path: Path, text: str) -> Path:
    from pxos.atomic_write import write_atomic

    try:
        write_atomic(path.resolve(), text.encode())
    except OSError as err:
        raise PxFileError(f"cannot write {path}: {err.strerror or err}", None,
                          "choose another folder with -o") from None
    return path


def _calibrated(look_up: bool):
    """This machine's calibration if the planner loaded it already, or (``look_up``) if it
    is stored (finding which is stored probes the backends, about a second the first
    time: done only when the report is written); never calibrates. None if there is
    none."""
    from pxos.errors import PxBackendError
    from pxos.planner import calibration
    from pxos.planner.calibration import machine

    if calibration._loaded:
        return next(iter(calibration._loaded.values()))
    if not look_up:
        return None
    try:
        return machine(auto=False)
    except PxBackendError:
        return None
