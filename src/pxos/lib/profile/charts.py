"""The report's charts, drawn with matplotlib and returned as inline SVG text.

Each function takes plain data from a finished profile and returns one ``<svg>`` element
(no XML prolog, so it can be pasted into HTML), or "" when there is nothing to draw.
"""

from __future__ import annotations

import io

WIDTH = 9.0  # inches; the page shows them at its own width


def _plt():
    import matplotlib

    matplotlib.use("Agg")  # no display: these are files
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.fonttype": "none", "svg.hashsalt": "pxos", "font.size": 9})
    return plt


def _svg(fig) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    fig.clf()
    _plt().close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]


def bars(labels: list[str], seconds: list[float], title: str) -> str:
    """A horizontal bar chart of seconds (in ms), largest on top."""
    if not labels:
        return ""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(WIDTH, 0.35 * len(labels) + 0.9))
    ax.barh(range(len(labels))[::-1], [s * 1e3 for s in seconds], color="#4878cf")
    ax.set_yticks(range(len(labels))[::-1], labels)
    ax.set_xlabel("ms")
    ax.set_title(title)
    return _svg(fig)


BINS = 2000  # spans closer than the run's wall time / BINS are drawn as one (under a pixel)


def merged(spans: list, gap: float) -> list:
    """``(start, width)`` spans, those less than ``gap`` apart drawn as one: a chart of one
    rectangle per launch took seconds to draw for a few thousand launches, and megabytes of
    SVG, for bars narrower than a pixel."""
    out: list = []
    for start, width in sorted(spans):
        if out and start <= out[-1][0] + out[-1][1] + gap:
            first, wide = out[-1]
            out[-1] = (first, max(wide, start + width - first))
        else:
            out.append((start, width))
    return out


def timeline(events, samples, wall: float) -> str:
    """Kernels, library operations and copies on a track per device, and host samples in
    pxos (kernel) or user code, over the run's wall time (spans under a pixel apart
    merged: :func:`merged`)."""
    import numpy as np

    tracks: dict[str, list] = {}
    for e in events:
        if e.kind != "compile":
            tracks.setdefault(f"{e.kind if e.kind == 'copy' else 'kernels'} {e.device}",
                              []).append((e.start * 1e3, max(e.seconds * 1e3, 1e-4)))
    starts = np.cumsum([0.0] + [w for _, w, _ in samples])  # the weights tile the run
    host = [(a * 1e3, w * 1e3) for a, (_, w, stack) in zip(starts, samples) if stack]
    if host:
        tracks["host samples"] = host
    if not tracks:
        return ""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(WIDTH, 0.45 * len(tracks) + 1.0))
    gap = max(wall * 1e3, 1e-3) / BINS
    for i, (name, spans) in enumerate(sorted(tracks.items())):
        ax.broken_barh(merged(spans, gap), (i - 0.4, 0.8), color="#6acc65" if "host" in name else
                       "#d65f5f" if "copy" in name else "#4878cf")
    ax.set_yticks(range(len(tracks)), sorted(tracks))
    ax.set_xlim(0, max(wall * 1e3, 1e-3))
    ax.set_xlabel("ms from the start")
    ax.set_title("Timeline")
    return _svg(fig)


def memory(points) -> str:
    """Host (resident) and device (CuPy pool) memory in MB over time."""
    if len(points) < 2:
        return ""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(WIDTH, 2.6))
    t = [p[0] * 1e3 for p in points]
    ax.plot(t, [p[1] / 1e6 for p in points], label="host (resident)")
    if any(p[2] is not None for p in points):
        ax.plot(t, [(p[2] or 0) / 1e6 for p in points], label="device (CuPy pool)")
    ax.set_xlabel("ms from the start")
    ax.set_ylabel("MB")
    ax.legend(loc="best")
    ax.set_title("Memory")
    return _svg(fig)


def roofline(kernels, machine) -> str:
    """Each kernel's achieved GOP/s against its operations per byte, under each device's
    roofline (calibrated bandwidth and issue rate)."""
    points = [k for k in kernels if k.kind == "launch" and k.bytes > 0 and k.ops > 0]
    if not points or machine is None:
        return ""
    import numpy as np

    plt = _plt()
    fig, ax = plt.subplots(figsize=(WIDTH, 4.0))
    xs = np.logspace(-3, 3, 200)
    for name in sorted({k.device for k in points}):
        fig_dev = machine.devices.get(name)
        if fig_dev is not None and fig_dev.bandwidth and fig_dev.ops_rate:
            ax.plot(xs, np.minimum(xs * fig_dev.bandwidth, fig_dev.ops_rate) / 1e9,
                    label=f"roofline {name}")
            ax.legend(loc="lower right")
    for k in points:
        ax.scatter([k.ops / k.bytes], [k.gops], zorder=3)
        ax.annotate(f"{k.name} ({k.device})", (k.ops / k.bytes, k.gops), fontsize=8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("operations per byte")
    ax.set_ylabel("GOP/s")
    ax.set_title("Roofline")
    return _svg(fig)


def flame(stacks: dict[tuple, float], limit: int = 400) -> str:
    """An icicle chart (a flame graph, outermost on top) of folded stacks
    (``flame.folded_stacks``), widths in seconds."""
    if not stacks:
        return ""
    total = sum(stacks.values())
    boxes = []  # (depth, start, width, name)

    def place(prefix: tuple, start: float, depth: int):
        children: dict[str, float] = {}
        for stack, s in stacks.items():
            if len(stack) > depth and stack[:depth] == prefix:
                children[stack[depth]] = children.get(stack[depth], 0.0) + s
        for name, width in sorted(children.items()):
            if width >= total / limit:
                boxes.append((depth, start, width, name))
                place(prefix + (name,), start, depth + 1)
            start += width

    place((), 0.0, 0)
    depth = max(b[0] for b in boxes) + 1 if boxes else 1
    plt = _plt()
    fig, ax = plt.subplots(figsize=(WIDTH, 0.3 * depth + 0.8))
    for d, start, width, name in boxes:
        ax.broken_barh([(start, width)], (depth - d - 1, 0.9), color="#ee854a",
                       edgecolor="white")
        if width > total * 0.08:
            ax.text(start + width / 2, depth - d - 0.55, name[:int(width / total * 90)],
                    ha="center", va="center", fontsize=7)
    ax.set_xlim(0, total)
    ax.set_yticks([])
    ax.set_xlabel("seconds (sampled)")
    ax.set_title("Host flame graph")
    return _svg(fig)
