"""pxos.infer: format detection, NumPy in/out against a raw OpenVINO request, clear errors,
and a model cache that a failed conversion leaves untouched."""

from pathlib import Path

import numpy as np
import pytest

from pxos.errors import PxArgumentError, PxFileError, PxShapeError, PxTypeError
from pxos.lib.inference import convert, explain, infer
from pxos.lib.inference.embed import pad, tokenize
from pxos.lib.inference.formats import bundled_model, detect


@pytest.fixture(scope="module")
def ir():
    return convert.to_openvino_ir(bundled_model())


@pytest.fixture(scope="module")
def feeds(sentences):
    folder = str(bundled_model())
    return pad(tokenize(folder, sentences[:6]))


def test_detect_by_content(ir, tmp_path):
    assert detect(ir) == ("openvino", ir)
    assert detect(bundled_model())[0] == "hf"
    renamed = tmp_path / "model.data"      # the content decides, not the suffix
    renamed.write_bytes(ir.read_bytes())
    renamed.with_suffix(".bin").write_bytes(ir.with_suffix(".bin").read_bytes())
    assert detect(renamed)[0] == "openvino"


def test_ir_matches_raw_openvino(ir, feeds):
    import openvino as ov
    raw = ov.Core().compile_model(str(ir), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    want = raw(feeds)[0]
    got = infer(ir, feeds, precision="fp32", device="cpu")
    assert list(got) == ["last_hidden_state"]
    assert got["last_hidden_state"].shape == want.shape == feeds["input_ids"].shape + (384,)
    np.testing.assert_allclose(got["last_hidden_state"], want, rtol=0, atol=1e-5)
    order = [feeds[k] for k in convert.INPUTS]
    by_list = infer(ir, order, precision="fp32", device="cpu", batch_size=4)
    np.testing.assert_allclose(by_list["last_hidden_state"], want, rtol=0, atol=1e-4)
    assert "openvino on cpu" in explain(ir, device="cpu")


def test_errors(ir, feeds, tmp_path):
    with pytest.raises(PxFileError, match="not found"):
        infer(tmp_path / "none.xml", feeds)
    junk = tmp_path / "junk.onnx"
    junk.write_text("hello, not a model")
    with pytest.raises(PxFileError, match="unknown model format"):
        infer(junk, feeds)
    bad = tmp_path / "bad.xml"
    bad.write_text('<?xml version="1.0"?>\n<net name="x"><layers><oops></net>')
    bad.with_suffix(".bin").write_bytes(b"\0" * 16)
    with pytest.raises(PxFileError, match="OpenVINO cannot read"):
        infer(bad, feeds)
    with pytest.raises(PxArgumentError, match="inputs are"):
        infer(ir, {"input_ids": feeds["input_ids"]})
    with pytest.raises(PxShapeError, match="rank 2"):
        infer(ir, {k: v[0] for k, v in feeds.items()})
    with pytest.raises(PxTypeError, match="int64"):
        infer(ir, {k: v.astype(np.float32) for k, v in feeds.items()})
    with pytest.raises(PxArgumentError, match="precision"):
        infer(ir, feeds, precision="fp8")
    with pytest.raises(PxArgumentError, match="CUDA"):
        infer(ir, feeds, device="cuda")


def test_failed_conversion_leaves_no_cache_entry(monkeypatch, tmp_path):
    import openvino as ov
    monkeypatch.setenv("PXOS_CACHE_DIR", str(tmp_path))

    def boom(*a, **k):
        raise RuntimeError("conversion failed")
    monkeypatch.setattr(ov, "convert_model", boom)
    with pytest.raises(RuntimeError, match="conversion failed"):
        convert.to_openvino_ir(bundled_model())
    assert list(Path(tmp_path, "inference").iterdir()) == []


def test_precision_the_cpu_cannot_run(ir, feeds):
    import openvino as ov
    caps = ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    if "FP16" in caps:
        pytest.skip("this CPU runs fp16")
    with pytest.raises(PxArgumentError, match="cannot run precision 'fp16'"):
        infer(ir, feeds, precision="fp16", device="cpu")


def test_torch_session_matches_openvino(ir, feeds):
    """The PyTorch path (NVIDIA GPUs; CPU fallback without OpenVINO) agrees with the IR."""
    from pxos.lib.inference.runtime import TorchSession
    s = TorchSession(bundled_model(), "cpu", "fp32")
    got = s.run(feeds)["last_hidden_state"]
    want = infer(ir, feeds, precision="fp32", device="cpu")["last_hidden_state"]
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-4)
    m = feeds["attention_mask"][:, :, None]          # pooled on the device: mean of real tokens
    mean = (want * m).sum(1) / m.sum(1)
    np.testing.assert_allclose(s.run_pooled(feeds),
                               mean / np.linalg.norm(mean, axis=1, keepdims=True), atol=1e-5)
    with pytest.raises(PxArgumentError, match="cannot run precision"):
        TorchSession(bundled_model(), "cpu", "fp16")


def test_streams_session_matches_raw_openvino(ir, feeds):
    """openvino-streams splits the batch over an AsyncInferQueue: same rows, same order."""
    import openvino as ov
    from pxos.lib.inference.runtime import OpenVINOSession
    want = ov.Core().compile_model(str(ir), "CPU", {"INFERENCE_PRECISION_HINT": "f32"}
                                   )(feeds)[0]
    s = OpenVINOSession(ir, "fp32", streams=True)
    assert s.runtime == "openvino-streams"
    for rows in (6, 5, 1):
        part = {k: np.ascontiguousarray(v[:rows]) for k, v in feeds.items()}
        got = s.run(part)["last_hidden_state"]
        np.testing.assert_allclose(got, want[:rows], rtol=0, atol=1e-5)
    for chunk in (2, 4):          # requests of `chunk` rows (the last one shorter), all in flight
        got = s.run(feeds, chunk=chunk)["last_hidden_state"]
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)
