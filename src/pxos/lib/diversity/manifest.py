"""The JSON manifest beside a diversity cache: what the cache holds and how to check it.

``cache.npy`` has its manifest in ``cache.npy.json``::

    {"format": "pxos-diversity-cache/1", "corpus_sha256": "…", "model": "…", "n": 7797,
     "dim": 384, "dtype": "uint16", "done": 128,
     "batches": [{"starts": [[0, 64]], "sha256": "…"}, …]}

Each batch lists its starts as half-open ranges and the SHA-256 of its rows (in start
order) as they were written, so a damaged cache is found before a run continues it. The
manifest is replaced atomically (``pxos.atomic_write``) after each batch's rows are
flushed: a run killed at any moment leaves a manifest that describes rows on disk.
"""

from __future__ import annotations

import errno
import hashlib
import json
from pathlib import Path

import numpy as np

from pxos.atomic_write import write_atomic
from pxos.lib.diversity.inputs import DiversityError

FORMAT = "pxos-diversity-cache/1"


def manifest_path(cache: Path) -> Path:
    """Where the manifest of ``cache`` lives: ``cache`` + ``.json``."""
    return cache.with_name(cache.name + ".json")


def new_manifest(corpus: str, model: str | None, n: int, dim: int, dtype) -> dict:
    """An empty manifest: no batch done yet."""
    return {"format": FORMAT, "corpus_sha256": corpus, "model": model, "n": n, "dim": dim,
            "dtype": np.dtype(dtype).name, "done": 0, "batches": []}


def read_manifest(path: Path) -> dict:
    """The manifest at ``path``.

    Raises:
        DiversityError: unreadable, not JSON, or not a manifest of this format.
    """
    try:
        m = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DiversityError(f"cache manifest {path} is damaged or unreadable: {err}",
                             hint="remove the cache and its manifest, or build with resume "
                                  "off to start over") from None
    keys = {"format", "corpus_sha256", "model", "n", "dim", "dtype", "done", "batches"}
    if not isinstance(m, dict) or m.get("format") != FORMAT or not keys <= m.keys():
        raise DiversityError(f"{path} is not a diversity cache manifest ({FORMAT})")
    return m


def write_manifest(path: Path, m: dict) -> None:
    """Replace the manifest at ``path`` atomically.

    Raises:
        DiversityError: the disk is full or the folder cannot be written.
    """
    try:
        write_atomic(path, (json.dumps(m, indent=1) + "\n").encode())
    except OSError as err:
        raise disk_error(path, err) from None


def disk_error(path: Path, err: OSError) -> DiversityError:
    """A DiversityError for a failed write of ``path`` (a full disk said so)."""
    if err.errno == errno.ENOSPC:
        return DiversityError(f"no space left on the disk for {path}",
                              hint="free some space, then run again with resume on: "
                                   "finished batches are kept")
    return DiversityError(f"cannot write {path}: {err.strerror or err}")


def check_matches(m: dict, path: Path, corpus: str, n: int, model: str | None) -> None:
    """Refuse a manifest made for other embeddings (hash or N) or another model.

    Raises:
        DiversityError: naming what differs.
    """
    if m["n"] != n:
        raise DiversityError(f"cache {path} holds sequences of {m['n']} items, the "
                             f"embeddings have {n}", hint="use another output path")
    if m["corpus_sha256"] != corpus:
        raise DiversityError(f"cache {path} was built from other embeddings (corpus hash "
                             f"{m['corpus_sha256'][:12]}…, these are {corpus[:12]}…)",
                             hint="use another output path, or build with resume off")
    if model is not None and m["model"] not in (None, model):
        raise DiversityError(f"cache {path} was built with model {m['model']!r}, not "
                             f"{model!r}")


def ranges(starts: np.ndarray) -> list[list[int]]:
    """Sorted distinct ints as half-open ranges: [3, 4, 5, 9] → [[3, 6], [9, 10]]."""
    out: list[list[int]] = []
    for s in starts.tolist():
        if out and out[-1][1] == s:
            out[-1][1] = s + 1
        else:
            out.append([s, s + 1])
    return out


def expand(rs: list) -> np.ndarray:
    """The inverse of :func:`ranges`."""
    parts = [np.arange(lo, hi) for lo, hi in rs]
    return np.concatenate(parts) if parts else np.zeros(0, np.int64)


def rows_hash(rows: np.ndarray) -> str:
    """SHA-256 (hex) of rows as stored."""
    return hashlib.sha256(np.ascontiguousarray(rows).data).hexdigest()


def verify(m: dict, cache: np.ndarray, path: Path) -> np.ndarray:
    """Check every finished batch's rows against its hash; return the done starts.

    Raises:
        DiversityError: a batch's rows differ from what was written (a damaged cache), or
            the manifest names starts outside the cache.
    """
    done = []
    for i, b in enumerate(m["batches"]):
        try:
            starts = expand(b["starts"])
            bad = starts.size == 0 or starts.min() < 0 or starts.max() >= cache.shape[0]
        except (TypeError, ValueError, KeyError):
            bad = True
        if bad:
            raise DiversityError(f"cache manifest {manifest_path(path)} is damaged "
                                 f"(batch {i} names no valid starts)")
        if rows_hash(cache[starts]) != b.get("sha256"):
            raise DiversityError(f"cache {path} is damaged: the rows of batch {i} (starts "
                                 f"{int(starts[0])}…{int(starts[-1])}) differ from what was "
                                 f"written", hint="remove it and build again")
        done.append(starts)
    return np.concatenate(done) if done else np.zeros(0, np.int64)
