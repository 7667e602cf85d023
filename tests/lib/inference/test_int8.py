"""INT8 post-training quantization (weights and activations): pxos's default recipe holds
up against FP32 sentence-transformers embeddings (an independent reference) better than
NNCF's defaults, on this CPU; bad recipes are refused before anything is written."""

import numpy as np
import pytest

from pxos.errors import PxArgumentError
from pxos.lib.inference import int8
from pxos.lib.inference.quantize import evaluate, quantize
from pxos.lib.inference.sentences import verses


def _cosines(out, sentences, reference):
    from pxos.lib.inference.embed import embed
    e = embed(sentences, out, device="cpu")
    return (e * reference).sum(1) / np.linalg.norm(reference, axis=1)


def test_default_recipe_beats_nncf_defaults(tmp_path, sentences, reference):
    ours = quantize("all-MiniLM-L6-v2", "int8", tmp_path / "ours", calibration=64)
    theirs = quantize("all-MiniLM-L6-v2", "int8", tmp_path / "nncf", calibration=64,
                      recipe=int8.NNCF_DEFAULTS)
    c_ours = _cosines(ours, sentences, reference)
    c_theirs = _cosines(theirs, sentences, reference)
    assert c_ours.min() >= 0.99 and c_ours.mean() >= 0.998, (c_ours.min(), c_ours.mean())
    # the error (1 - cosine) of the default recipe is well below NNCF defaults'
    assert (1 - c_ours).mean() < 0.5 * (1 - c_theirs).mean(), (c_ours.mean(), c_theirs.mean())
    r = evaluate(ours, sentences[:48], reference[:48])
    assert r["min_cosine"] >= 0.99 and r["size_mb"] < 0.6 * 90.5, r


def test_calibration_verses_are_spread_and_not_evaluated():
    every = verses(None)
    pos = int8.calibration_positions(300, len(every))
    assert len(pos) == 300 == len(set(pos)) and pos == sorted(pos)
    assert not set(pos) & set(range(0, len(every), 31))      # verses(1000, step=31)
    assert pos[0] < 0.01 * len(every) and pos[-1] > 0.9 * len(every)
    first = int8.calibration_positions(3, len(every))
    assert int8.calibration_texts(3) == [every[i] for i in first]


@pytest.mark.parametrize("recipe", [
    int8.Recipe(overflow_fix="sometimes"), int8.Recipe(ranges="p99"),
    int8.Recipe(keep_float=("embeddings",)), int8.Recipe(smooth_quant=1.5),
    int8.Recipe(keep_float=("ffn_output.x",)), int8.Recipe(keep_float=("ffn_output.1.2",)),
    int8.Recipe(calibration=0), int8.Recipe(float_weights="fp8")])
def test_bad_recipe_is_refused(recipe, tmp_path):
    with pytest.raises(PxArgumentError, match="bad int8 recipe"):
        quantize("all-MiniLM-L6-v2", "int8", tmp_path / "q", recipe=recipe)
    assert list(tmp_path.iterdir()) == []


def test_keep_float_names_one_layer_or_every_layer():
    """``ROLE.LAYER`` names one layer's MatMul of the converted encoder, ``ROLE`` all six."""
    import re

    import openvino as ov
    from pxos.lib.inference.convert import to_openvino_ir
    from pxos.lib.inference.formats import bundled_model
    names = [op.get_friendly_name() for op in ov.Core().read_model(
        str(to_openvino_ir(bundled_model()))).get_ordered_ops() if op.get_type_name() == "MatMul"]

    def hits(keys):
        pats = int8.scope_patterns(keys)
        return [n for n in names if any(re.fullmatch(p, n) for p in pats)]
    (one,) = hits(("ffn_output.3",))
    assert "layer.3.output.dense" in one
    assert len(hits(("ffn_output",))) == 6 and len(hits(("qkv",))) == 18
    assert len(hits(("attention_output.0", "ffn_input.5", "ffn_input"))) == 7
