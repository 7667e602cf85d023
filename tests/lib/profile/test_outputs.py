"""``with pxos.profile()``: the four files, checked against their formats and against
what the test itself ran, on every backend."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

import pxos
from tests.lib.profile.kernels import saxpy
from tests.lib.profile.trace_schema import SPEEDSCOPE, TRACE

jsonschema = pytest.importorskip("jsonschema")  # the test extra has it

CALLS = 20


def _profiled(tmp_path, backend):
    x = np.linspace(0, 1, 50_000, dtype=np.float32)
    out = np.empty_like(x)
    t0 = time.perf_counter()
    with pxos.profile(out=tmp_path / "prof") as p:
        for _ in range(CALLS):
            saxpy(np.float32(3.0), x, x, out, device=backend)
    wall = time.perf_counter() - t0
    np.testing.assert_allclose(out, 4.0 * x, rtol=1e-6)
    return p, wall


def test_files_follow_their_formats(tmp_path, backend):
    p, wall = _profiled(tmp_path, backend)
    folder = tmp_path / "prof"
    assert sorted(f.name for f in folder.iterdir()) == [
        "flame.speedscope.json", "profile.json", "report.html", "trace.json"]
    trace = json.loads((folder / "trace.json").read_text())
    jsonschema.validate(trace, TRACE)
    kernels = [e for e in trace["traceEvents"] if e["ph"] == "X" and e.get("cat") == "launch"]
    assert len(kernels) == CALLS and {e["name"] for e in kernels} == {"saxpy"}
    assert all(0 <= e["ts"] and e["ts"] + e["dur"] <= wall * 1e6 for e in kernels)
    starts = [e["ts"] for e in kernels]
    assert starts == sorted(starts)  # one after the other, as launched
    names = {e["args"]["name"] for e in trace["traceEvents"] if e["ph"] == "M"}
    assert f"kernels on {backend}" in names
    flame = json.loads((folder / "flame.speedscope.json").read_text())
    jsonschema.validate(flame, SPEEDSCOPE)
    prof = flame["profiles"][0]
    assert len(prof["samples"]) == len(prof["weights"]) == len(p.sampler.samples)
    assert sum(prof["weights"]) <= wall  # weights are measured intervals within the run


def test_summary_counts_what_ran(tmp_path, backend):
    p, wall = _profiled(tmp_path, backend)
    summary = json.loads((tmp_path / "prof" / "profile.json").read_text())
    (k,) = [k for k in summary["kernels"] if k["kind"] == "launch"]
    assert (k["name"], k["device"], k["launches"]) == ("saxpy", backend, CALLS)
    times = np.array(k["times_s"])  # the timed launches' (on c, short ones: in part)
    assert 2 <= len(times) == k["timed"] <= CALLS and (times > 0).all()
    assert abs(k["total_s"] - times.sum() - times.mean() * (CALLS - len(times))) < 1e-9
    assert abs(k["p95_s"] - np.percentile(times, 95)) < 1e-12
    assert times.sum() <= wall
    # bytes from the cost features: x read twice (one array: once from memory), out
    # written; never less than the arrays' own bytes, never more than three of them
    assert 2 * 50_000 * 4 <= k["bytes"] <= 3 * 50_000 * 4
    assert summary["wall_s"] <= wall and summary["samples"] == len(p.sampler.samples)
    html = (tmp_path / "prof" / "report.html").read_text()
    assert "saxpy" in html and "<svg" in html and "<script" not in html


def test_no_folder_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pxos.profile(out=None) as p:
        pass
    assert list(tmp_path.iterdir()) == [] and p.files == []


def test_leaked_pxos_array_is_named(tmp_path):
    x = np.ones(4096, np.float32)
    with pxos.profile(out=None) as p:
        global kept
        kept = pxos.asarray(x)
        temporary = pxos.asarray(x)  # noqa: F841  (alive at exit too: a local)
        del temporary
    leaks = {tuple(names): nbytes for names, nbytes, _ in p.memory.leaks}
    assert leaks.get(("kept",)) == x.nbytes
    assert len(leaks) == 1


def test_memory_option_traces_allocations_by_line(tmp_path):
    import inspect

    with pxos.profile(out=None, memory=True) as p:
        line = inspect.currentframe().f_lineno + 1
        big = np.ones(2_000_000, np.uint8).copy()  # noqa: F841
    lines = {(f, n): b for f, n, b, _ in p.memory.lines}
    assert lines.get((__file__, line), 0) >= 2_000_000
    assert p.memory.host_peak > 2_000_000
