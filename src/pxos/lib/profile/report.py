"""``report.html``: one self-contained page (no scripts, no links out; charts are inline
SVG from ``charts``): the top kernels and host lines, a timeline, memory, the roofline,
the host flame graph, the planner's decisions (predicted against measured), compiles,
copies and leaks.
"""

from __future__ import annotations

import html
import os

from pxos.lib.profile import charts
from pxos.lib.profile.flame import folded_stacks

STYLE = """body{font-family:system-ui,sans-serif;margin:2em auto;max-width:70em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{padding:.2em .7em;
border-bottom:1px solid #ddd;text-align:right}td:first-child,th:first-child{text-align:left}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:1.6em}svg{max-width:100%;height:auto}
.note{color:#666;font-size:.9em}"""


def report_html(p, summary: dict) -> str:
    """The page for finished profile ``p`` with its ``summary`` (``profile.json``)."""
    e = html.escape
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
             f"<title>pxos profile: {e(os.path.basename(str(p.name)))}</title>"
             f"<style>{STYLE}</style></head><body>",
             f"<h1>pxos profile of {e(str(p.name))}</h1>",
             f"<p>{p.wall_s * 1e3:.1f} ms wall time; {len(p.sampler.samples)} host samples "
             f"at {p.rate:g} Hz; machine {e(summary['machine']['host'])} "
             f"({e(summary['machine']['cpu'])}).</p>"]
    parts += _kernels(summary["kernels"], p)
    parts += _lines(summary["lines"])
    parts += ["<h2>Timeline</h2>", charts.timeline(p.recorder.events, p.sampler.samples,
                                                   p.wall_s)]
    parts += ["<h2>Host flame graph</h2>", charts.flame(folded_stacks(p.sampler.samples)),
              "<p class='note'>Also in flame.speedscope.json (speedscope) and trace.json "
              "(Perfetto, chrome://tracing).</p>"]
    parts += _memory(summary["memory"], p)
    parts += ["<h2>Roofline</h2>", charts.roofline(p.kernels, p.machine) or
              "<p class='note'>No roofline: this machine is not calibrated "
              "(<code>pxos calibrate</code>), or no kernel has known bytes and "
              "operations.</p>"]
    parts += _decisions(summary["decisions"])
    parts += _compiles_and_copies(summary)
    parts.append("</body></html>")
    return "\n".join(parts)


def _table(head: list[str], rows: list[list]) -> str:
    e = html.escape
    out = ["<table><tr>" + "".join(f"<th>{e(h)}</th>" for h in head) + "</tr>"]
    for row in rows:
        out.append("<tr>" + "".join(f"<td>{e(str(c))}</td>" for c in row) + "</tr>")
    return "".join(out) + "</table>"


def _where(file: str, line: int) -> str:
    return f"{os.path.basename(file)}:{line}" if file else ""


def _kernels(kernels: list[dict], p) -> list[str]:
    if not kernels:
        return ["<h2>Top kernels</h2><p>No kernel ran.</p>"]
    rows = [[k["name"], k["device"], _where(k["file"], k["line"]), k["launches"],
             f"{k['total_s'] * 1e3:.3f}", f"{k['mean_s'] * 1e6:.1f}",
             f"{k['p95_s'] * 1e6:.1f}", f"{k['wall_share'] * 100:.1f} %",
             f"{k['gbps']:.2f}", f"{k['gops']:.2f}",
             "" if k["roofline"] is None else f"{k['roofline'] * 100:.0f} %"]
            for k in kernels]
    top = kernels[:12]
    return ["<h2>Top kernels</h2>",
            _table(["kernel", "device", "line", "launches", "total ms", "mean µs", "p95 µs",
                    "of wall", "GB/s", "GOP/s", "of roofline"], rows),
            charts.bars([f"{k['name']} ({k['device']})" for k in top],
                        [k["total_s"] for k in top], "Kernel time")]


def _lines(lines: list[dict]) -> list[str]:
    if not lines:
        return ["<h2>Top host lines</h2><p>No host samples.</p>"]
    rows = [[_where(r["file"], r["line"]) or "(pxos)", r["function"],
             f"{r['seconds'] * 1e3:.1f}", f"{r['wall_share'] * 100:.1f} %"] for r in lines]
    top = lines[:12]
    return ["<h2>Top host lines</h2>",
            _table(["line", "function", "sampled ms", "of wall"], rows),
            charts.bars([f"{_where(r['file'], r['line'])} {r['function']}" for r in top],
                        [r["seconds"] for r in top], "Host time by line (sampled)")]


def _memory(mem: dict, p) -> list[str]:
    out = ["<h2>Memory</h2>",
           f"<p>Host peak (resident): {mem['host_peak_bytes'] / 1e6:.1f} MB"
           + ("" if mem["device_peak_bytes"] is None else
              f"; device peak (CuPy pool): {mem['device_peak_bytes'] / 1e6:.1f} MB") + ".</p>",
           charts.memory(p.memory.points)]
    if mem["allocations"]:
        out.append(_table(["allocated at", "KB held", "blocks"],
                          [[_where(a["file"], a["line"]), f"{a['bytes'] / 1e3:.1f}",
                            a["count"]] for a in mem["allocations"]]))
    if mem["leaks"]:
        out += ["<p>pxos arrays made during the profile and still alive at its end:</p>",
                _table(["array", "host KB", "device KB"],
                       [[", ".join(x["names"]), f"{x['bytes'] / 1e3:.1f}",
                         ", ".join(f"{m}: {b / 1e3:.1f}" for m, b in x["device_bytes"].items())]
                        for x in mem["leaks"]])]
    else:
        out.append("<p>No pxos array made during the profile is still alive.</p>")
    return out


def _decisions(rows: list[dict]) -> list[str]:
    if not rows:
        return ["<h2>Planner decisions</h2><p>No decision of the planner in this run "
                "(every kernel had its device set).</p>"]
    return ["<h2>Planner decisions</h2>",
            _table(["kernel", "device", "predicted µs", "measured µs", "measured/predicted",
                    "reason"],
                   [[r["kernel"], r["device"], _us(r["predicted_s"]), _us(r["measured_s"]),
                     "" if r["ratio"] is None else f"{r['ratio']:.2f}", r["reason"]]
                    for r in rows]),
            "<p class='note'>Predicted: the model's whole call (copies, launch, work); "
            "measured: the mean launch.</p>"]


def _us(s) -> str:
    return "" if s is None else f"{s * 1e6:.1f}"


def _compiles_and_copies(summary: dict) -> list[str]:
    out = ["<h2>Compiles</h2>"]
    rows = [[d, t.get("memory", 0), t.get("disk", 0), t.get("build", 0)]
            for d, t in summary["compiles"].items()]
    out.append(_table(["device", "memory hits", "disk hits", "builds"], rows)
               if rows else "<p>None.</p>")
    out.append("<h2>Copies</h2>")
    rows = [[f"{direction} {device}", r["count"], f"{r['bytes'] / 1e6:.2f}",
             f"{r['seconds'] * 1e3:.3f}"]
            for direction, by in summary["copies"].items() for device, r in by.items()]
    out.append(_table(["copy", "count", "MB", "ms"], rows) if rows else "<p>None.</p>")
    return out
