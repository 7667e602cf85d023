"""Placement of ENCRYPT and HASH under `--device auto` (`host/pipeline/placement`): the CPU
library's measured rate against the planner's prediction for the kernel with its copies, on
a machine of round figures (tests/planner/conftest.py: a GPU whose copies run at 10 GB/s)."""

from __future__ import annotations

import pytest

from pxos.errors import PxBackendError
from pxos.host.pipeline import placement
from tests.planner.conftest import make_machine

pytest.importorskip("cryptography")
NBYTES = 64_000_000


@pytest.fixture
def figures(monkeypatch):
    """Install a machine (or none) and a CPU-library rate (bytes/s)."""
    def install(machine, rate: float):
        def stored(auto=True):
            if machine is None:
                raise PxBackendError("this machine is not calibrated")
            return machine
        monkeypatch.setattr("pxos.planner.calibration.machine", stored)
        monkeypatch.setattr(placement, "_rates", {"aes256ctr": rate, "sha256": rate})
    return install


def test_a_cpu_faster_than_pcie_keeps_host_data_on_the_host(figures):
    figures(make_machine(gpu=True), 20e9)  # 3.2 ms, vs 2 × 6.4 ms of copies at 10 GB/s
    d = placement.place("aes256ctr", NBYTES, ["c", "cuda"], 4, "ENCRYPT …")
    assert d.device == "host"
    assert d.predicted["host"] == pytest.approx(NBYTES / 20e9)
    assert d.estimates["cuda"].copies_s >= 2 * NBYTES / 10e9
    assert "data on the host stays on the host: this CPU beats PCIe" in d.reason
    assert "cuda" in d.reason


def test_a_slow_cpu_library_loses_to_the_gpu_kernel(figures):
    figures(make_machine(gpu=True), 0.1e9)  # 640 ms on the CPU; the copies take 12.8 ms
    d = placement.place("aes256ctr", NBYTES, ["c", "cuda"], 4, "ENCRYPT …")
    assert d.device == "cuda"
    assert d.predicted["cuda"] < d.predicted["host"] == pytest.approx(NBYTES / 0.1e9)
    assert d.reason.startswith("cuda: the pxos kernel")


def test_without_a_gpu_the_library_beats_the_c_kernel_by_the_model(figures):
    figures(make_machine(gpu=False), 5e9)
    d = placement.place("sha256", NBYTES, ["c"], 5, "HASH …")
    assert d.device == "host" and set(d.predicted) == {"host", "c"}
    assert "beats the kernels (c " in d.reason


def test_an_uncalibrated_machine_keeps_the_libraries_and_says_why(figures):
    figures(None, 5e9)
    d = placement.place("aes256ctr", NBYTES, ["c"], 4, "ENCRYPT …")
    assert d.device == "host" and set(d.predicted) == {"host"}
    assert "not calibrated" in d.reason and "pxos calibrate" in d.reason


def test_the_measured_host_rate_is_a_real_rate():
    placement._rates.pop("sha256", None)
    rate = placement.host_rate("sha256")
    assert 1e7 < rate < 1e11  # hashlib: tens of MB/s (a busy VM) to tens of GB/s
