"""Calibration loads the ``device`` backends (OpenCL, WebGPU) only when the planner first
considers them, and never measures one that is no ``--device auto`` candidate under auto
(issue 14, "Calibration")."""

from __future__ import annotations

import pytest

import pxos
from pxos import backends, extras, registry
from pxos.errors import PxBackendError
from pxos.planner import calibration

from tests.planner.conftest import make_machine

DEVICE = [n for n in registry.names() if registry.entry(n).kind == "device"]


def test_identity_and_calibrate_load_no_device_backend(tmp_path, monkeypatch):
    loaded = []
    real_get = backends.get

    def get(name):
        loaded.append(name)
        return real_get(name)
    monkeypatch.setattr(backends, "get", get)
    monkeypatch.setenv("PXOS_CACHE_DIR", str(tmp_path))
    calibration._loaded.clear()
    ident = calibration.identity()
    assert not set(ident) & set(DEVICE) and "c" in ident
    found = calibration.calibrate(ident)
    assert not set(loaded) & set(DEVICE)
    assert set(DEVICE) <= set(found.pending) and not set(found.devices) & set(DEVICE)
    assert found.devices["c"].compile_s > 0  # timed on the probe builds
    calibration._loaded.clear()


class _Fake:
    def __init__(self, auto_candidate):
        self.auto_candidate = auto_candidate
        self.identity = "fake device"


@pytest.mark.parametrize("cpu_adapter", [True, False])
def test_complete_under_auto_skips_non_candidates_and_drops_absent(tmp_path, monkeypatch,
                                                                   cpu_adapter):
    monkeypatch.setenv("PXOS_CACHE_DIR", str(tmp_path))
    found = make_machine(gpu=False)
    found.pending = ["opencl", "webgpu"]

    def get(name):
        if name == "opencl":
            raise PxBackendError("no OpenCL here")
        return _Fake(auto_candidate=not cpu_adapter)
    measured = []
    monkeypatch.setattr(backends, "get", get)
    monkeypatch.setattr(backends, "installed", lambda name: True)  # packages: as with CI's
    monkeypatch.setattr(calibration, "_measure",
                        lambda m, todo, t0, progress, pending: measured.append(todo) or m)
    calibration.complete(found)
    if cpu_adapter:  # lavapipe: kept for when it is named, not measured
        assert measured == [] and found.pending == ["webgpu"]
        assert found.named_only == ["webgpu"]
        calibration.complete(found)  # a later auto plan loads nothing more
        assert measured == [] and found.pending == ["webgpu"]
        stored = calibration.Machine.from_json(
            calibration.calibration_path(found.key).read_text())
        assert stored.named_only == ["webgpu"] and stored.pending == ["webgpu"]
        calibration.complete(found, ["webgpu"])  # named: measured
        assert measured == [["webgpu"]]
    else:
        assert measured == [["webgpu"]] and found.named_only == []
    assert "opencl" not in found.pending  # absent: dropped


def _scale(a: pxos.f32, x: pxos.Array[pxos.f32, 1], out: pxos.Array[pxos.f32, 1]):
    for i in pxos.parallel(len(x)):
        out[i] = a * x[i]


def test_a_kernel_calls_placement_measures_no_library(tmp_path, monkeypatch):
    """CuPy's REDUCE/SORT (its CUB reductions compile for seconds) wait for their first
    use: a Python kernel call's placement measures the backends it may run on only."""
    import numpy as np

    from pxos.host.pykernel import Kernel
    from pxos.planner.call import place_call

    monkeypatch.setenv("PXOS_CACHE_DIR", str(tmp_path))
    found = make_machine(gpu=False)
    found.pending = [calibration.CUDA_LIBRARY]
    measured = []
    monkeypatch.setattr(calibration, "_measure",
                        lambda m, todo, t0, progress, pending: measured.append(todo) or m)
    args = (np.float32(2), np.ones(8, np.float32), np.zeros(8, np.float32))
    kernel = Kernel(_scale).ir(*args)
    place_call(kernel, args, (8,), [None, "host", "host"], found)
    assert measured == [] and found.pending == [calibration.CUDA_LIBRARY]
    calibration.complete(found)  # a program's auto plan: everything pending
    assert measured == [[calibration.CUDA_LIBRARY]]


def test_history_is_written_without_fsync_and_outputs_with_it(tmp_path, monkeypatch):
    # the planner's history is a cache, saved after every run of a program: syncing it
    # cost 10-30 ms a run; a user's output keeps its fsync (file and folder)
    import os

    from pxos.atomic_write import write_atomic
    from pxos.planner.history import History

    synced = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(fd) or real(fd))
    history = History(tmp_path / "history.json")
    history.record("k", "c", 1000, 1.0, 2.0)
    history.save()
    assert synced == [] and History(tmp_path / "history.json").data == history.data
    write_atomic(tmp_path / "out.bin", b"result")
    assert len(synced) == 2 and (tmp_path / "out.bin").read_bytes() == b"result"


def test_a_backend_another_environment_measured_is_no_candidate_here(tmp_path, monkeypatch):
    """One calibration file serves every Python environment of a machine: one with
    PyOpenCL measured ``opencl``; a fresh virtual environment without it (a newcomer's
    ``pip install -e .``) must not place a launch there (``pxos demo`` failed with "the
    opencl backend needs PyOpenCL"), nor forget the figures for the other environment."""
    import json

    import numpy as np

    from pxos.backends.cache import cache_key
    from pxos.planner.call import call_devices
    from tests.planner.conftest import figures

    monkeypatch.setenv("PXOS_CACHE_DIR", str(tmp_path))
    calibration._loaded.clear()
    key = cache_key(json.dumps(calibration.identity(), sort_keys=True))
    stored = make_machine(gpu=False)
    stored.key = key
    stored.devices["opencl"] = figures("opencl", "opencl", False, 1e-6, 1e12, 1e14, 1e12)
    stored.pending = ["webgpu"]
    path = calibration.calibration_path(key)
    path.parent.mkdir(parents=True)
    path.write_text(stored.to_json())
    real = extras.installed
    monkeypatch.setattr(extras, "installed",
                        lambda module: module not in ("pyopencl", "wgpu") and real(module))
    measured = []
    monkeypatch.setattr(calibration, "_measure",
                        lambda m, todo, t0, progress, pending: measured.append(todo) or m)
    try:
        found = calibration.machine(auto=False)
        assert found.absent == ["opencl"] and found.present() == ["c"]
        assert "opencl" not in call_devices(found)
        calibration.complete(found)  # wgpu missing here: webgpu stays pending, unmeasured
        assert measured == [] and found.pending == ["webgpu"]
        args = (np.float32(2), np.arange(1 << 16, dtype=np.float32))
        out = np.zeros_like(args[1])
        scale = pxos.kernel(_scale)
        scale(*args, out)  # opencl's stored figures are 10^4 times c's: it would win
        assert scale.decision.device == "c" and np.array_equal(out, 2 * args[1])
        again = calibration.Machine.from_json(path.read_text())
        assert "opencl" in again.devices and again.pending == ["webgpu"]
        assert "absent" not in json.loads(path.read_text())
    finally:
        calibration._loaded.clear()
