"""The cost model on a machine with round figures (tests/planner/conftest.py)."""

from __future__ import annotations

import numpy as np
import pytest

from pxos.ir.analysis.features import launch_work
from pxos.planner.history import History
from pxos.planner.model import Copies, predict_launch, predict_library

from tests.planner.test_analysis import _example_kernels


def saxpy_work(n):
    k = _example_kernels("saxpy")["saxpy"]
    x = np.zeros(n, np.float32)
    return launch_work(k, {"a": np.float32(1), "x": x, "y": x, "out": x}, (n,))


def test_memory_bound_launch_is_bytes_over_bandwidth(machine):
    work = saxpy_work(10**7)
    est = predict_launch(machine, "cuda", work, Copies(), compiled=True)
    assert est.bound == "memory"
    assert est.seconds == pytest.approx(10e-6 + 12e7 / 2e12)
    cpu = predict_launch(machine, "c", work, Copies(), compiled=True)
    assert cpu.seconds == pytest.approx(10e-6 + 12e7 / 20e9)


def test_copies_compile_and_correction(machine):
    work = saxpy_work(10**6)
    copies = Copies(up=2, up_bytes=8 * 10**6, down=1, down_bytes=4 * 10**6, memory="cuda")
    est = predict_launch(machine, "cuda", work, copies, compiled=False, correction=3.0)
    assert est.copies_s == pytest.approx(12e6 / 10e9 + 3 * 10e-6)
    assert est.compile_s == 0.1
    assert est.work_s == pytest.approx(3 * 12e6 / 2e12)
    assert est.seconds == pytest.approx(est.copies_s + est.launch_s + est.compile_s
                                        + est.work_s)


def test_small_launch_is_bound_by_one_thread(machine):
    k = _example_kernels("mandelbrot")["mandelbrot"]
    image = np.zeros((1, 1), np.uint8)
    work = launch_work(k, {"image": image, "max_iter": np.int32(10**6)}, (1, 1))
    est = predict_launch(machine, "cuda", work, Copies(), compiled=True)
    per_thread = work.per_thread.ops + work.per_thread.stores
    assert est.compute_s == pytest.approx(per_thread / (1e13 / 1000))


def test_library_sort_is_n_log_n_on_the_host_and_linear_on_the_gpu(machine):
    n = 2**20
    host = predict_library(machine, "host", "sort", n, 4 * n, Copies())
    gpu = predict_library(machine, "cuda", "sort", n, 4 * n, Copies())
    assert host.work_s == pytest.approx(n * 20 / 1e8)
    assert gpu.work_s == pytest.approx(n / 1e10)
    assert host.launch_s == 2e-6 and gpu.launch_s == 50e-6


def test_history_learns_the_median_and_ignores_noise(tmp_path):
    h = History(tmp_path / "h.json")
    assert h.correction("k", "c", 1000) == 1.0
    for ratio in (2.0, 3.0, 4.0):
        h.record("k", "c", 1000, 1.0, ratio)
    assert h.record("k", "c", 1000, 1.0, 500.0) is None  # a disturbed run
    assert h.record("k", "c", 1000, 0.1, 1.0, predicted_total=1.0) is None  # mostly overhead
    # the median of 1 (the model), 2, 3 and 4, on a log scale: √(2·3)
    assert h.correction("k", "c", 2000) == pytest.approx(6 ** 0.5)
    # the first ratio is written at once, the next ones within SAVE_INTERVAL at save()
    assert History(tmp_path / "h.json").correction("k", "c", 1000) == pytest.approx(2 ** 0.5)
    h.save()
    assert History(tmp_path / "h.json").correction("k", "c", 1000) == pytest.approx(6 ** 0.5)
    assert h.correction("k", "c", 10) == 1.0  # nothing within 10× or below: the model alone
    assert h.correction("k", "cuda", 1000) == 1.0
    # 1000× larger: slower than predicted at smaller sizes is taken to hold
    assert h.correction("k", "c", 10**6) == pytest.approx(6 ** 0.5)


def test_only_a_slowdown_carries_to_larger_sizes(tmp_path):
    h = History(tmp_path / "h.json")
    for threads, ratio in ((10**4, 4.0), (10**6, 0.25), (10**6, 0.25)):
        h.record("k", "c", threads, 1.0, ratio)
    # the largest smaller size (10^6) ran faster than predicted: not carried up; 10^4 is
    # more than ten times below it
    assert h.correction("k", "c", 10**8) == 1.0
    h.record("k", "c", 10**6, 1.0, 9.0)
    assert h.correction("k", "c", 10**8) == 1.0  # median of 1, 1, 1 (0.25s) and 9
    for _ in range(3):
        h.record("k", "c", 10**6, 1.0, 9.0)
    assert h.correction("k", "c", 10**8) == pytest.approx(9.0)  # median of 1, 1, 1, 9 ×4


