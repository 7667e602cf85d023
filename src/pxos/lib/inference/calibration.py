"""A model's calibration: what it measured on this machine, kept on disk, and the choice
of runtime, device, batch size and length buckets made from it.

:mod:`pxos.lib.inference.measure` writes the record; :func:`choose` reads it. The record
is JSON at ``<pxos cache>/inference/calibration/<key>.json``, where the key hashes the
machine's name, the model's path, the name, size and mtime of its files, and the
precision, so that a changed model or another machine is calibrated afresh. It is
written to a temporary file and renamed into place, so it is whole or absent.

Record fields:

- ``runs``: one entry per (runtime, device, batch): ``seconds`` per batch (median of
  repeats) at ``sequence`` tokens, and ``sentences_per_s``;
- ``buckets``: per ``"runtime/device"``, the seconds to run the same real sentences,
  length-sorted at the chosen batch, under each bucket set of
  :mod:`pxos.lib.inference.buckets`, the padded tokens each set runs, and the set chosen;
- ``machine``, ``when`` (UTC), ``sequence``, ``sentences``, ``precision``.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
from pathlib import Path

from pxos.cache_folder import cache_folder


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(f for f in path.iterdir() if f.is_file())
    return [f for f in (path, path.with_suffix(".bin")) if f.is_file()]


def key(path: Path, precision: str) -> str:
    """sha256 of machine name, model path, its files' names, sizes and mtimes, and the
    precision: cheap (no model bytes are read) and changed by any rewrite of the model."""
    h = hashlib.sha256(f"{platform.node()}|{Path(path).resolve()}|{precision}".encode())
    for f in _files(Path(path)):
        st = f.stat()
        h.update(f"|{f.name}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()


def record_path(path: Path, precision: str) -> Path:
    """Where the calibration of ``path`` at ``precision`` is kept."""
    return cache_folder() / "inference" / "calibration" / f"{key(path, precision)}.json"


def load(path: Path, precision: str) -> dict | None:
    """The stored calibration record, or None if there is none (or it cannot be read:
    a damaged record is treated as absent and replaced by the next calibration)."""
    f = record_path(path, precision)
    try:
        rec = json.loads(f.read_text())
    except (OSError, ValueError):
        return None
    return rec if isinstance(rec, dict) and rec.get("runs") else None


def save(path: Path, precision: str, record: dict) -> Path:
    """Write ``record`` for the model at ``path`` (atomically); return the file."""
    f = record_path(path, precision)
    f.parent.mkdir(parents=True, exist_ok=True)
    tmp = f.with_name(f"{f.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(record, indent=1))
    os.replace(tmp, f)
    return f


def best_runs(record: dict, device: str | None = None) -> list[dict]:
    """The fastest batch of each (runtime, device) in ``record``, fastest first; only
    those on ``device`` when it is given."""
    best: dict = {}
    for r in record["runs"]:
        if device not in (None, "auto") and r["device"] != device:
            continue
        k = (r["runtime"], r["device"])
        if k not in best or r["sentences_per_s"] > best[k]["sentences_per_s"]:
            best[k] = r
    return sorted(best.values(), key=lambda r: -r["sentences_per_s"])


def choose(record: dict, device: str | None = None) -> dict | None:
    """The choice the record supports: ``{"runtime", "device", "batch", "bucket", "why"}``
    — the (runtime, device, batch) with the most sentences/s (on ``device`` if given),
    and the bucket set measured fastest for that runtime and device (``exact`` if none
    was measured). None if the record has no run on ``device``."""
    ranked = best_runs(record, device)
    if not ranked:
        return None
    top = ranked[0]
    where = f"{top['runtime']}/{top['device']}"
    bucket_rec = record.get("buckets", {}).get(where)
    bucket = bucket_rec["choice"] if bucket_rec else "exact"
    others = "; ".join(f"{r['runtime']} on {r['device']} {r['sentences_per_s']:.0f}/s "
                       f"(batch {r['batch']})" for r in ranked[1:])
    why = (f"calibrated {record.get('when', '?')} at sequence {record['sequence']}: "
           f"{top['runtime']} on {top['device']} at batch {top['batch']} ran "
           f"{top['sentences_per_s']:.0f} sentences/s, the fastest measured"
           + (f", against {others}" if others else " (the only runtime that ran)"))
    if bucket_rec:
        secs = bucket_rec["seconds"]
        why += (f"; length buckets {bucket!r}: {secs[bucket] * 1e3:.1f} ms on "
                f"{record['sentences']} real sentences, against "
                + ", ".join(f"{b} {s * 1e3:.1f}" for b, s in secs.items() if b != bucket))
    return {"runtime": top["runtime"], "device": top["device"], "batch": top["batch"],
            "bucket": bucket, "why": why}


__all__ = ["best_runs", "choose", "key", "load", "record_path", "save"]
