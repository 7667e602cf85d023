"""``pxos explain``, ``pxos run --explain`` and ``pxos calibrate`` on this machine (its
real calibration, made once per test session in the session's private cache)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from typer.testing import CliRunner

from pxos.cli.main import app
from pxos.ir.check_host import check_program
from pxos.lang.px.parser import parse_file
from pxos.planner.decision import Decision

from tests.conftest import EXAMPLES

runner = CliRunner()
NAMES = ["saxpy", "edges", "reduce", "histogram", "mandelbrot"]
PLACEABLE = ("RUN", "REDUCE", "SORT")


@pytest.fixture(scope="module")
def examples(tmp_path_factory):
    folder = tmp_path_factory.mktemp("examples")
    for name in NAMES:
        shutil.copy(EXAMPLES / f"{name}.px", folder)
    shutil.copytree(EXAMPLES / "data", folder / "data")
    return folder


def _json(args):
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    start = result.output.index("{")  # after PRINT output; before "wrote …" lines
    return json.JSONDecoder().raw_decode(result.output[start:])[0]


@pytest.mark.parametrize("name", NAMES)
def test_explain_json_of_every_example(examples, name):
    program = check_program(parse_file(examples / f"{name}.px"))
    plan = _json(["explain", str(examples / f"{name}.px"), "--json"])
    rows = plan["statements"]
    assert [r["line"] for r in rows] == [s.span.line for s in program.statements]
    assert set(plan["machine"]["devices"]) >= {"c"}
    for row, stmt in zip(rows, program.statements):
        text = program.source.splitlines()[stmt.span.line - 1].strip()
        assert row["statement"] == text
        assert row["reason"]
        if text.startswith(PLACEABLE):
            assert row["device"] in row["predicted_s"]
            fastest = min(row["predicted_s"].values())
            assert row["predicted_s"][row["device"]] == pytest.approx(fastest) or \
                "stays where the next statements need it" in row["reason"]
            for device, est in row["estimates"].items():
                parts = est["copies_s"] + est["launch_s"] + est["compile_s"] + est["work_s"]
                assert est["seconds"] == pytest.approx(parts)
                assert row["predicted_s"][device] == pytest.approx(est["seconds"])
        else:
            assert row["device"] == "host"
        if text.startswith("RUN"):
            f = row["features"]
            assert f["threads"] > 0 and f["memory_bytes"] > 0 and f["accesses"]
        assert row["measured_s"] is None


def test_explain_text_and_code(examples):
    result = runner.invoke(app, ["explain", str(examples / "saxpy.px"), "--code"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "RUN saxpy 2.5 x y out" in out and "predicted:" in out and "features:" in out
    assert any(s in out for s in ("void ", "__global__", "__kernel", "@compute"))  # its code


def test_run_explain_measures_and_reports_errors(examples):
    plan = _json(["run", str(examples / "reduce.px"), "--explain", "--json"])
    rows = {r["statement"].split()[0] + str(r["line"]): r for r in plan["statements"]}
    placed = [r for r in plan["statements"] if r["statement"].startswith(PLACEABLE)]
    assert len(placed) == 3
    for r in placed:
        assert r["measured_s"] > 0
        pred = r["predicted_s"][r["device"]]
        assert r["error"] == pytest.approx((pred - r["measured_s"]) / r["measured_s"])
    assert all(r["measured_s"] is not None for r in rows.values())
    data = np.load(examples / "out" / "partial_sums.npy")
    assert data.shape == (3907,)


def test_calibrate_stores_figures_that_are_reloaded(tmp_path, monkeypatch):
    from pxos.planner import calibration

    monkeypatch.setenv("PXOS_CACHE_DIR", str(tmp_path))
    calibration._loaded.clear()
    result = runner.invoke(app, ["calibrate", "--json"])
    assert result.exit_code == 0, result.output
    figures = json.JSONDecoder().raw_decode(result.output[result.output.index("{"):])[0]
    c = figures["devices"]["c"]
    assert 0 < c["launch_s"] < 0.01 and c["bandwidth"] > 1e8 and c["ops_rate"] > 1e7
    assert figures["seconds"] < 10
    calibration._loaded.clear()

    def no_second_calibration(*a, **k):
        raise AssertionError("calibrated again")
    monkeypatch.setattr(calibration, "calibrate", no_second_calibration)
    again = calibration.machine()
    assert again.key == figures["key"] and again.devices["c"].launch_s == c["launch_s"]


def test_cpu_opencl_is_calibrated_when_first_a_candidate(tmp_path, monkeypatch):
    from pxos import backends
    from pxos.ir.check_host import check_program
    from pxos.lang.px.parser import parse_file
    from pxos.planner import calibration
    from pxos.planner.program import Planner
    from pxos.planner.probes import is_gpu_backend

    if "opencl" not in backends.available() or is_gpu_backend("opencl",
                                                             backends.get("opencl")):
        pytest.skip("needs OpenCL on a CPU (PoCL), which calibration leaves for later")
    monkeypatch.setenv("PXOS_CACHE_DIR", str(tmp_path))
    calibration._loaded.clear()
    found = calibration.calibrate()
    deferred = list(found.pending)  # PoCL's OpenCL (and lavapipe's webgpu): CPU devices
    assert "opencl" in deferred and set(deferred) <= {"opencl", "webgpu"}
    assert set(found.devices) == {"c"} and set(found.library) == {"host"}
    program = check_program(parse_file(EXAMPLES / "saxpy.px"))
    Planner(program, "c", found)  # pinned to c: OpenCL is no candidate
    assert found.pending == deferred
    planner = Planner(program, "auto", found)  # now it is
    assert found.devices["opencl"].bandwidth > 1e6 and "opencl" in planner.kernel_devices
    # a CPU WebGPU adapter (lavapipe) is no auto candidate: left for when it is named
    left = ["webgpu"] if "webgpu" in backends.available() else []
    assert found.pending == left and found.named_only == left
    assert "webgpu" not in found.devices
    calibration._loaded.clear()
    again = calibration.machine(auto=False)  # stored
    assert set(again.devices) == {"c", "opencl"} and again.named_only == left


def test_run_json_implies_explain(examples):
    # before: --json without --explain printed nothing of the plan
    plan = _json(["run", str(examples / "reduce.px"), "--json"])
    placed = [r for r in plan["statements"] if r["statement"].startswith(PLACEABLE)]
    assert len(placed) == 3 and all(r["measured_s"] > 0 for r in placed)


def test_decision_repr_reads_like_explain():
    # before: a dataclass dump, Decision(line=12, statement=…, estimates={…}, features={…} …)
    d = Decision(12, "RUN scale a b", "c", {"c": 1.2e-3, "cuda": 3.4e-3},
                 reason="c: the fastest predicted")
    assert repr(d) == ("<Decision line 12 `RUN scale a b` on c\n"
                       "  predicted: c 1.20 ms · cuda 3.40 ms\n"
                       "  → c: the fastest predicted>")
    d.measured = 1e-3
    assert repr(d).endswith("\n  → c: the fastest predicted\n"
                            "  measured: 1.00 ms on c (prediction error +20%)>")
    host = Decision(0, "SORT", "host", reason="host: NumPy")
    assert repr(host) == "<Decision `SORT` on host\n  → host: NumPy>"


def test_a_split_shows_the_code_of_both_parts(examples):
    from pxos.ir.check_host import check_program
    from pxos.lang.px.parser import parse_file
    from pxos.planner.decision import Decision
    from pxos.planner.explain import generated_code

    program = check_program(parse_file(examples / "saxpy.px"))
    line = next(n for n, text in enumerate((examples / "saxpy.px").read_text().splitlines(), 1)
                if text.startswith("RUN saxpy"))
    code = generated_code(program, [Decision(line, "RUN saxpy 2.5 x y out", "c+opencl")])
    assert "#pragma omp" in code[line] and "__kernel" in code[line]
