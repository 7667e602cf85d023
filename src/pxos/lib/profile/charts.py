"""The report's charts, written as inline SVG text (W3C SVG 1.1: ``rect``, ``polyline``,
``circle``, ``text``, ``line``).

Each function takes plain data from a finished profile and returns one ``<svg>`` element
(no XML prolog, so it can be pasted into HTML), or "" when there is nothing to draw.
Written here, not with matplotlib: matplotlib's import and its SVG writer took 1-2 s a
chart on a loaded machine (12 s for a report of six charts), the most of ``pxos
profile``'s time after a short program; these take milliseconds.
"""

from __future__ import annotations

import math
from html import escape

WIDTH = 860  # px; the page scales them to its own width
LEFT = 250  # px for the labels left of a chart's plot area
BLUE, RED, GREEN, ORANGE = "#4878cf", "#d65f5f", "#6acc65", "#ee854a"
COLORS = (BLUE, ORANGE, GREEN, RED, "#956cb4", "#8c613c")
BINS = 2000  # spans closer than the run's wall time / BINS are drawn as one (under a pixel)


def _svg(height: float, body: list[str], title: str) -> str:
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height:.0f}" '
            f'viewBox="0 0 {WIDTH} {height:.0f}" font-family="sans-serif" font-size="11">'
            f'<text x="{WIDTH / 2:.0f}" y="14" text-anchor="middle" font-size="13">'
            f'{escape(title)}</text>')
    return head + "".join(body) + "</svg>"


def _text(x: float, y: float, s: str, anchor: str = "start", size: int = 11) -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}">'
            f'{escape(s)}</text>')


def _rect(x: float, y: float, w: float, h: float, color: str, tip: str = "") -> str:
    inner = f"<title>{escape(tip)}</title>" if tip else ""
    return (f'<rect x="{x:.2f}" y="{y:.1f}" width="{max(w, 0.3):.2f}" height="{h:.1f}" '
            f'fill="{color}">{inner}</rect>')


def _x_axis(y: float, x0: float, x1: float, top: float, label: str) -> list[str]:
    """A linear axis from ``x0`` to ``x1`` (data units) under a plot area ending at ``y``."""
    out = [f'<line x1="{LEFT}" y1="{y}" x2="{WIDTH - 10}" y2="{y}" stroke="#444"/>']
    for i in range(6):
        v = x0 + (x1 - x0) * i / 5
        x = LEFT + (WIDTH - 10 - LEFT) * i / 5
        out += [f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{y}" stroke="#ddd"/>',
                _text(x, y + 14, f"{v:.3g}", "middle")]
    return out + [_text((LEFT + WIDTH) / 2, y + 30, label, "middle")]


def bars(labels: list[str], seconds: list[float], title: str) -> str:
    """A horizontal bar chart of seconds (in ms), largest on top."""
    if not labels:
        return ""
    ms = [s * 1e3 for s in seconds]
    top = max(max(ms), 1e-9)
    body, y = [], 26.0
    for label, v in zip(labels, ms):
        w = (WIDTH - 10 - LEFT) * v / top
        body += [_text(LEFT - 6, y + 12, label[:40], "end"),
                 _rect(LEFT, y + 2, w, 14, BLUE, f"{label}: {v:.3f} ms")]
        y += 20
    body += _x_axis(y + 4, 0.0, top, 26.0, "ms")
    return _svg(y + 40, body, title)


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
    tracks: dict[str, list] = {}
    for e in events:
        if e.kind != "compile":
            tracks.setdefault(f"{e.kind if e.kind == 'copy' else 'kernels'} {e.device}",
                              []).append((e.start * 1e3, max(e.seconds * 1e3, 1e-4)))
    start = 0.0
    host = []
    for _, w, stack in samples:  # the weights tile the run
        if stack:
            host.append((start * 1e3, w * 1e3))
        start += w
    if host:
        tracks["host samples"] = host
    if not tracks:
        return ""
    span_ms = max(wall * 1e3, 1e-3)
    scale = (WIDTH - 10 - LEFT) / span_ms
    body, y = [], 26.0
    for name, spans in sorted(tracks.items()):
        color = GREEN if "host" in name else RED if "copy" in name else BLUE
        body.append(_text(LEFT - 6, y + 13, name, "end"))
        body += [_rect(LEFT + a * scale, y + 2, w * scale, 16, color)
                 for a, w in merged(spans, span_ms / BINS)]
        y += 22
    body += _x_axis(y + 4, 0.0, span_ms, 26.0, "ms from the start")
    return _svg(y + 40, body, "Timeline")


