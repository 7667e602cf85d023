"""The choice from a calibration record, the plan that reads it, and GPU-input detection
(no model runs here: records are written by hand, GPU arrays are stand-ins)."""

import sys

import numpy as np
import pytest

from pxos.errors import PxArgumentError
from pxos.lib.inference import calibration, placement, residency


def _record(**extra):
    runs = [{"runtime": rt, "device": dev, "batch": b, "seconds": b / sps,
             "sentences_per_s": sps}
            for rt, dev, b, sps in (("openvino", "cpu", 1, 20.0), ("openvino", "cpu", 32, 60.0),
                                    ("torch", "cpu", 32, 30.0), ("torch", "cuda", 1, 300.0),
                                    ("torch", "cuda", 256, 9000.0),
                                    ("torch", "cuda", 32, 4000.0))]
    return {"runs": runs, "sequence": 32, "sentences": 64, "when": "today",
            "buckets": {"torch/cuda": {"batch": 256, "choice": "x8",
                                       "seconds": {"exact": 0.02, "x8": 0.015}}}, **extra}


def test_choose_fastest_and_bucket():
    c = calibration.choose(_record())
    assert (c["runtime"], c["device"], c["batch"], c["bucket"]) == ("torch", "cuda", 256, "x8")
    assert "9000 sentences/s" in c["why"] and "openvino on cpu 60/s" in c["why"]
    c = calibration.choose(_record(), "cpu")
    assert (c["runtime"], c["device"], c["batch"], c["bucket"]) == ("openvino", "cpu", 32,
                                                                    "exact")
    assert calibration.choose({"runs": _record()["runs"][:3], "sequence": 8,
                               "sentences": 1}, "cuda") is None


@pytest.fixture
def hf_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(calibration, "cache_folder", lambda: tmp_path / "cache")
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    (folder / "model.safetensors").write_bytes(b"\0" * 8)
    return folder


def test_plan_reads_the_record(hf_folder, monkeypatch):
    monkeypatch.setattr(placement, "installed", lambda m: m in ("openvino", "torch"))
    monkeypatch.setattr(placement, "cuda_available", lambda: False)
    p = placement.plan(hf_folder, "cpu")
    assert (p["runtime"], p["calibrated"], p["batch"]) == ("openvino", False, None)
    assert "not calibrated" in p["why"]
    calibration.save(hf_folder, "auto", _record())
    p = placement.plan(hf_folder)
    assert (p["runtime"], p["device"], p["batch"], p["bucket"]) == ("torch", "cuda", 256, "x8")
    assert p["calibrated"] and "fastest measured" in p["why"]
    p = placement.plan(hf_folder, "cpu")
    assert (p["runtime"], p["batch"]) == ("openvino", 32)
    assert "batch 32, buckets 'exact'" in placement.explain(hf_folder, "cpu")
    p = placement.plan(hf_folder, on_gpu=True)
    assert p["device"] == "cuda" and p["why"].startswith("the inputs are on the GPU")
    assert calibration.load(hf_folder, "fp32") is None          # per precision
    (hf_folder / "model.safetensors").write_bytes(b"\1" * 16)   # a changed model
    assert not placement.plan(hf_folder, "cpu")["calibrated"]


def test_damaged_record_is_ignored(hf_folder):
    f = calibration.record_path(hf_folder, "auto")
    f.parent.mkdir(parents=True)
    f.write_text("{not json")
    assert calibration.load(hf_folder, "auto") is None


class _Gpu:
    def __dlpack_device__(self):
        return (2, 0)


class _Cai:
    __cuda_array_interface__ = {"shape": (1,), "typestr": "<i8", "data": (0, False),
                                "version": 3}


class _Pinned:
    def __dlpack_device__(self):
        return (3, 0)                                           # kDLCUDAHost: host memory


def test_gpu_inputs_detected():
    assert residency.is_on_gpu(_Gpu()) and residency.is_on_gpu(_Cai())
    assert not residency.is_on_gpu(np.zeros(3)) and not residency.is_on_gpu(_Pinned())
    assert residency.any_on_gpu({"a": np.zeros(2), "b": _Gpu()})
    assert residency.any_on_gpu([np.zeros(2), _Cai()]) and not residency.any_on_gpu([[1, 2]])


def test_cupy_outputs_need_cupy(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)
    with pytest.raises(PxArgumentError, match="CuPy is not installed"):
        residency.to_cupy(np.zeros(2))


def test_check_tensors_casts_and_refuses():
    """The GPU path's input check, run here on host tensors (the same code, device cpu)."""
    torch = pytest.importorskip("torch")
    from pxos.errors import PxShapeError, PxTypeError
    spec = {"input_ids": (2, np.int64), "attention_mask": (2, np.int64)}
    ids = np.arange(6, dtype=np.int32).reshape(2, 3)
    got = residency.check_tensors(spec, {"input_ids": torch.from_numpy(ids),
                                         "attention_mask": np.ones((2, 3), np.int64)}, "cpu")
    assert got["input_ids"].dtype == torch.int64 and got["attention_mask"].dtype == torch.int64
    np.testing.assert_array_equal(got["input_ids"].numpy(), ids)
    with pytest.raises(PxTypeError, match="must be int64, got float32"):
        residency.check_tensors(spec, {"input_ids": torch.zeros(2, 3),
                                       "attention_mask": torch.zeros(2, 3)}, "cpu")
    with pytest.raises(PxShapeError, match="rank 2"):
        residency.check_tensors(spec, {"input_ids": torch.zeros(3, dtype=torch.int64),
                                       "attention_mask": torch.zeros(3, dtype=torch.int64)},
                                "cpu")
    with pytest.raises(PxArgumentError, match="model inputs are"):
        residency.check_tensors(spec, {"input_ids": torch.zeros(2, 3)}, "cpu")


def test_ir_with_gpu_inputs_runs_on_the_cpu(tmp_path, monkeypatch):
    monkeypatch.setattr(calibration, "cache_folder", lambda: tmp_path / "cache")
    monkeypatch.setattr(placement, "installed", lambda m: m == "openvino")
    xml = tmp_path / "m.xml"
    xml.write_text('<?xml version="1.0"?>\n<net name="m" version="11"></net>\n')
    xml.with_suffix(".bin").write_bytes(b"")
    p = placement.plan(xml, on_gpu=True)
    assert (p["runtime"], p["device"]) == ("openvino", "cpu")
    assert "copied to the host" in placement.explain(xml, on_gpu=True)
    with pytest.raises(PxArgumentError, match="no CUDA device"):
        placement.plan(xml, "cuda", on_gpu=True)
