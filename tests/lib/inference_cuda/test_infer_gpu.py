"""pxos.infer with inputs already on the GPU (CuPy arrays, torch CUDA tensors): they run
there without a copy and the outputs come back as CuPy arrays, equal to the NumPy path
and to a float32 Hugging Face reference; and a calibration on the GPU.

Skips without CUDA, CuPy or the model (see test_embed_cuda.py for where the model is
found). Not under tests/lib/inference, whose conftest needs OpenVINO."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
cp = pytest.importorskip("cupy")
transformers = pytest.importorskip("transformers")
if not torch.cuda.is_available():
    pytest.skip("no CUDA device", allow_module_level=True)

from pxos.errors import PxTypeError  # noqa: E402
from pxos.lib.inference import calibration, explain, infer, residency  # noqa: E402
from pxos.lib.inference.embed import pad, tokenize  # noqa: E402
from pxos.lib.inference.infer import replan  # noqa: E402
from pxos.lib.inference.measure import calibrate  # noqa: E402
from tests.lib.inference_cuda.test_embed_cuda import SENTENCES, _model  # noqa: E402


@pytest.fixture(scope="module")
def model():
    return _model()


@pytest.fixture(scope="module")
def feeds(model):
    return pad(tokenize(model, SENTENCES[:6]))


@pytest.fixture(scope="module")
def reference(model, feeds):
    """float32 last hidden states from transformers itself, on the GPU."""
    hf = transformers.AutoModel.from_pretrained(model).to("cuda", torch.float32).eval()
    with torch.inference_mode():
        return hf(**{k: torch.from_numpy(v).cuda() for k, v in feeds.items()}
                  ).last_hidden_state.cpu().numpy()


def _close(got: np.ndarray, want: np.ndarray, mask: np.ndarray) -> None:
    a, b = got[mask.astype(bool)], want[mask.astype(bool)]       # real tokens × 384
    cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    assert cos.min() >= 0.999                                     # fp16 against fp32


def test_cupy_in_cupy_out(model, feeds, reference):
    gpu = {k: cp.asarray(v) for k, v in feeds.items()}
    out = infer(model, gpu)["last_hidden_state"]
    assert isinstance(out, cp.ndarray) and out.dtype == cp.float32
    assert out.shape == feeds["input_ids"].shape + (384,)
    _close(cp.asnumpy(out), reference, feeds["attention_mask"])
    host = infer(model, feeds, device="cuda")["last_hidden_state"]
    assert isinstance(host, np.ndarray)
    np.testing.assert_allclose(cp.asnumpy(out), host, rtol=0, atol=1e-2)   # same fp16 run
    chunks = infer(model, [gpu[k] for k in ("input_ids", "attention_mask", "token_type_ids")],
                   batch_size=4)["last_hidden_state"]
    assert isinstance(chunks, cp.ndarray) and chunks.shape == out.shape
    _close(cp.asnumpy(chunks), reference, feeds["attention_mask"])


def test_no_copy_on_the_way_in():
    ids = cp.arange(12, dtype=cp.int64).reshape(3, 4)
    t = residency.to_torch(ids, "cuda")
    assert t.data_ptr() == ids.data.ptr
    back = residency.to_cupy(t)
    assert back.data.ptr == ids.data.ptr


def test_torch_and_int32_inputs(model, feeds, reference):
    t = {k: torch.from_numpy(v.astype(np.int32)).cuda() for k, v in feeds.items()}
    out = infer(model, t)["last_hidden_state"]
    assert isinstance(out, cp.ndarray)
    _close(cp.asnumpy(out), reference, feeds["attention_mask"])
    with pytest.raises(PxTypeError, match="int64"):
        infer(model, {k: cp.asarray(v, dtype=cp.float32) for k, v in feeds.items()})


def test_gpu_inputs_pinned_to_cpu_still_give_cupy(model, feeds, reference):
    out = infer(model, {k: cp.asarray(v) for k, v in feeds.items()}, device="cpu",
                precision="fp32")["last_hidden_state"]
    assert isinstance(out, cp.ndarray)
    np.testing.assert_allclose(cp.asnumpy(out), reference, rtol=0, atol=1e-3)


def test_calibration_on_the_gpu(model, tmp_path, monkeypatch):
    monkeypatch.setattr(calibration, "cache_folder", lambda: tmp_path)
    try:
        rec = calibrate(model, texts=SENTENCES, repeat=2, devices=["cuda"],
                        batches={"cuda": (1, 8)})
        assert {(r["runtime"], r["device"], r["batch"]) for r in rec["runs"]} == {
            ("torch", "cuda", 1), ("torch", "cuda", 8)}
        assert "torch/cuda" in rec["buckets"]
        line = explain(model)
        assert "torch on cuda" in line and "calibrated" in line
    finally:
        replan()
