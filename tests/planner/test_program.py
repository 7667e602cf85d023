"""Whole-program placement with residency, on a machine with round figures."""

from __future__ import annotations

import pytest

from pxos.ir.check_host import check_program
from pxos.lang.px.parser import parse_program
from pxos.planner.history import History
from pxos.planner.program import Planner

from tests.conftest import EXAMPLES
from tests.planner.conftest import make_machine

CHAIN = """
GPU_KERNEL scale
    GPU_PARAM a float[]
    GPU_PARAM b float[]
GPU_THREAD_CODE:
    THREAD_ID → i
    STORE 2.0 * a[i] → b[i]
GPU_END

GPU_KERNEL heavy
    GPU_PARAM a float[]
    GPU_PARAM b float[]
GPU_THREAD_CODE:
    THREAD_ID → i
    SET acc = a[i]
    FOR k IN 0..2000:
        SET acc = acc * 0.999 + 0.5
    STORE acc → b[i]
GPU_END

ALLOC x float SIZE {n}
ALLOC y LIKE x
ALLOC z LIKE x
RANDOM x SEED 1
RUN heavy x y
RUN scale y z
RUN heavy z y
SORT y → s
WRITE_FILE s TO "s.npy"
"""


def plan(text, tmp_path, machine, device="auto", n=10**7):
    path = tmp_path / "p.px"
    path.write_text(text.format(n=n))
    program = check_program(parse_program(path.read_text(), str(path)))
    planner = Planner(program, device, machine, History(tmp_path / "h.json"))
    planner._compiled = lambda device, kernel: True
    return list(planner.plan().values())


def by_text(decisions, start):
    return next(d for d in decisions if d.statement.startswith(start))


def test_a_chain_keeps_its_data_on_the_gpu(tmp_path, machine):
    ds = plan(CHAIN, tmp_path, machine)
    runs = [d for d in ds if d.statement.startswith("RUN")]
    assert [d.device for d in runs] == ["cuda"] * 3
    # x goes up once; y and z are made on the GPU (ALLOC: zeros, no copy) and stay there
    assert runs[0].copies.up == 1 and runs[0].copies.down == 0
    assert all(d.copies.up == 0 and d.copies.down == 0 for d in runs[1:])
    sort = by_text(ds, "SORT")
    assert sort.device == "cuda" and sort.copies.up == 0
    write = by_text(ds, "WRITE_FILE")
    assert write.device == "host" and write.copies.down == 1 and "file I/O" in write.reason
    for d in runs:
        assert {"c", "cuda"} <= set(d.predicted) <= {"c", "cuda", "c+cuda"}
        assert d.predicted["cuda"] < d.predicted["c"]
        assert d.reason.startswith("cuda: predicted")


def test_a_cheap_step_between_gpu_steps_is_not_bounced(tmp_path, machine):
    ds = plan(CHAIN, tmp_path, machine, n=10**5)
    scale = by_text(ds, "RUN scale")
    assert scale.device == "cuda"
    assert scale.copies.up == 0 and scale.copies.down == 0


def test_a_tiny_program_stays_on_the_cpu(tmp_path, machine):
    ds = plan(CHAIN, tmp_path, machine, n=10)
    assert {d.device for d in ds if d.statement.startswith("RUN")} == {"c"}
    heavy = by_text(ds, "RUN heavy x y")
    assert "outweighs the work" in heavy.reason


def test_without_a_gpu_the_plan_says_so(tmp_path):
    ds = plan(CHAIN, tmp_path, make_machine(gpu=False))
    heavy = by_text(ds, "RUN heavy x y")
    assert heavy.device == "c" and "no GPU here" in heavy.reason
    assert by_text(ds, "SORT").device == "host"


@pytest.mark.parametrize("how", ["device", "target"])
def test_pins_are_kept_and_said(tmp_path, machine, how):
    text = CHAIN if how == "device" else CHAIN.replace(
        "GPU_PARAM b float[]\nGPU_THREAD_CODE:\n    THREAD_ID → i\n    STORE 2.0",
        "GPU_PARAM b float[]\n    GPU_TARGET cpu\nGPU_THREAD_CODE:\n    THREAD_ID → i\n"
        "    STORE 2.0")
    ds = plan(text, tmp_path, machine, device="c" if how == "device" else "auto")
    scale = by_text(ds, "RUN scale")
    assert scale.device == "c" and scale.pinned
    assert scale.reason.startswith("pinned by " + ("--device c" if how == "device"
                                                   else "GPU_TARGET cpu"))


