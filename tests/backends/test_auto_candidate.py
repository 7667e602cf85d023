"""``--device auto`` never picks a backend whose ``auto_candidate`` is False (a WebGPU
adapter that is a CPU, Mesa's lavapipe), and it stays available when named."""

from __future__ import annotations

import numpy as np
import pytest

from pxos import backends
from pxos.errors import PxBackendError
from pxos.planner.call import call_devices


class _Fake:
    def __init__(self, auto: bool):
        self.auto_candidate = auto


def test_auto_candidates_leave_out_a_backend_that_is_no_candidate(monkeypatch):
    fakes = {"c": _Fake(True), "opencl": _Fake(True), "webgpu": _Fake(False)}

    def get(name):
        if name == "cuda":
            raise PxBackendError("no GPU")
        return fakes[name]

    monkeypatch.setattr(backends, "get", get)
    assert backends.auto_candidates(["c", "webgpu", "opencl", "cuda"]) == \
        ["c", "opencl", "cuda"]


def _cpu_adapter():
    try:
        backend = backends.get("webgpu")
    except PxBackendError:
        pytest.skip("no webgpu backend here")
    if backend.on_gpu:
        pytest.skip("the WebGPU adapter here is a GPU")
    return backend


def test_a_cpu_webgpu_adapter_is_no_auto_candidate_but_runs_when_named():
    backend = _cpu_adapter()
    assert backend.auto_candidate is False

    class Machine:
        devices = ["c", "interp", "webgpu"]

        def present(self):
            return self.devices

    assert "webgpu" not in call_devices(Machine())
    import pxos

    @pxos.kernel
    def saxpy(a, x, y, out):
        for i in pxos.parallel(len(out)):
            out[i] = a * x[i] + y[i]

    x, y = np.arange(1000, dtype=np.float32), np.ones(1000, np.float32)
    for device in ("auto", "webgpu"):
        out = np.zeros_like(x)
        saxpy(np.float32(2), x, y, out, device=device)
        np.testing.assert_allclose(out, 2 * x + y)
        if device == "auto":
            assert saxpy.decision is None or saxpy.decision.device != "webgpu"