def memory(points) -> str:
    """Host (resident) and device (CuPy pool) memory in MB over time."""
    if len(points) < 2:
        return ""
    t_end = max(max(p[0] for p in points) * 1e3, 1e-3)
    series = [("host (resident)", [p[1] / 1e6 for p in points])]
    if any(p[2] is not None for p in points):
        series.append(("device (CuPy pool)", [(p[2] or 0) / 1e6 for p in points]))
    peak = max(max(v) for _, v in series) or 1.0
    top, bottom = 26.0, 186.0
    body = [_text(LEFT - 6, top + 8, f"{peak:.1f} MB", "end"), _text(LEFT - 6, bottom, "0", "end")]
    for i, (name, values) in enumerate(series):
        xy = " ".join(f"{LEFT + (WIDTH - 10 - LEFT) * p[0] * 1e3 / t_end:.1f},"
                      f"{bottom - (bottom - top) * v / peak:.1f}" for p, v in zip(points, values))
        body += [f'<polyline points="{xy}" fill="none" stroke="{COLORS[i]}" stroke-width="1.5"/>',
                 _rect(10, top + 20 * i, 10, 10, COLORS[i]), _text(26, top + 20 * i + 9, name)]
    body += _x_axis(bottom + 4, 0.0, t_end, top, "ms from the start")
    return _svg(bottom + 40, body, "Memory")


def roofline(kernels, machine) -> str:
    """Each kernel's achieved GOP/s against its operations per byte, under each device's
    roofline (calibrated bandwidth and issue rate), on log-log axes."""
    points = [k for k in kernels if k.kind == "launch" and k.bytes > 0 and k.ops > 0]
    if not points or machine is None:
        return ""
    roofs = [(name, machine.devices[name]) for name in sorted({k.device for k in points})
             if name in machine.devices and machine.devices[name].bandwidth
             and machine.devices[name].ops_rate]
    x_lo, x_hi = -3.0, 3.0  # log10 operations per byte
    ys = [k.gops for k in points] + [f.ops_rate / 1e9 for _, f in roofs]
    ys += [10 ** x_lo * f.bandwidth / 1e9 for _, f in roofs]
    y_lo, y_hi = math.floor(math.log10(min(ys))), math.ceil(math.log10(max(ys))) + 0.2
    top, bottom = 26.0, 306.0

    def at(x: float, y: float) -> str:
        px = LEFT + (WIDTH - 10 - LEFT) * (math.log10(x) - x_lo) / (x_hi - x_lo)
        py = bottom - (bottom - top) * (math.log10(y) - y_lo) / (y_hi - y_lo)
        return f"{px:.1f},{py:.1f}"

    body = [_text(LEFT - 6, bottom, f"1e{y_lo:.0f} GOP/s", "end"),
            _text(LEFT - 6, top + 8, f"1e{y_hi:.1f} GOP/s", "end")]
    for i, (name, f) in enumerate(roofs):
        xs = [10 ** (x_lo + (x_hi - x_lo) * j / 60) for j in range(61)]
        line = " ".join(at(x, min(x * f.bandwidth, f.ops_rate) / 1e9) for x in xs)
        body += [f'<polyline points="{line}" fill="none" stroke="{COLORS[i]}"/>',
                 _text(WIDTH - 14, top + 14 * i + 10, f"roofline {name}", "end")]
    for k in points:
        x, y = at(k.ops / k.bytes, k.gops).split(",")
        body += [f'<circle cx="{x}" cy="{y}" r="4" fill="{RED}"/>',
                 _text(float(x) + 6, float(y) - 4, f"{k.name} ({k.device})", size=10)]
    body += [f'<line x1="{LEFT}" y1="{bottom}" x2="{WIDTH - 10}" y2="{bottom}" stroke="#444"/>']
    body += [_text(LEFT + (WIDTH - 10 - LEFT) * (e - x_lo) / (x_hi - x_lo), bottom + 14,
                   f"1e{e:.0f}", "middle") for e in range(int(x_lo), int(x_hi) + 1)]
    body.append(_text((LEFT + WIDTH) / 2, bottom + 30, "operations per byte", "middle"))
    return _svg(bottom + 40, body, "Roofline")


def flame(stacks: dict[tuple, float], limit: int = 400) -> str:
    """An icicle chart (a flame graph, outermost on top) of folded stacks
    (``flame.folded_stacks``), widths in seconds."""
    if not stacks:
        return ""
    total = sum(stacks.values()) or 1.0
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
    scale = (WIDTH - 20) / total
    body = []
    for d, start, width, name in boxes:
        x, w, y = 10 + start * scale, width * scale, 24 + 18 * d
        body.append(_rect(x, y, w - 0.5, 17, ORANGE, f"{name}: {width:.4f} s"))
        if w > 40:
            body.append(_text(x + w / 2, y + 12, name[:int(w / 6.5)], "middle", 10))
    depth = max((b[0] for b in boxes), default=0) + 1
    return _svg(24 + 18 * depth + 8, body, "Host flame graph (seconds sampled)")
