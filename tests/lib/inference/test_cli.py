"""The embed and quantize commands, through Typer's runner."""

import json

import numpy as np
from typer.testing import CliRunner

from pxos.cli.inference import app


def test_embed_writes_npy(tmp_path, sentences, reference):
    src = tmp_path / "texts.txt"
    src.write_text("\n".join(sentences[:10]) + "\n\n", encoding="utf-8")
    r = CliRunner().invoke(app, ["embed", str(src), "-o", str(tmp_path / "e.npy")])
    assert r.exit_code == 0, r.output
    e = np.load(tmp_path / "e.npy")
    assert e.shape == (10, 384)
    cos = (e * reference[:10]).sum(1)
    assert cos.min() > 0.99   # OpenVINO's default CPU precision


def test_quantize_reports_json(tmp_path):
    r = CliRunner().invoke(app, ["quantize", "all-MiniLM-L6-v2", "--method", "fp16", "-o",
                                 str(tmp_path / "q"), "--sentences", "40", "--json"])
    assert r.exit_code == 0, r.output
    rep = json.loads(r.output.strip().splitlines()[-1])
    assert rep["method"] == "fp16" and rep["min_cosine"] > 0.9999 and rep["size_mb"] < 50


def test_errors_exit_2(tmp_path):
    r = CliRunner().invoke(app, ["embed", str(tmp_path / "none.txt"), "-o", "x.npy"])
    assert r.exit_code == 2
    r = CliRunner().invoke(app, ["quantize", "all-MiniLM-L6-v2", "--method", "int3", "-o",
                                 str(tmp_path / "q")])
    assert r.exit_code == 2 and "unknown method" in r.output


def test_infer_runs_npz_and_explains(tmp_path, sentences):
    import openvino as ov

    from pxos.lib.inference.convert import to_openvino_ir
    from pxos.lib.inference.embed import pad, tokenize
    from pxos.lib.inference.formats import bundled_model
    ir = to_openvino_ir(bundled_model())
    feeds = pad(tokenize(str(bundled_model()), sentences[:3]))
    np.savez(tmp_path / "in.npz", **feeds)
    r = CliRunner().invoke(app, ["infer", str(ir), str(tmp_path / "in.npz"), "-o",
                                 str(tmp_path / "out.npz"), "--device", "cpu",
                                 "--precision", "fp32", "--explain"])
    assert r.exit_code == 0, r.output
    assert "openvino on cpu" in r.output and "not calibrated" in r.output
    want = ov.Core().compile_model(str(ir), "CPU", {"INFERENCE_PRECISION_HINT": "f32"}
                                   )(feeds)[0]
    with np.load(tmp_path / "out.npz") as z:
        np.testing.assert_allclose(z["last_hidden_state"], want, rtol=0, atol=1e-5)
    r = CliRunner().invoke(app, ["infer", str(ir)])
    assert r.exit_code == 2 and "--explain" in r.output
