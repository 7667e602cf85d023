"""Placement of COMPRESS under `--device auto` (`host/pipeline/codec_placement`): the CPU
library's rate measured on the data against nvCOMP with its PCIe copies, on a machine of
round figures (tests/planner/conftest.py: a GPU whose copies run at 10 GB/s)."""

from __future__ import annotations

import numpy as np
import pytest

from pxos.errors import PxBackendError
from pxos.host.pipeline import codec_placement
from pxos.host.program import ProgramRun
from pxos.ir.check_host import check_program
from pxos.lang.px.parser import parse_program
from tests.planner.conftest import make_machine

pytest.importorskip("lz4")
pytest.importorskip("zstandard")
DATA = np.resize(np.frombuffer(b"".join(b"GET /%d 200\n" % i for i in range(9000)), np.uint8),
                 64_000_000)


@pytest.fixture
def figures(monkeypatch):
    """Install a machine (or none), a CPU rate and ratio, and an nvCOMP rate (bytes/s)."""
    def install(machine, rate: float, gpu_rate: float = 100e9, ratio: float = 0.25):
        def stored(auto=True):
            if machine is None:
                raise PxBackendError("this machine is not calibrated")
            return machine
        monkeypatch.setattr("pxos.planner.calibration.machine", stored)
        monkeypatch.setattr(codec_placement, "host_rate", lambda d, c, lv: (rate, ratio))
        monkeypatch.setattr(codec_placement, "gpu_rate", lambda d, c: gpu_rate)
    return install


def test_a_cpu_faster_than_pcie_keeps_host_data_on_the_host(figures):
    figures(make_machine(gpu=True), 20e9)  # 3.2 ms; the copies alone 6.4 + 1.6 ms
    d = codec_placement.place_codec(DATA, "lz4", None, True, 2, "COMPRESS …")
    assert d.device == "host" and set(d.predicted) == {"host"}
    assert d.predicted["host"] == pytest.approx(len(DATA) / 20e9)
    assert "data on the host stays on the host: this CPU beats PCIe" in d.reason


def test_a_slow_cpu_library_loses_to_nvcomp_with_its_copies(figures):
    figures(make_machine(gpu=True), 0.5e9)  # 128 ms on the CPU
    d = codec_placement.place_codec(DATA, "lz4", None, True, 2, "COMPRESS …")
    copies = len(DATA) / 10e9 + len(DATA) * 0.25 / 10e9
    assert d.device == "cuda"
    assert d.estimates["cuda"].copies_s == pytest.approx(copies)
    assert d.predicted["cuda"] == pytest.approx(copies + len(DATA) / 100e9)
    assert d.reason.startswith("cuda: nvCOMP lz4 predicted")


def test_without_nvcomp_or_calibration_or_at_a_level_the_host_runs_it(figures):
    figures(make_machine(gpu=True), 0.5e9)
    d = codec_placement.place_codec(DATA, "zstd", None, False, 2, "COMPRESS …")
    assert d.device == "host" and "nvCOMP is not installed here" in d.reason
    d = codec_placement.place_codec(DATA, "zstd", 9, True, 2, "COMPRESS …")
    assert d.device == "host" and "nvCOMP has no zstd levels" in d.reason
    d = codec_placement.place_codec(DATA, "deflate", None, True, 2, "COMPRESS …")
    assert d.device == "host" and "gzip members, not the zlib container" in d.reason
    figures(None, 0.5e9)
    d = codec_placement.place_codec(DATA, "lz4", None, True, 2, "COMPRESS …")
    assert d.device == "host" and "not calibrated" in d.reason


def test_the_host_rate_and_ratio_are_measured_on_the_data():
    rate, ratio = codec_placement.host_rate(DATA, "lz4", None)
    assert 1e6 < rate < 1e11  # lz4: MB/s on a busy VM to GB/s
    import lz4.frame
    assert ratio == pytest.approx(len(lz4.frame.compress(DATA[:1 << 20].tobytes(),
                                                         content_checksum=True,
                                                         store_size=True)) / (1 << 20))


def test_explain_shows_why_compress_runs_where_it_does(tmp_path):
    (tmp_path / "in.txt").write_bytes(DATA[:300_000].tobytes())
    text = 'READ_FILE "in.txt" INTO x AS u8\nCOMPRESS x WITH lz4 → y\n'
    (tmp_path / "prog.px").write_text(text)
    run = ProgramRun(check_program(parse_program(text, str(tmp_path / "prog.px"))),
                     device="auto", explain=True).run()
    (d,) = [s.decision for s in run.steps if s.what == "COMPRESS"]
    assert d.device in ("host", "cuda") and "lz4 at " in d.reason  # cuda: an H200 host
    assert d.reason.startswith(f"{d.device}: ")
    import lz4.frame
    assert lz4.frame.decompress(run.values["y"].tobytes()) == DATA[:300_000].tobytes()
