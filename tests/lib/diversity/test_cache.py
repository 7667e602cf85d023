"""The on-disk cache of diversity sequences: contents, resume, refusals, and SIGKILL."""

from __future__ import annotations

import errno
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import pxos.diversity as dv
from pxos.lib.diversity import cache as cache_module
from pxos.lib.diversity.engine import out_dtype, step_kernel
from pxos.lib.diversity import deep
from pxos.testing import for_each_backend

ROOT = Path(__file__).resolve().parents[3]


def _embeddings(n: int, d: int = 8, seed: int = 0) -> np.ndarray:
    a = np.random.default_rng(seed).standard_normal((n, d))
    return a / np.linalg.norm(a, axis=1, keepdims=True)


def _done(out) -> int:
    """Starts the manifest says are done (0 before the first batch)."""
    return _manifest(out)["done"] if Path(str(out) + ".json").exists() else 0


def _manifest(path: Path) -> dict:
    return json.loads(Path(str(path) + ".json").read_text())


def test_the_cache_holds_every_sequence(tmp_path):
    E = _embeddings(70)
    out = tmp_path / "c.npy"
    cache = dv.sequences(E, out=out, batch=16, progress=False, device="c", model="m1")
    assert cache.shape == (70, 70) and cache.dtype == np.uint16
    for s in range(70):
        assert cache[s].tolist() == dv.reference_sequence(E, s).tolist()
    m = _manifest(out)
    assert (m["n"], m["done"], m["model"], m["dtype"]) == (70, 70, "m1", "uint16")
    assert len(m["batches"]) == 5 and m["batches"][0]["starts"] == [[0, 16]]
    assert np.load(out).tobytes() == cache.tobytes()  # a plain .npy, readable without pxos


def test_some_starts_then_the_rest(tmp_path):
    E = _embeddings(40, seed=1)
    out = tmp_path / "c.npy"
    part = dv.sequences(E, [3, 9, 10, 11], out=out, progress=False, device="c")
    assert part[9].tolist() == dv.reference_sequence(E, 9).tolist()
    assert not part[0].any()  # not requested: zeros
    assert _manifest(out)["batches"][0]["starts"] == [[3, 4], [9, 12]]
    whole = dv.sequences(E, out=out, batch=7, progress=False, device="c")
    fresh = dv.sequences(E, out=tmp_path / "f.npy", batch=40, progress=False, device="c")
    assert whole.tobytes() == fresh.tobytes()
    assert _manifest(out)["done"] == 40


def test_a_finished_cache_is_not_recomputed(tmp_path, monkeypatch):
    E = _embeddings(30, seed=2)
    out = tmp_path / "c.npy"
    dv.sequences(E, out=out, progress=False, device="c")
    monkeypatch.setattr(cache_module.engine, "run_batch", None)  # any call would fail
    again = dv.sequences(E, out=out, progress=False, device="c")
    assert again[4].tolist() == dv.reference_sequence(E, 4).tolist()


def test_other_embeddings_or_model_are_refused(tmp_path):
    E = _embeddings(20, seed=3)
    out = tmp_path / "c.npy"
    dv.sequences(E, out=out, progress=False, device="c", model="a")
    with pytest.raises(dv.DiversityError, match="other embeddings"):
        dv.sequences(_embeddings(20, seed=4), out=out, progress=False)
    with pytest.raises(dv.DiversityError, match="holds sequences of 20 items"):
        dv.sequences(_embeddings(21, seed=3), out=out, progress=False)
    with pytest.raises(dv.DiversityError, match="model 'a'"):
        dv.sequences(E, out=out, progress=False, model="b")
    other = _embeddings(20, seed=4)  # resume off: start over
    again = dv.sequences(other, out=out, progress=False, resume=False, device="c")
    assert again[0].tolist() == dv.reference_sequence(other, 0).tolist()


def test_damage_is_found(tmp_path):
    E = _embeddings(20, seed=5)
    out = tmp_path / "c.npy"
    dv.sequences(E, out=out, batch=8, progress=False, device="c")
    raw = bytearray(out.read_bytes())
    raw[-3] ^= 1  # a bit of the last batch
    out.write_bytes(bytes(raw))
    with pytest.raises(dv.DiversityError, match="damaged: the rows of batch 2"):
        dv.sequences(E, out=out, progress=False)
    out.write_bytes(b"not an npy file")
    with pytest.raises(dv.DiversityError, match="damaged or unreadable"):
        dv.sequences(E, out=out, progress=False)
    Path(str(out) + ".json").write_text("{ half")
    with pytest.raises(dv.DiversityError, match="manifest .* is damaged"):
        dv.sequences(E, out=out, progress=False)
    Path(str(out) + ".json").unlink()
    with pytest.raises(dv.DiversityError, match="has no manifest"):
        dv.sequences(E, out=out, progress=False)


