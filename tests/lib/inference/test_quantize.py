"""pxos.quantize: each method's output runs through pxos.embed, and its report holds up
against FP32 sentence-transformers embeddings; the packed ternary weights are TWN's."""

import numpy as np
import pytest

from pxos.errors import PxArgumentError
from pxos.lib.inference import quantize as Q
from pxos.lib.inference.convert import load_torch_encoder, to_openvino_ir
from pxos.lib.inference.formats import bundled_model


def _fp32_bytes():
    ir = to_openvino_ir(bundled_model())
    return ir.stat().st_size + ir.with_suffix(".bin").stat().st_size


@pytest.mark.parametrize("method, min_cos, max_size", [
    ("fp16", 0.9999, 0.55), ("int8", 0.99, 0.55), ("int8w", 0.999, 0.3), ("int4", 0.85, 0.3)])
def test_methods(method, min_cos, max_size, tmp_path, sentences, reference):
    out = Q.quantize("all-MiniLM-L6-v2", method, tmp_path / method, calibration=32)
    assert sorted(p.name for p in tmp_path.iterdir()) == [method]  # no temporary left
    r = Q.evaluate(out, sentences[:48], reference[:48])
    assert r["min_cosine"] >= min_cos, r
    assert r["size_mb"] * 1e6 <= max_size * _fp32_bytes(), r
    assert r["sentences_per_s"] > 0


def test_ternary_packs_twn_weights(tmp_path, sentences, reference):
    from pxos.lib.ternary import nn as tnn
    out = Q.quantize("all-MiniLM-L6-v2", "ternary", tmp_path / "t")
    z = np.load(out / "linear.npz")
    name = "encoder.layer.0.attention.self.query"
    w = dict(load_torch_encoder(bundled_model()).named_modules())[name].weight.detach().numpy()
    want = tnn.twn(w)
    q = tnn.TernaryWeights(z[name + ".packed"], z[name + ".scale"], int(z[name + ".shape"][1]))
    np.testing.assert_array_equal(q.trits(), want.trits())
    x = np.random.default_rng(0).standard_normal((2, 384)).astype(np.float32)
    dense = x.astype(np.float64) @ (q.scale[:, None] * q.trits()).T.astype(np.float64)
    np.testing.assert_allclose(tnn.matmul(x, q), dense, rtol=1e-4, atol=1e-4)
    r = Q.evaluate(out, sentences[:48], reference[:48])
    assert r["size_mb"] * 1e6 < 0.6 * _fp32_bytes() and r["mean_cosine"] > 0.2, r


def test_unknown_method(tmp_path):
    with pytest.raises(PxArgumentError, match="unknown method"):
        Q.quantize("all-MiniLM-L6-v2", "int3", tmp_path / "x")
    assert list(tmp_path.iterdir()) == []