def test_slow_cpu_launches_learned_in_use_move_small_work_to_the_gpu(tmp_path, machine):
    path = tmp_path / "p.px"
    path.write_text(CHAIN.format(n=10))
    program = check_program(parse_program(path.read_text(), str(path)))
    history = History(tmp_path / "h.json")
    for _ in range(3):
        history.record_launch("RUN c", 5e-3)  # what a host with sleepy OpenMP threads shows
    planner = Planner(program, "auto", machine, history)
    planner._compiled = lambda device, kernel: True
    runs = [d for d in planner.plan().values() if d.statement.startswith("RUN")]
    assert {d.device for d in runs} == {"cuda"}
    assert runs[0].estimates["c"].launch_s == 5e-3


POLY = """
GPU_KERNEL poly
    GPU_PARAM x float[]
    GPU_PARAM y float[]
GPU_THREAD_CODE:
    THREAD_ID → i
    SET v = x[i]
    FOR k IN 0..2:
        SET v = v * 0.5 + 1.0
    STORE v → y[i]
GPU_END

ALLOC x float SIZE {n}
ALLOC y LIKE x
RANDOM x SEED 1
RUN poly x y
WRITE_FILE y TO "y.npy"
"""


def test_hybrid_is_offered_when_the_devices_are_close(tmp_path, machine):
    # 10 operations a thread: c alone computes 10⁷ threads in 10 ms at 10¹⁰ ops/s; the
    # GPU needs x and y up and y back at 10 GB/s (12 ms), its work is negligible
    ds = plan(POLY, tmp_path, machine, n=10**7)
    run = by_text(ds, "RUN poly")
    est = run.estimates["c+cuda"]
    assert run.device == "c+cuda"
    assert est.seconds < run.predicted["c"]
    # the CPU part takes the larger of its compute, 10 s ms, and its memory traffic with
    # the device part's copies through the staging buffer (8 bytes an element, plus twice
    # the 12 copied bytes of the other elements) at 20 GB/s: (8 s + 24 (1 - s)) / 2 ms;
    # the device part (1 - s) 12 ms. They meet where 10 s = 12 - 8 s: s = 0.667; the grid
    # of 5 % gives 0.65 or 0.7
    assert est.split in (0.65, 0.7)
    assert est.seconds == pytest.approx((12 - 8 * est.split) * 1e-3, rel=0.02)


def test_a_split_is_offered_only_where_it_pays_by_more_than_the_model_error(tmp_path,
                                                                           machine):
    # POLY at 10⁷: the split is predicted 6.7 ms against 10 ms for c alone (1.5×)
    assert by_text(plan(POLY, tmp_path, machine, n=10**7), "RUN poly").device == "c+cuda"
    machine.hybrid_error = {"c+cuda": 0.6}  # the model's splits were off by 60 %
    run = by_text(plan(POLY, tmp_path, machine, n=10**7), "RUN poly")
    assert "c+cuda" not in run.predicted and run.device == "cuda"
    machine.hybrid_error = {}  # never timed: the margin is UNKNOWN_ERROR, 50 %
    assert "c+cuda" not in by_text(plan(POLY, tmp_path, machine, n=10**7),
                                   "RUN poly").predicted


def test_one_measured_loss_withdraws_the_split_for_that_kernel_and_size(tmp_path,
                                                                        machine):
    history = History(tmp_path / "h.json")

    def poly(n):
        path = tmp_path / "p.px"
        path.write_text(POLY.format(n=n))
        program = check_program(parse_program(path.read_text(), str(path)))
        planner = Planner(program, "auto", machine, history)
        planner._compiled = lambda device, kernel: True
        return by_text(list(planner.plan().values()), "RUN poly")

    first = poly(10**7)
    assert first.device == "c+cuda"
    first.learn(history, 0.011)  # 11 ms: slower than cuda alone was predicted (4 ms)
    assert history.withdrawn(first.fingerprint, "c+cuda", 10**7)
    again = poly(10**7)
    assert again.device == "cuda" and "c+cuda" not in again.predicted
    assert "c+cuda" not in poly(3 * 10**6).predicted  # smaller: withdrawn too
    # ten times larger: not withdrawn (the correction learned from the run may still
    # keep it from being offered there)
    assert not history.withdrawn(first.fingerprint, "c+cuda", 10**8)
    history.save()  # (written at most once a second while learning)
    assert History(tmp_path / "h.json").withdrawn(first.fingerprint, "c+cuda", 10**7)
    history = History(tmp_path / "other.json")
    won = poly(10**8)
    best_alone = min(won.predicted["c"], won.predicted["cuda"])
    won.learn(history, 0.9 * best_alone)  # a split that paid withdraws nothing
    assert not history.withdrawn(won.fingerprint, "c+cuda", 10**8)


