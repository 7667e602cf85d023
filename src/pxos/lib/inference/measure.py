"""Calibrate a model on this machine: time it on every runtime and device present at a
few batch sizes, then time each length bucket set on real sentences, and keep the figures
with the model (:mod:`pxos.lib.inference.calibration`), where
:func:`pxos.lib.inference.placement.plan` reads them.

1. **Runtimes and batch sizes.** For each device (``cpu``; ``cuda`` where PyTorch sees
   an NVIDIA GPU) and each installed runtime that can run the model there
   (:func:`~pxos.lib.inference.placement.runtimes`), a batch of ``b`` real sentences,
   truncated and padded to the sample's median token length, is run ``repeat`` times
   after one warm-up; the median gives seconds per batch and sentences/s. ``b`` runs over
   :data:`BATCHES` of the device. A runtime that cannot run the precision is skipped,
   and the record says why.
2. **Length buckets.** On the fastest (runtime, device, batch), the whole sample is run
   length-sorted at that batch, padded under each set of
   :data:`pxos.lib.inference.buckets.SETS`; the sets are timed in alternation,
   ``repeat`` rounds after a warm-up round (so every shape has been seen once: the
   figures are for a long run, where each shape's first-call cost is paid once), and the
   set with the smallest median time is chosen.

What is run is what :func:`pxos.embed` runs: the pooled output where the session has one
(PyTorch: pooled on the device), else the model's outputs as NumPy arrays.
"""

from __future__ import annotations

import platform
import statistics
import time
from datetime import datetime, timezone

import numpy as np

from pxos.errors import PxArgumentError
from pxos.lib.inference import buckets, calibration
from pxos.lib.inference.convert import INPUTS
from pxos.lib.inference.embed import tokenize, tokenizer
from pxos.lib.inference.formats import detect, resolve
from pxos.lib.inference.infer import open_session, replan
from pxos.lib.inference.placement import cuda_available, runtimes

BATCHES = {"cpu": (1, 8, 32), "cuda": (1, 32, 256)}


def _folder(path):
    folder = path if path.is_dir() else path.parent
    if not (folder / "tokenizer.json").is_file():
        raise PxArgumentError(f"no tokenizer.json next to {path}: calibration runs real "
                              f"sentences", hint="calibrate the Hugging Face folder, or "
                                                 "keep the tokenizer with the model")
    return str(folder)


def _fixed(ids: list[list[int]], batch: int, seq: int, names) -> dict:
    """(batch, seq) int64 feeds of real ids, cycling through ``ids``, truncated or padded
    to ``seq`` tokens."""
    rows = [ids[i % len(ids)][:seq] for i in range(batch)]
    feeds = buckets.pad(rows, "exact")
    w = feeds["input_ids"].shape[1]
    feeds = {k: np.pad(v, ((0, 0), (0, seq - w))) for k, v in feeds.items()}
    return {k: v for k, v in feeds.items() if k in names}


def _runner(sess):
    if hasattr(sess, "run_pooled"):
        return sess.run_pooled
    return sess.run


def _median_s(fn, repeat: int) -> float:
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _bucket_pass(run, ids, batch, bucket, cap, names):
    def one():
        for rows in buckets.batches([len(i) for i in ids], batch):
            feeds = buckets.pad([ids[r] for r in rows], bucket, cap)
            run({k: v for k, v in feeds.items() if k in names})
    return one


def time_buckets(sess, ids, batch: int, cap: int | None, repeat: int) -> dict:
    """Seconds (median of ``repeat`` alternating rounds, after a warm-up round) to run
    ``ids`` length-sorted at ``batch`` under each bucket set, the padded tokens of each,
    and the fastest set: ``{"batch", "seconds", "tokens", "choice"}``."""
    run, names = _runner(sess), set(sess.inputs)
    passes = {b: _bucket_pass(run, ids, batch, b, cap, names) for b in buckets.SETS}
    times: dict = {b: [] for b in buckets.SETS}
    for round_ in range(repeat + 1):
        for b, fn in passes.items():
            t0 = time.perf_counter()
            fn()
            if round_:
                times[b].append(time.perf_counter() - t0)
    secs = {b: statistics.median(t) for b, t in times.items()}
    lengths = [len(i) for i in ids]
    return {"batch": batch, "seconds": secs, "choice": min(secs, key=secs.get),
            "tokens": {b: buckets.padded_tokens(lengths, batch, b, cap) for b in buckets.SETS}}


def _sample(folder: str, texts) -> list[list[int]]:
    if texts is None:
        from pxos.lib.inference.sentences import verses
        texts = verses(128, step=97)
    texts = [t for t in texts if isinstance(t, str) and t.strip()]
    if not texts:
        raise PxArgumentError("calibration needs at least one non-empty sentence")
    return tokenize(folder, texts)


def calibrate(model, precision: str = "auto", *, texts=None, repeat: int = 3,
              batches: dict | None = None, devices=None, progress=None) -> dict:
    """Measure ``model`` (a Hugging Face folder, or an IR / ONNX file with the tokenizer
    beside it) on every runtime and device present, store the record and return it.

    ``texts``: the real sentences to time (default: 128 verses of the World English Bible,
    every 97th). ``batches``: device → batch sizes (default :data:`BATCHES`).
    ``devices``: the devices to try (default ``cpu``, plus ``cuda`` if present).
    ``progress(line)`` gets one line per figure. Raises PxArgumentError (no tokenizer, no
    sentence, no runtime could run the model) and the errors of loading the model."""
    fmt, path = detect(resolve(model))
    folder = _folder(path)
    ids = _sample(folder, texts)
    cap = (tokenizer(folder).truncation or {}).get("max_length")
    seq = max(8, int(np.median([len(i) for i in ids])))
    batches = batches or BATCHES
    devices = devices or (["cpu", "cuda"] if cuda_available() else ["cpu"])
    runs, skipped, sessions = [], {}, {}
    for device in devices:
        for rt in runtimes(fmt, device):
            try:
                sess = open_session(path, fmt, rt, device, precision)
            except PxArgumentError as e:
                skipped[f"{rt}/{device}"] = e.message
                continue
            if not set(sess.inputs) <= set(INPUTS):
                raise PxArgumentError(f"calibration runs encoders with inputs {INPUTS}; "
                                      f"{path} takes {sorted(sess.inputs)}")
            sessions[(rt, device)] = sess
            for b in batches[device]:
                feeds = _fixed(ids, b, seq, sess.inputs)
                run = _runner(sess)
                s = _median_s(lambda: run(feeds), repeat)
                runs.append({"runtime": rt, "device": device, "batch": b, "seconds": s,
                             "sentences_per_s": b / s})
                if progress:
                    progress(f"{rt} on {device}, batch {b}: {b / s:.1f} sentences/s")
    if not runs:
        raise PxArgumentError(f"no runtime could run {path} at precision {precision!r}",
                              hint="; ".join(f"{k}: {v}" for k, v in skipped.items()))
    record = {"model": str(path), "format": fmt, "precision": precision,
              "machine": platform.node(), "sequence": seq, "sentences": len(ids),
              "when": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
              "runs": runs, "skipped": skipped}
    top = calibration.best_runs(record)[0]
    sess = sessions[(top["runtime"], top["device"])]
    where = f"{top['runtime']}/{top['device']}"
    record["buckets"] = {where: time_buckets(sess, ids, top["batch"], cap, repeat)}
    if progress:
        progress(f"length buckets on {where}: {record['buckets'][where]['choice']}")
    calibration.save(path, precision, record)
    replan()
    return record


__all__ = ["BATCHES", "calibrate", "time_buckets"]
