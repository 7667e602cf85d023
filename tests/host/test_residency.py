"""Residency: a program's arrays stay where they were last written; copies happen only when
another place needs the current contents, and are counted."""

from __future__ import annotations

import numpy as np
import pytest

from pxos import backends
from pxos.backends.base import HOST
from pxos.host.program import ProgramRun
from pxos.host.residency import Residency
from pxos.ir.check_host import check_program
from pxos.lang.px.parser import parse_program

CHAIN = """\
GPU_KERNEL scale
    GPU_PARAM a float
    GPU_PARAM x float[]
    GPU_PARAM out float[]
GPU_THREAD_CODE:
    THREAD_ID → i
    STORE a * x[i] → out[i]
GPU_END
GPU_KERNEL add
    GPU_PARAM x float[]
    GPU_PARAM y float[]
    GPU_PARAM out float[]
GPU_THREAD_CODE:
    THREAD_ID → i
    STORE x[i] + y[i] → out[i]
GPU_END
ALLOC x float SIZE 1000
ALLOC t LIKE x
ALLOC y LIKE x
ALLOC out LIKE x
RANDOM x SEED 1
RUN scale 2.0 x t
RUN scale 3.0 t y
SET first = t[0]
FILL x 1.0
RUN add x y out
WRITE_FILE out TO "out.npy"
"""


class FakeDevice:
    """A device backend whose memory is NumPy copies: counts calls, no GPU needed."""

    memory = "fake"

    def __init__(self):
        self.uploads = self.downloads = self.zero_allocs = 0

    def to_device(self, host):
        self.uploads += 1
        return host.copy()

    def to_host(self, device, out):
        self.downloads += 1
        out[...] = device

    def zeros(self, shape, dtype):
        self.zero_allocs += 1
        return np.zeros(shape, dtype)


def test_copies_only_when_the_other_side_needs_the_data():
    dev = FakeDevice()
    r = Residency(lambda memory: dev)
    host = np.arange(4, dtype=np.float32)
    r.define("a", host)
    d = r.on_device("fake", "a")
    assert r.on_device("fake", "a") is d and dev.uploads == 1  # second ask: no copy
    d += 10
    r.written("a", "fake")
    assert r.where("a") == {"fake"}
    np.testing.assert_array_equal(r.on_host("a"), [10, 11, 12, 13])
    r.on_host("a")
    assert dev.downloads == 1 and r.where("a") == {"fake", HOST}
    r.define("z", np.zeros(3, np.int64), zeros=True)
    assert r.on_device("fake", "z").sum() == 0 and dev.zero_allocs == 1 and dev.uploads == 1
    t = r.transfers
    assert (t.to_device, t.to_host, t.bytes_to_device, t.bytes_to_host) == (1, 1, 16, 16)


def test_program_chain_keeps_data_on_the_device(backend, tmp_path):
    prog = tmp_path / "chain.px"
    prog.write_text(CHAIN)
    run = ProgramRun(check_program(parse_program(CHAIN, str(prog))), device=backend).run()
    x = np.load(tmp_path / "out.npy")
    t = run.array("t", None)
    np.testing.assert_array_equal(x, np.float32(1.0) + np.float32(3.0) * t)
    assert float(run.values["first"]) == float(t[0])
    moved = run.residency.transfers
    if backends.get(backend).memory == HOST:
        assert (moved.to_device, moved.to_host) == (0, 0)
    else:
        # x up twice (RANDOM, then FILL on the host); t down for t[0], out for WRITE_FILE;
        # t, y and out start as zeros on the device, and y never comes back
        assert (moved.to_device, moved.to_host) == (2, 2)
        assert moved.bytes_to_device == moved.bytes_to_host == 2 * 4000
        runs = [s for s in run.steps if s.what == "RUN"]
        assert [s.transfers.to_device for s in runs] == [1, 0, 1]


@pytest.mark.parametrize("name", ["cuda"])
def test_device_arrays_are_shared_without_copies(name, tmp_path):
    if name not in backends.available():
        pytest.skip(f"{name} is not present here")
    torch = pytest.importorskip("torch")
    prog = tmp_path / "chain.px"
    prog.write_text(CHAIN)
    run = ProgramRun(check_program(parse_program(CHAIN, str(prog))), device=name).run()
    out = run.device_array("out")  # a CuPy array, current on the device
    tensor = torch.from_dlpack(out)
    assert tensor.data_ptr() == out.data.ptr and tensor.is_cuda
    assert out.__cuda_array_interface__["data"][0] == out.data.ptr
    tensor.mul_(2)  # written through PyTorch, seen by the program once marked
    run.mark_written("out", name)
    np.testing.assert_array_equal(run.array("out", None), 2 * np.load(tmp_path / "out.npy"))
