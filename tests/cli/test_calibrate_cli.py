"""``pxos calibrate``: what it measures now, and ``--all`` (issue 14, "Calibration")."""

from __future__ import annotations

from typer.testing import CliRunner

from pxos import extras
from pxos.cli.main import app
from pxos.planner import calibration, probe_source
from pxos.planner.calibration import DeviceFigures, Machine

runner = CliRunner()


def _machine() -> Machine:
    c = DeviceFigures("c", "host CPU", "host", 1e-5, 8e9, 4e9, 1e9, 1e8, 1e8, 0.1)
    return Machine("k" * 16, "a CPU", 2, {"c": c}, {}, seconds=0.5,
                   pending=["opencl", "webgpu"])


def _run(monkeypatch, tmp_path, *args, missing=()):
    """``pxos calibrate`` with ``args``, the Python packages ``missing`` not installed."""
    monkeypatch.setenv("PXOS_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(extras, "installed", lambda module: module not in missing)
    completed = []

    def complete(machine, names=None, progress=None):  # as calibration.complete: what
        completed.append(names)  # lacks its package stays pending
        machine.pending = [n for n in machine.pending if not extras.installed(
            {"opencl": "pyopencl", "webgpu": "wgpu"}[n])]
        return machine
    monkeypatch.setattr(probe_source, "start", lambda: None)  # no compiler run here
    monkeypatch.setattr(calibration, "calibrate",
                        lambda progress=None, early=None: _machine())
    monkeypatch.setattr(calibration, "complete", complete)
    result = runner.invoke(app, ["calibrate", *args])
    assert result.exit_code == 0, result.output
    return result.output, completed


def test_calibrate_leaves_the_deferred_backends_and_says_so(monkeypatch, tmp_path):
    output, completed = _run(monkeypatch, tmp_path)
    assert completed == []
    assert "measured the first time the planner considers it (or now, with --all): " \
           "opencl, webgpu" in output


def test_calibrate_all_measures_the_deferred_backends_now(monkeypatch, tmp_path):
    output, completed = _run(monkeypatch, tmp_path, "--all")
    assert completed == [["opencl", "webgpu"]]  # named: measured even if no auto candidate
    assert "first time" not in output


def test_calibrate_names_the_extra_of_a_backend_not_installed(monkeypatch, tmp_path):
    output, _ = _run(monkeypatch, tmp_path, "--all", missing=("pyopencl",))
    assert "not installed in this Python: opencl (pip install 'pxos[opencl]')" in output
    assert "webgpu" not in output  # measured
