"""The progress bar of a cache build: done / total sequences, sequences per second, ETA."""

from __future__ import annotations

from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text


class RateColumn(ProgressColumn):
    """Sequences per second, measured over the batches finished in this run."""

    def render(self, task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("… seq/s" if speed is None else f"{speed:,.1f} seq/s")


@contextmanager
def sequence_progress(total: int, done: int, show: bool):
    """A context whose value is ``advance(k)``: k more sequences are finished. Draws a
    Rich progress bar on stderr when ``show`` is True; calls ``show(done, total)`` when it
    is a function (a benchmark's log); else does nothing."""
    if callable(show):
        count = [done]

        def report(k: int) -> None:
            count[0] += k
            show(count[0], total)
        yield report
        return
    if not show:
        yield lambda k: None
        return
    bar = Progress(TextColumn("diversity"), BarColumn(), MofNCompleteColumn(), RateColumn(),
                   TextColumn("ETA"), TimeRemainingColumn(),
                   console=Console(stderr=True))
    with bar:
        task = bar.add_task("sequences", total=total, completed=done)
        yield lambda k: bar.advance(task, k)