def test_a_memory_bound_kernel_is_not_split(tmp_path, machine):
    # saxpy over host data: a byte sent to the GPU costs the host's memory more (twice,
    # through the staging buffer) than the CPU reading it once to compute
    saxpy = (EXAMPLES / "saxpy.px").read_text().replace("SIZE 1000000", "SIZE {n}")
    run = by_text(plan(saxpy, tmp_path, machine, n=10**7), "RUN saxpy")
    assert run.device != "c+cuda"
    split = run.estimates.get("c+cuda")
    assert split is None or split.seconds >= run.predicted["c"]


def test_hybrid_is_not_offered_for_other_kernels_or_far_apart_devices(tmp_path, machine):
    ds = plan(CHAIN, tmp_path, machine, n=10**7)
    heavy = by_text(ds, "RUN heavy x y")  # elementwise, but the GPU is far ahead
    assert "c+cuda" not in heavy.predicted


def test_hybrid_is_not_offered_where_calibration_saw_it_not_pay(tmp_path, machine):
    machine.hybrid = {"c+cuda": 0.9}
    saxpy = (EXAMPLES / "saxpy.px").read_text().replace("SIZE 1000000", "SIZE {n}")
    run = by_text(plan(saxpy, tmp_path, machine, n=10**7), "RUN saxpy")
    assert "c+cuda" not in run.predicted


def test_overhead_learned_by_pxos_run_leaves_python_calls_alone(tmp_path, machine,
                                                                monkeypatch):
    import numpy as np

    from pxos.planner import history as history_module
    from pxos.planner.call import place_call

    history = History(tmp_path / "h.json")
    monkeypatch.setitem(history_module._OPEN, machine.key, history)
    for _ in range(3):  # RUN statements of `pxos run` on cuda, slow with bookkeeping
        history.record_launch("RUN cuda", 5e-3)
    saxpy = check_program(parse_program((EXAMPLES / "saxpy.px").read_text())).kernels[0]
    x = np.ones(1000, np.float32)
    args = [np.float32(2), x, x, x]
    call = place_call(saxpy, args, (1000,), [None, "cuda", "cuda", "cuda"], machine)
    assert call.device == "cuda" and call.estimates["cuda"].launch_s == 10e-6
    planner = Planner(check_program(parse_program(CHAIN.format(n=10))), "auto", machine,
                      history)
    planner._compiled = lambda device, kernel: True
    run = next(d for d in planner.plan().values() if d.statement.startswith("RUN"))
    assert run.estimates["cuda"].launch_s == 5e-3


def test_a_kernel_is_built_once_per_plan_not_once_per_run(tmp_path, machine):
    # c is not built yet (a 100 ms build), cuda is, and a RUN costs 10 µs on c against
    # 1 ms on cuda: 200 RUNs save 0.2 s on c, more than its build; 20 save 20 ms, less.
    # Charged at every RUN, the build made c cost 200 × 100 ms in the plan.
    import dataclasses

    machine.devices["cuda"] = dataclasses.replace(machine.devices["cuda"], launch_s=1e-3)
    text = CHAIN.split("ALLOC")[0] + "ALLOC x float SIZE 1000\nALLOC y LIKE x\n"

    def device(runs):
        path = tmp_path / "p.px"
        path.write_text(text + "RUN scale x y\n" * runs)
        program = check_program(parse_program(path.read_text(), str(path)))
        planner = Planner(program, "auto", machine, History(tmp_path / "h.json"))
        planner._compiled = lambda device, kernel: device == "cuda"
        return {d.device for d in planner.plan().values() if d.statement.startswith("RUN")}
    assert device(200) == {"c"}
    assert device(20) == {"cuda"}


def test_a_kernel_slower_than_predicted_on_one_cpu_backend_is_so_on_another(tmp_path):
    """Until a kernel runs on a device, the correction learned on a device of the same
    kind (``alike``) stands for its own: one run 2.5x slower than predicted moves the
    estimate half-way, sqrt(2.5), on a scale of logs (planner/history)."""
    import math

    history = History(tmp_path / "h.json")
    history.record("k", "c", 10**6, 1e-3, 2.5e-3)
    assert history.correction("k", "c", 10**6) == pytest.approx(math.sqrt(2.5))
    assert history.correction("k", "opencl", 10**6) == 1.0
    assert history.correction("k", "opencl", 10**6, ("c",)) == pytest.approx(math.sqrt(2.5))
    history.record("k", "opencl", 10**6, 1e-3, 0.8e-3)  # its own run now
    assert history.correction("k", "opencl", 10**6, ("c",)) == pytest.approx(math.sqrt(0.8))
