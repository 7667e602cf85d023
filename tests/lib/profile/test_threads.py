"""``all_threads``: every Python thread's stack is sampled, each on a track of its own."""

from __future__ import annotations

import inspect
import json
import threading
import time

import pytest

import pxos
from tests.lib.profile.trace_schema import SPEEDSCOPE, TRACE

jsonschema = pytest.importorskip("jsonschema")  # the test extra has it

BUSY_S = 0.4


def _spin(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end: pass  # noqa: E701  (the worker's line)


SPIN_LINE = _spin.__code__.co_firstlineno + inspect.getsource(_spin).splitlines().index(
    "    while time.perf_counter() < end: pass  # noqa: E701  (the worker's line)")


def _worker_run(all_threads: bool, out=None):
    with pxos.profile(out=out, all_threads=all_threads) as p:
        worker = threading.Thread(target=_spin, args=(BUSY_S,), name="spinner")
        t = time.perf_counter()
        worker.start()
        worker.join()
        took = time.perf_counter() - t
    return p, took


def test_every_thread_is_sampled_on_its_own_track(tmp_path):
    p, took = _worker_run(True, tmp_path / "prof")
    spinner = [(w, s) for _, w, s in p.sampler.samples if s and s[0][2] == "thread spinner"]
    assert spinner, "no sample of the worker thread"
    on_line = sum(w for w, s in spinner if (s[-1][0], s[-1][1]) == (__file__, SPIN_LINE))
    # the worker's samples tile the profile; it spun for `took` of it (±30 %: a shared CPU)
    assert 0.7 * took <= on_line <= p.wall_s + 0.01, (on_line, took, p.wall_s)
    main = [s for _, _, s in p.sampler.samples if not s or s[0][2] != "thread spinner"]
    assert main and not any((f[0], f[1]) == (__file__, SPIN_LINE) for s in main for f in s)
    trace = json.loads((tmp_path / "prof" / "trace.json").read_text())
    jsonschema.validate(trace, TRACE)
    names = {e["args"]["name"]: e.get("tid") for e in trace["traceEvents"]
             if e["ph"] == "M" and e["name"] == "thread_name"}
    tid = names["host thread spinner (sampled Python stack)"]
    assert any(e["ph"] == "X" and e["tid"] == tid and e["name"].startswith("_spin")
               for e in trace["traceEvents"])
    jsonschema.validate(json.loads((tmp_path / "prof" / "flame.speedscope.json")
                                   .read_text()), SPEEDSCOPE)


def test_by_default_only_the_profiled_thread_is_sampled():
    p, _ = _worker_run(False)
    assert p.sampler.samples
    assert not any(f[2].startswith("thread ") or (f[0], f[1]) == (__file__, SPIN_LINE)
                   for _, _, s in p.sampler.samples for f in s)
