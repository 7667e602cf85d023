"""``flame.speedscope.json``: the host samples as a flame graph in speedscope's file format
(https://www.speedscope.app opens it; also ``npx speedscope FILE`` offline).

The format (speedscope's ``file-format-schema.json``): ``shared.frames`` lists every frame
once (name, file, line); a ``sampled`` profile lists each sample as the indices of its
frames, outermost first, with its weight (here: seconds, the measured interval, so the
graph's widths are times, corrected for late samples).
"""

from __future__ import annotations

import os

SCHEMA = "https://www.speedscope.app/file-format-schema.json"


def speedscope_document(samples, name: str) -> dict:
    """The flame graph of ``samples`` (``Sampler.samples``) as a JSON-ready dict."""
    frames, index = [], {}
    stacks, weights = [], []
    for _, weight, stack in samples:
        ids = []
        for frame in stack:
            i = index.get(frame)
            if i is None:
                i = index[frame] = len(frames)
                file, line, function = frame
                entry = {"name": function}
                if file:
                    entry.update(file=os.path.basename(file), line=line)
                frames.append(entry)
            ids.append(i)
        stacks.append(ids)
        weights.append(weight)
    end = samples[-1][0] if samples else 0.0
    return {"$schema": SCHEMA, "exporter": "pxos profile", "name": name,
            "activeProfileIndex": 0, "shared": {"frames": frames},
            "profiles": [{"type": "sampled", "name": "host", "unit": "seconds",
                          "startValue": 0.0, "endValue": end, "samples": stacks,
                          "weights": weights}]}


def folded_stacks(samples) -> dict[tuple, float]:
    """Seconds per stack of function names (``(outer, …, inner)``), for the report's
    flame chart."""
    out: dict[tuple, float] = {}
    for _, weight, stack in samples:
        key = tuple(f[2] if not f[0] else f"{f[2]} ({os.path.basename(f[0])}:{f[1]})"
                    for f in stack)
        out[key] = out.get(key, 0.0) + weight
    return out
