"""Decisions on a machine calibrated like the H200 host (``data/h200_calibration.json``, in
the stored format: 16-core Xeon and an H200), checked against what
``benchmarks/placement.py`` and ``benchmarks/planning.py`` measured there; and the
cache-aware memory rate of a CPU (``planner/model.memory_rate``)."""

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


def test_option_price_at_1e5_is_not_split(h200, tmp_path):
    # measured there: the c+cuda split 1.07 ms, cuda alone 0.30 ms. The split's fixed cost
    # (calibrated) makes it slower than c alone in the model, so it is not offered
    (run,) = planned(one_launch("option_price", "spot price", 10**5), h200, tmp_path)
    assert run.device != "c+cuda" and "c+cuda" not in run.predicted
    # without the fixed cost the model offered it, as it did there
    h200.hybrid_overhead = {"c+cuda": 0.0}
    (run,) = planned(one_launch("option_price", "spot price", 10**5), h200, tmp_path)
    assert run.device == "c+cuda"


def test_a_compute_bound_kernel_is_split_at_1e7(h200, tmp_path):
    # heavy_poly: 1,024 operations an element; c alone and cuda with its copies are close
    (run,) = planned(one_launch("heavy_poly", "x out", 10**7), h200, tmp_path)
    assert run.device == "c+cuda"
    assert run.predicted["c+cuda"] < run.predicted["c"]


def test_short_floyd_warshall_runs_go_to_c(h200, tmp_path):
    # planning.py --runs 50 --size 200: 50 RUNs of one relaxation step over 160 KB,
    # which stays in the CPU's caches; pinned c was the faster device there
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from planning import program_text

    runs = planned(program_text(50, 200, False), h200, tmp_path)
    assert {r.device for r in runs} == {"c"}
    without = dataclasses.replace(h200.devices["c"], cache_bandwidth=0.0)
    h200.devices["c"] = without  # at the memory's bandwidth, cuda looked faster
    assert {r.device for r in planned(program_text(50, 200, False), h200, tmp_path)} \
        == {"cuda"}


def _work(array_bytes: int) -> Work:
    return Work(threads=1, per_thread=Counts(), memory_bytes=array_bytes,
                array_bytes={"x": array_bytes}, unknown_trips=False, divergent=False,
                cpu_memory_bytes=array_bytes)


def test_memory_rate_falls_from_the_cache_to_the_memory(h200):
    c, cuda = h200.devices["c"], h200.devices["cuda"]
    assert memory_rate(c, _work(CACHE_BYTES)) == c.cache_bandwidth
    middle = memory_rate(c, _work(CACHE_BYTES * math.isqrt(FAR)))  # halfway, on logs
    assert middle == pytest.approx(math.sqrt(c.cache_bandwidth * c.bandwidth))
    assert memory_rate(c, _work(CACHE_BYTES * FAR)) == pytest.approx(c.bandwidth)
    assert memory_rate(c, _work(CACHE_BYTES * FAR * 100)) == pytest.approx(c.bandwidth)
    assert memory_rate(cuda, _work(CACHE_BYTES)) == cuda.bandwidth  # a GPU: none
    assert memory_rate(dataclasses.replace(c, cache_bandwidth=0.0),
                       _work(CACHE_BYTES)) == c.bandwidth  # not calibrated