def test_a_full_disk_is_a_clear_error(tmp_path, monkeypatch):
    def full(*args):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(cache_module.os, "posix_fallocate", full)
    with pytest.raises(dv.DiversityError, match="no space left"):
        dv.sequences(_embeddings(10), out=tmp_path / "c.npy", progress=False)


def test_progress_is_reported_after_each_stored_batch(tmp_path):
    seen = []
    dv.sequences(_embeddings(30), out=tmp_path / "c.npy", batch=8, device="c",
                 progress=lambda done, total: seen.append((done, total, _done(
                     tmp_path / "c.npy"))))
    # (done, total, the manifest's count when told): the manifest is written first
    assert seen == [(8, 30, 8), (16, 30, 16), (24, 30, 24), (30, 30, 30)]


def test_a_disk_full_in_the_writer_thread_stops_the_run(tmp_path, monkeypatch):
    store = cache_module._store
    calls = []

    def store_twice(cache, starts, rows, path):
        calls.append(int(starts[0]))
        if len(calls) == 2:
            raise dv.DiversityError(f"no space left on the disk for {path}")
        store(cache, starts, rows, path)

    monkeypatch.setattr(cache_module, "_store", store_twice)
    E = _embeddings(30)
    out = tmp_path / "c.npy"
    with pytest.raises(dv.DiversityError, match="no space left"):
        dv.sequences(E, out=out, batch=8, progress=False, device="c")
    assert calls == [0, 8] and _done(out) == 8  # the batch before the failure is kept
    monkeypatch.setattr(cache_module, "_store", store)
    again = dv.sequences(E, out=out, batch=8, progress=False, device="c")
    assert again[29].tolist() == dv.reference_sequence(E, 29).tolist()


@for_each_backend(require=("cuda_memory",))
def test_a_gpu_cache_equals_the_cpu_cache_byte_for_byte(backend, tmp_path):
    # 600 starts in batches of 250, 250, 100: advance_deep (a batch of at least one start
    # per SM, as on an H200's 132) then advance_wide, while the writer thread stores
    E = _embeddings(600, 16, seed=3)
    assert step_kernel(backend, 600, 600)[0] is deep.advance_deep
    gpu = dv.sequences(E, out=tmp_path / "g.npy", batch=250, progress=False, device=backend)
    cpu = dv.sequences(E, out=tmp_path / "c.npy", progress=False, device="c")
    assert gpu.tobytes() == cpu.tobytes()
    assert _manifest(tmp_path / "g.npy")["done"] == 600


def test_large_n_is_stored_as_u32():
    assert out_dtype(65_535) == np.uint16 and out_dtype(65_536) == np.uint32


WORKER = """
import sys, numpy as np, pxos.diversity as dv
a = np.random.default_rng(7).standard_normal((400, 8))
dv.sequences(a, out=sys.argv[1], batch=2, progress=False, device="c")
"""


def test_sigkill_at_random_moments_then_resume_gives_identical_bytes(tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    whole = tmp_path / "whole.npy"
    subprocess.run([sys.executable, "-c", WORKER, str(whole)], env=env, check=True)
    out = tmp_path / "killed.npy"
    rng = random.Random(17)
    kills, mid_run = 0, 0
    while True:
        before = _done(out)
        proc = subprocess.Popen([sys.executable, "-c", WORKER, str(out)], env=env)
        if kills < 6:  # wait until this run has written a batch (however slow the machine
            deadline = time.monotonic() + 120  # is to start it), then kill at a random moment
            while proc.poll() is None and _done(out) <= before and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(rng.uniform(0.0, 0.3))
        if kills < 6 and proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            kills += 1
            if 0 < _done(out) < 400:
                mid_run += 1
            continue
        assert proc.wait() == 0
        break
    assert kills >= 1 and mid_run >= 1  # some kill landed in the middle of a build
    assert out.read_bytes() == whole.read_bytes()
    assert _manifest(out)["done"] == 400
