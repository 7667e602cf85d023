"""A machine with fixed, round figures, so the planner's decisions can be checked by hand."""

from __future__ import annotations

import pytest

from pxos.planner.calibration import DeviceFigures, LibraryFigures, Machine
from pxos.planner.history import History


def figures(backend, memory, gpu, launch_s, bandwidth, ops_rate, upload=None):
    return DeviceFigures(backend, f"{backend} device", memory, launch_s, bandwidth, ops_rate,
                         ops_rate / (1000 if gpu else 8), ops_rate / 10, ops_rate / 100, 0.1,
                         vector_rate=ops_rate, gpu=gpu, upload=upload, download=upload)


def make_machine(gpu: bool = True) -> Machine:
    """c: 10 µs launch, 20 GB/s, 1e10 ops/s; a GPU (``cuda``): 10 µs launch, 2 TB/s,
    1e13 ops/s, copies at 10 GB/s; REDUCE/SORT on both; a split that paid 1.5×, predicted
    within 10 %, with no fixed cost of its own."""
    devices = {"c": figures("c", "host", False, 10e-6, 20e9, 1e10)}
    library = {"host": LibraryFigures("host", 2e-6, 10e9, 1e8, 2e-6)}
    if gpu:
        devices["cuda"] = figures("cuda", "cuda", True, 10e-6, 2e12, 1e13, upload=10e9)
        library["cuda"] = LibraryFigures("cuda", 20e-6, 1e12, 1e10, 50e-6)
    return Machine("test-machine-" + ("gpu" if gpu else "cpu"), "test CPU", 8, devices,
                   library, hybrid={"c+cuda": 1.5} if gpu else {},
                   hybrid_overhead={"c+cuda": 0.0} if gpu else {},
                   hybrid_error={"c+cuda": 0.1} if gpu else {})


@pytest.fixture
def machine() -> Machine:
    return make_machine(True)


@pytest.fixture
def history(tmp_path) -> History:
    return History(tmp_path / "history.json")
