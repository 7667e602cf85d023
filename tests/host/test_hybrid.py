"""HYBRID: an elementwise launch split between the C backend and a device with its own
memory (``opencl`` on PoCL here in CI, ``cuda`` on a GPU machine), against NumPy."""

from __future__ import annotations

import numpy as np
import pytest

from pxos.errors import PxBackendError
from pxos.backends.hybrid import cut, run_split
from pxos.host.program import ProgramRun
from pxos.ir.analysis.split import elementwise
from pxos.ir.check_host import check_program
from pxos.lang.px.parser import parse_file, parse_program
from pxos.testing import backends_present, for_each_backend

from tests.conftest import BACKENDS, EXAMPLES, ROOT

DEVICES = backends_present(require=("device_memory",))
needs_device = pytest.mark.skipif("c" not in BACKENDS or not DEVICES,
                                  reason="needs c and a backend with its own memory")


def kernels(path):
    return {k.name: k for k in check_program(parse_file(path)).kernels}


def test_which_kernels_are_elementwise():
    ex = {**kernels(EXAMPLES / "saxpy.px"), **kernels(EXAMPLES / "edges.px"),
          **kernels(EXAMPLES / "reduce.px"), **kernels(EXAMPLES / "histogram.px"),
          **kernels(ROOT / "benchmarks" / "kernels" / "placement.px")}
    split = {name for name, k in ex.items() if elementwise(k)}
    assert split == {"saxpy", "option_price", "heavy_poly"}


@needs_device
@for_each_backend(require=("device_memory",), argname="device")
@pytest.mark.parametrize("share", [0.0, 0.3, 0.5, 1.0])
def test_split_launch_matches_numpy(device, share):
    k = kernels(ROOT / "benchmarks" / "kernels" / "placement.px")["option_price"]
    rng = np.random.default_rng(5)
    spot = rng.uniform(0.5, 1.5, 10_000).astype(np.float32)
    price = np.zeros_like(spot)
    run_split(k, [spot, price], cut(len(spot), share), "c", device)
    s = spot.astype(np.float64)
    d1 = (np.log(s) + 0.065) / 0.3
    d2 = d1 - 0.3

    def cdf(d):
        return 0.5 * (1 + np.tanh(0.7978846 * (d + 0.044715 * d ** 3)))
    np.testing.assert_allclose(price, s * cdf(d1) - np.exp(-0.02) * cdf(d2), rtol=2e-5,
                               atol=2e-6)


def test_cut_falls_on_blocks():
    assert cut(10_000, 0.5) == 20 * 256  # 5000 elements are 19.5 blocks: 20 on the CPU
    assert cut(10_000, 0.0) == 0 and cut(10_000, 1.0) == 10_000


@needs_device
@for_each_backend(require=("device_memory",), argname="device")
def test_pinned_hybrid_runs_a_program(tmp_path, device):
    text = (EXAMPLES / "saxpy.px").read_text()
    (tmp_path / "saxpy.px").write_text(text)
    program = check_program(parse_program(text, str(tmp_path / "saxpy.px")))
    run = ProgramRun(program, device=f"c+{device}", emit=lambda _t: None).run()
    x, y, out = (run.array(n, None) for n in ("x", "y", "out"))
    np.testing.assert_allclose(out, np.float32(2.5) * x + y, rtol=1e-6)
    assert [s.device for s in run.steps if s.what == "RUN"] == [f"c+{device}"]
    assert run.residency.transfers.to_device == 3  # the device's part of x, y and out


@needs_device
def test_only_elementwise_kernels_split(tmp_path):
    text = (EXAMPLES / "reduce.px").read_text()
    (tmp_path / "reduce.px").write_text(text)
    program = check_program(parse_program(text, str(tmp_path / "reduce.px")))
    with pytest.raises(PxBackendError, match="cannot be split"):
        ProgramRun(program, device=f"c+{DEVICES[0]}", emit=lambda _t: None).run()


@needs_device
def test_calibration_times_a_split(monkeypatch):
    from pxos.planner.calibration import Machine, complete, machine
    from pxos.planner.probes import measure_split

    monkeypatch.setattr(Machine, "is_gpu", lambda m, d: d == DEVICES[0])  # as if a GPU
    found, error, fixed = measure_split(complete(machine()), n=1 << 18)  # small: a test
    assert set(error) == {f"c+{DEVICES[0]}"} and error[f"c+{DEVICES[0]}"] >= 0
    assert set(fixed) == {f"c+{DEVICES[0]}"} and 0 <= fixed[f"c+{DEVICES[0]}"] < 1
    assert set(found) == {f"c+{DEVICES[0]}"}
    assert found[f"c+{DEVICES[0]}"] > 0  # it ran: 0 would mean the split failed
