"""``trace.json``: the profile in the Chrome Trace Event Format, which Perfetto
(ui.perfetto.dev) and chrome://tracing open.

The format is Google's "Trace Event Format" document: a JSON object with ``traceEvents``, a
list of events with ``name``, ``ph`` (phase), ``ts`` (microseconds), ``pid``, ``tid``;
complete events (``ph: "X"``) carry ``dur``; metadata events (``ph: "M"``) name processes
and threads; counter events (``ph: "C"``) carry their series in ``args``. Tracks: the host's
sampled Python stack (nested slices, merged over consecutive samples), one track per device
for kernels and library operations, one per device for copies, one for compiles, and a
memory counter; on ``cuda``, the short launches not timed by CUDA events
(``recorder.Event.timed``) are on a track of their own, as the host's calls that queued
them; on ``c``, the launches the native launcher read no clock for (it reads it for a
launcher's first launches and then once per sampler period) are on one too, placed
between the timed ones, each its kernel's mean length.
"""

from __future__ import annotations

import os

from pxos import registry

PID = 1
HOST_TID = 1
COMPILE_TID = 2
MB = 1e6


def _untimed_track(device: str) -> str:
    """The track of launches on ``device`` whose times were not measured."""
    if registry.timer(device) == "cuda-events":
        return "launches (host calls, not timed)"
    return "launches (not timed: placed between timed ones, mean length)"


def trace_document(events, samples, memory_points) -> dict:
    """The trace as a JSON-ready dict.

    Args:
        events: ``recorder.Event`` objects (seconds from the profile's start).
        samples: ``Sampler.samples``; memory_points: ``MemoryTrack.points``.
    """
    out = [_meta("process_name", None, "pxos"),
           _meta("thread_name", HOST_TID, "host (sampled Python stack)"),
           _meta("thread_name", COMPILE_TID, "compile")]
    tids: dict[tuple[str, str], int] = {}
    for e in events:
        if e.kind == "compile" and e.tier == "memory":
            continue  # a dictionary look-up: not worth a slice
        track = ("compile", "") if e.kind == "compile" else (
            ("copies", e.device) if e.kind == "copy" else ("kernels", e.device)
            if e.timed else (_untimed_track(e.device), e.device))
        tid = COMPILE_TID if e.kind == "compile" else tids.get(track)
        if tid is None:
            tid = tids[track] = 10 + len(tids)
            out.append(_meta("thread_name", tid, f"{track[0]} on {track[1]}"))
        args = {"device": e.device, "stream": e.stream}
        if e.file:
            args["source"] = f"{e.file}:{e.line}"
        if e.nbytes:
            args["bytes"] = e.nbytes
        if e.tier:
            args["tier"] = e.tier
        out.append({"name": e.name, "cat": e.kind, "ph": "X", **_span(e.start, e.end),
                    "pid": PID, "tid": tid, "args": args})
    for n, (thread, found) in enumerate(sorted(_by_thread(samples).items(),
                                              key=lambda kv: kv[0] or "")):
        tid = HOST_TID if thread is None else 100 + n
        if thread is not None:
            out.append(_meta("thread_name", tid, f"host {thread} (sampled Python stack)"))
        out += host_slices(found, tid)
    for t, host, device in memory_points:
        series = {"host MB": host / MB}
        if device is not None:
            series["device MB"] = device / MB
        out.append({"name": "memory", "ph": "C", "ts": t * 1e6, "pid": PID, "tid": HOST_TID,
                    "args": series})
    return {"traceEvents": out, "displayTimeUnit": "ms"}


def _by_thread(samples) -> dict:
    """Samples by thread: None for the profiled thread's, else the name of the sampler's
    ``thread NAME`` root frame (``all_threads``), with that frame taken off."""
    out: dict = {}
    for t, w, stack in samples:
        head = stack[0] if stack else ("x", 0, "")
        if not head[0] and head[2].startswith("thread "):
            out.setdefault(head[2], []).append((t, w, stack[1:]))
        else:
            out.setdefault(None, []).append((t, w, stack))
    return out


def host_slices(samples, tid: int = 0) -> list[dict]:
    """Nested complete events (on track ``tid``, default the host's) from one thread's
    sampled stacks: a frame's slice lasts while consecutive samples keep it at the same
    depth; each sample covers the time it stands for (its weight: ``sampler.centred``;
    the weights tile the run from its start)."""
    tid = tid or HOST_TID
    out, open_ = [], []  # out: (depth, slice); open_: (frame, start_s)
    end = 0.0  # the samples' weights tile the run from its start
    for _, weight, stack in samples:
        start, end = end, end + weight
        keep = 0
        while keep < min(len(open_), len(stack)) and open_[keep][0] == stack[keep]:
            keep += 1
        for depth in range(len(open_) - 1, keep - 1, -1):
            out.append((depth, _slice(*open_[depth], start, tid)))
        del open_[keep:]
        open_ += [(frame, start) for frame in stack[keep:]]
    for depth in range(len(open_) - 1, -1, -1):
        out.append((depth, _slice(*open_[depth], end, tid)))
    # in start order, a parent before its children: a viewer that reads slices in start
    # order (Perfetto) nests a slice under the one read before it where both start, and
    # end, at the same time
    out.sort(key=lambda d: (d[1]["ts"], d[0]))
    return [s for _, s in out]


def _slice(frame, start: float, end: float, tid: int) -> dict:
    file, line, function = frame
    where = f"{os.path.basename(file)}:{line}" if file else ""
    return {"name": f"{function} ({where})" if where else function, "cat": "host",
            "ph": "X", **_span(start, end), "pid": PID,
            "tid": tid, "args": {"source": f"{file}:{line}"} if file else {}}


def _span(start: float, end: float) -> dict:
    """``ts`` and ``dur`` (microseconds) of a slice from ``start`` to ``end`` (seconds),
    both whole nanoseconds: a viewer reading them as nanoseconds (Perfetto) finds a nested
    slice's end equal to its parent's, not a rounding error past it (which Perfetto drops
    as an overlapping slice)."""
    ts = round(start * 1e9)
    return {"ts": ts / 1e3, "dur": max(round(end * 1e9) - ts, 0) / 1e3}


def _meta(kind: str, tid: int | None, name: str) -> dict:
    event = {"name": kind, "ph": "M", "pid": PID, "args": {"name": name}}
    if tid is not None:
        event["tid"] = tid
    return event
