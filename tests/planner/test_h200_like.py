"""Decisions on the H200 machine's calibration (``data/h200_calibration.json``: the stored
file of the mid-session run of 2026-12-04, 16-core Xeon and an H200), checked against what
``benchmarks/placement.py`` and ``benchmarks/planning.py`` measured there in that run;
and the cache-aware memory rate of a CPU (``planner/model.memory_rate``)."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import pytest

from pxos.ir.analysis.features import Counts, Work
from pxos.ir.check_host import check_program
from pxos.lang.px.parser import parse_program
from pxos.planner.calibration import CACHE_BYTES, VERSION, Machine
from pxos.planner.history import History
from pxos.planner.model import FAR, memory_rate
from pxos.planner.program import Planner

from tests.conftest import ROOT

DATA = Path(__file__).with_name("data") / "h200_calibration.json"
KERNELS = (ROOT / "benchmarks" / "kernels" / "placement.px").read_text()


@pytest.fixture
def h200() -> Machine:
    stored = json.loads(DATA.read_text())
    stored["version"] = VERSION  # the figures, whatever version last wrote the format
    return Machine.from_json(json.dumps(stored))


def planned(text: str, machine: Machine, tmp_path, built=("c", "cuda")):
    path = tmp_path / "p.px"
    path.write_text(text)
    program = check_program(parse_program(text, str(path)))
    planner = Planner(program, "auto", machine, History(tmp_path / "h.json"))
    planner._compiled = lambda device, kernel: device in built
    return [d for d in planner.plan().values() if d.statement.startswith("RUN")]


def one_launch(kernel: str, arrays: str, n: int) -> str:
    """A program that runs ``kernel`` once over host arrays of ``n`` floats and writes
    the result to a file (so it is wanted back on the host)."""
    first, second = arrays.split()
    return (KERNELS + f"\nALLOC {first} float SIZE {n}\nALLOC {second} LIKE {first}\n"
            f"RANDOM {first} SEED 1 RANGE 0.5 1.5\nRUN {kernel} {first} {second}\n"
            f'WRITE_FILE {second} TO "out.npy"\n')


def test_no_split_is_offered_there(h200, tmp_path):
    # calibration's split ran 1.15x the faster device alone, the model's error on it 52 %:
    # not enough to offer any. Measured there, every split of the placement benchmark
    # lost (option_price at 1e7: 36.3 ms against 19.7 ms on cuda; heavy_poly at 1e7:
    # 23.1 against 18.2 ms), as every split below 1e7 did
    for kernel, arrays, n in (("option_price", "spot price", 10**5),
                              ("option_price", "spot price", 10**7),
                              ("heavy_poly", "x out", 10**7)):
        (run,) = planned(one_launch(kernel, arrays, n), h200, tmp_path)
        assert "c+cuda" not in run.predicted, (kernel, n)


def test_no_split_after_a_calibration_that_saw_one_pay_1_4x(h200, tmp_path):
    # the second calibration there: the split ran 1.40x the faster device alone, the model
    # off by 25 %, fixed cost 0.38 ms. Offered, the split of heavy_poly at 1e6 ran 2.77 ms
    # against 1.24 ms on cuda (1.64 ms predicted): 1.40 < 1.25² offers none
    h200.hybrid, h200.hybrid_error = {"c+cuda": 1.40}, {"c+cuda": 0.25}
    h200.hybrid_overhead = {"c+cuda": 3.8e-4}
    (run,) = planned(one_launch("heavy_poly", "x out", 10**6), h200, tmp_path)
    assert "c+cuda" not in run.predicted and run.device == "cuda"
    h200.hybrid = {"c+cuda": 1.60}  # more than 1.25²: offered
    (run,) = planned(one_launch("heavy_poly", "x out", 10**6), h200, tmp_path)
    assert "c+cuda" in run.predicted


def test_the_split_fixed_cost_keeps_small_launches_whole(h200, tmp_path):
    # on a machine where splits paid (calibration's 2x, predicted within 10 %), the
    # calibrated fixed cost of a split (0.42 ms there) keeps small launches whole: a
    # split of option_price at 1e5 took 1.07 ms there last session, against 0.30 ms on
    # cuda. Without it the model chose a split of heavy_poly at 1e5 (0.14 ms predicted)
    h200.hybrid, h200.hybrid_error = {"c+cuda": 2.0}, {"c+cuda": 0.1}
    assert h200.hybrid_overhead["c+cuda"] == pytest.approx(4.2e-4, rel=0.01)
    for kernel, arrays in (("option_price", "spot price"), ("heavy_poly", "x out")):
        (run,) = planned(one_launch(kernel, arrays, 10**5), h200, tmp_path)
        assert "c+cuda" not in run.predicted, kernel
    h200.hybrid_overhead = {"c+cuda": 0.0}
    (run,) = planned(one_launch("heavy_poly", "x out", 10**5), h200, tmp_path)
    assert run.device == "c+cuda"


def test_option_price_is_predicted_as_slow_on_c_as_it_ran(h200, tmp_path):
    # measured there on c: 5.6 ms at 1e6, 63.7 ms at 1e7 (two tanh a price: 6x a sin's
    # cost); counted as sin and exp, it was predicted at 2.0 and 19.6 ms, and chosen
    for n, ran in ((10**6, 5.6e-3), (10**7, 63.7e-3)):
        (run,) = planned(one_launch("option_price", "spot price", n), h200, tmp_path)
        assert run.device == "cuda"
        assert run.predicted["c"] == pytest.approx(ran, rel=0.3)


def test_short_floyd_warshall_runs_go_to_c(h200, tmp_path):
    # planning.py --runs 50 --size 200: one relaxation step over 160 KB took 11.2 us
    # launched on c and 10.7 us on cuda (stream_sizes.py), a RUN about 10 us on c once
    # prepared and 35 us on cuda; calibrated, c is predicted faster
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from planning import program_text

    assert {r.device for r in planned(program_text(50, 200, False), h200, tmp_path)} \
        == {"c"}


def _work(array_bytes: int) -> Work:
    return Work(threads=1, per_thread=Counts(), memory_bytes=array_bytes,
                array_bytes={"x": array_bytes}, unknown_trips=False, divergent=False,
                cpu_memory_bytes=array_bytes)


def test_memory_rate_falls_from_the_cache_to_the_memory(h200):
    cuda = h200.devices["cuda"]
    c = dataclasses.replace(h200.devices["c"], cache_bandwidth=4 * h200.devices["c"].bandwidth)
    assert memory_rate(c, _work(CACHE_BYTES)) == c.cache_bandwidth
    middle = memory_rate(c, _work(CACHE_BYTES * math.isqrt(FAR)))  # halfway, on logs
    assert middle == pytest.approx(math.sqrt(c.cache_bandwidth * c.bandwidth))
    assert memory_rate(c, _work(CACHE_BYTES * FAR)) == pytest.approx(c.bandwidth)
    assert memory_rate(c, _work(CACHE_BYTES * FAR * 100)) == pytest.approx(c.bandwidth)
    assert memory_rate(cuda, _work(CACHE_BYTES)) == cuda.bandwidth  # a GPU: none
    assert memory_rate(dataclasses.replace(c, cache_bandwidth=0.0),
                       _work(CACHE_BYTES)) == c.bandwidth  # not calibrated
