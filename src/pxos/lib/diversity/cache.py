"""``sequences``: the full cache of diversity sequences, N × N on disk, resumable.

The cache is a ``.npy`` file (uint16 items when N < 65,536, else uint32) whose row ``s`` is
the sequence from start ``s``; it is opened as a memmap and written one batch of starts at a
time. After each batch its rows are flushed, then the manifest (``manifest.py``) is replaced
atomically; a writer thread does that while the device computes the next batch. A run
killed at any moment (SIGKILL included) is continued by the next run with ``resume=True``:
it checks the manifest against the embeddings and every finished batch's
rows against their hash, and recomputes at most the batch that was running.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

import pxos.lib.diversity.engine as engine
from pxos.lib.diversity.inputs import (
    DiversityError, check_embeddings, check_starts, corpus_hash, pick_device,
)
from pxos.lib.diversity.manifest import (
    check_matches, disk_error, manifest_path, new_manifest, ranges, read_manifest,
    rows_hash, verify, write_manifest,
)
from pxos.lib.diversity.progress import sequence_progress


def sequences(E, starts=None, *, out, resume: bool = True, progress: bool = True,
              device: str | None = None, batch: int | None = None,
              model: str | None = None) -> np.ndarray:
    """Build (or continue) the cache of the diversity sequences of ``starts``.

    Args:
        E: embeddings, N × D (normalised here). starts: item indices (default: all N).
        out: path of the cache ``.npy``; its manifest is ``out + ".json"``.
        resume: continue the cache at ``out`` if it exists (checked against ``E``); False
            starts over, replacing it.
        progress: show a progress bar (sequences per second, ETA) on stderr; or a
            function ``progress(done, total)`` called after each stored batch.
        device: a pxos backend (default: ``inputs.pick_device``'s: a GPU if present, else ``c``).
        batch: starts per batch (default: sized from free memory, ``engine.batch_size``).
        model: the name of the embedding model, recorded in (and checked against) the
            manifest.

    Returns:
        The cache, read-only memmap N × N: row ``s`` is the sequence from ``s`` for every
        start done (rows of starts never requested are zeros).

    Raises:
        DiversityError: bad embeddings or starts; a cache at ``out`` built from other
            embeddings or another model, damaged, or without its manifest; a full disk.
        PxBackendError: ``device`` not available.
    """
    E = check_embeddings(E)
    n = E.shape[0]
    wanted = check_starts(starts, n)
    device = pick_device(device)
    path = Path(out)
    corpus = corpus_hash(E)
    m, cache = _open(path, corpus, n, E.shape[1], model, resume)
    done = verify(m, cache, path)
    todo = np.setdiff1d(wanted, done)
    size = engine.batch_size(n, max(1, todo.size), device, batch)
    with sequence_progress(wanted.size, wanted.size - todo.size, progress) as advance, \
            ThreadPoolExecutor(1, thread_name_prefix="diversity-store") as writer:
        if todo.size:
            sim = engine.device_similarity(E, device)
            stored = None
            for lo in range(0, todo.size, size):
                chunk = todo[lo:lo + size]
                rows = engine.run_batch(sim, chunk, device)
                _wait(stored, advance)
                stored = writer.submit(_finish, cache, chunk, rows, path, m), chunk.size
            _wait(stored, advance)
    del cache
    return np.load(path, mmap_mode="r")


def _finish(cache: np.ndarray, chunk: np.ndarray, rows: np.ndarray, path: Path,
            m: dict) -> None:
    """Store a finished batch (in the writer thread, while the device runs the next one):
    its rows flushed to disk first, then the manifest that lists it, replaced atomically."""
    _store(cache, chunk, rows, path)
    m["batches"].append({"starts": ranges(chunk), "sha256": rows_hash(rows)})
    m["done"] += int(chunk.size)
    write_manifest(manifest_path(path), m)


def _wait(stored, advance) -> None:
    """Wait for the batch being stored (re-raising its error, a full disk say), then
    count its sequences as done."""
    if stored is not None:
        stored[0].result()
        advance(stored[1])


def _open(path: Path, corpus: str, n: int, dim: int, model, resume: bool):
    """The manifest and the writable memmap of the cache at ``path``: the existing ones
    (checked) when resuming, else new ones (manifest first, so that a run killed while
    creating the file is recognised)."""
    mpath = manifest_path(path)
    dtype = engine.out_dtype(n)
    if resume and mpath.exists():
        m = read_manifest(mpath)
        check_matches(m, path, corpus, n, model)
        if m["dtype"] != dtype.name:
            raise DiversityError(f"cache manifest {mpath} says {m['dtype']}, expected "
                                 f"{dtype.name}")
        if m["batches"] or _looks_whole(path, n, dtype):
            return m, _open_existing(path, n, dtype)
    elif resume and path.exists():
        raise DiversityError(f"{path} exists but has no manifest ({mpath.name}): it is not "
                             f"a diversity cache, or its manifest was lost",
                             hint="use another output path, or build with resume off to "
                                  "replace it")
    if model is None and resume and mpath.exists():
        model = m["model"]
    m = new_manifest(corpus, model, n, dim, dtype)
    write_manifest(mpath, m)
    return m, _create(path, n, dtype)


def _looks_whole(path: Path, n: int, dtype) -> bool:
    try:
        a = np.load(path, mmap_mode="r")
    except (OSError, ValueError):
        return False
    return a.shape == (n, n) and a.dtype == dtype


def _open_existing(path: Path, n: int, dtype) -> np.ndarray:
    try:
        cache = np.load(path, mmap_mode="r+")
    except (OSError, ValueError) as err:
        raise DiversityError(f"cache {path} is damaged or unreadable: {err}",
                             hint="remove it and its manifest, and build again") from None
    if cache.shape != (n, n) or cache.dtype != dtype:
        raise DiversityError(f"cache {path} is {cache.shape} {cache.dtype}, its manifest "
                             f"says {(n, n)} {dtype}: it is damaged")
    return cache


def _create(path: Path, n: int, dtype) -> np.ndarray:
    """A new zero-filled cache file, its space reserved up front (so a full disk is an
    error now, not a crash while writing through the memmap)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        cache = np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=(n, n))
        with open(path, "r+b") as f:
            os.posix_fallocate(f.fileno(), 0, os.fstat(f.fileno()).st_size)
    except OSError as err:
        raise disk_error(path, err) from None
    return cache


def _store(cache: np.ndarray, starts: np.ndarray, rows: np.ndarray, path: Path) -> None:
    """Write ``rows`` into the rows ``starts`` of the memmap and flush them to disk."""
    lo, hi = int(starts[0]), int(starts[-1]) + 1
    try:
        if hi - lo == starts.size:
            cache[lo:hi] = rows
        else:
            cache[starts] = rows
        cache.flush()
    except OSError as err:
        raise disk_error(path, err) from None