def test_launch_overhead_seen_in_use_replaces_calibration(tmp_path):
    from pxos.planner.model import Estimate

    h = History(tmp_path / "h.json")
    assert h.launch("c", 1e-5) == 1e-5
    overhead_bound = Estimate("c", 1e-5 + 1e-7, launch_s=1e-5, work_s=1e-7)
    for measured in (4e-3, 6e-3):
        h.learn("k", "c", 100, overhead_bound, measured)
    assert h.launch("c", 1e-5) == 1e-5  # not enough samples yet
    h.learn("k", "c", 100, overhead_bound, 5e-3)
    assert h.launch("c", 1e-5) == pytest.approx(5e-3 - 1e-7)
    assert h.correction("k", "c", 100) == 1.0  # the kernel itself learned nothing
    work_bound = Estimate("c", 1e-5 + 1e-3, launch_s=1e-5, work_s=1e-3)
    h.learn("k", "c", 10**6, work_bound, 2e-3 + 1e-5)
    assert h.correction("k", "c", 10**6) == pytest.approx(2 ** 0.5)  # one run: half-way
    h.learn("k", "c", 10**6, work_bound, 2e-3 + 1e-5)
    assert h.correction("k", "c", 10**6) == pytest.approx(2.0)  # two that agree: all the way


def test_runs_with_copies_teach_no_launch_overhead(tmp_path):
    from pxos.planner.model import Estimate

    h = History(tmp_path / "h.json")
    with_copies = Estimate("cuda", 3e-5, copies_s=2e-5, launch_s=1e-5, work_s=1e-8)
    for _ in range(3):
        h.learn("k", "SORT cuda", 100, with_copies, 9e-5)
    assert h.launch("SORT cuda", 1e-5) == 1e-5


def test_a_warming_run_teaches_only_a_long_kernels_correction(tmp_path):
    from pxos.planner.history import WARMING_FLOOR
    from pxos.planner.model import Estimate

    h = History(tmp_path / "h.json")
    short = Estimate("c", 1.6e-5, launch_s=4e-6, work_s=1.2e-5)  # work: significant
    for _ in range(3):  # the Python way before the native launcher: 3x the steady time
        h.learn("k", "RUN c", 10**5, short, 4.8e-5, warming=True)
    assert h.correction("k", "c", 10**5) == 1.0
    overhead_bound = Estimate("c", 1e-5 + 1e-7, launch_s=1e-5, work_s=1e-7)
    for _ in range(3):
        h.learn("k", "RUN c", 100, overhead_bound, 5e-5, warming=True)
    assert h.launch("RUN c", 1e-5) == 1e-5  # no launch overhead from a warming run
    long = Estimate("c", 2 * WARMING_FLOOR, launch_s=1e-5, work_s=2 * WARMING_FLOOR - 1e-5)
    h.learn("k", "RUN c", 10**7, long, 4 * long.work_s + 1e-5, warming=True)
    assert h.correction("k", "c", 10**7) == pytest.approx(2.0, rel=1e-3)  # half-way to 4


def test_a_correction_raised_by_slow_runs_comes_down_with_fast_ones(tmp_path):
    from pxos.planner.model import Estimate

    h = History(tmp_path / "h.json")
    launch, raw = 4e-6, 2.4e-6  # a short kernel: its work 38 % of the predicted time

    def predicted() -> Estimate:  # as predict_launch builds it, corrected
        corr = h.correction("k", "c", 10**4)
        return Estimate("c", launch + raw * corr, launch_s=launch, work_s=raw * corr,
                        correction=corr)

    for _ in range(2):  # two slow runs (first native launches): 5x the raw work
        h.learn("k", "RUN c", 10**4, predicted(), launch + 5 * raw)
    assert h.correction("k", "c", 10**4) == pytest.approx(5.0)  # median of 5, 5 and 1
    for _ in range(8):  # then runs at the predicted raw work: the correction comes down
        h.learn("k", "RUN c", 10**4, predicted(), launch + raw)
    assert h.correction("k", "c", 10**4) == pytest.approx(1.0)
