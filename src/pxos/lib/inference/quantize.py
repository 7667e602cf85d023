"""``pxos.quantize``: compress all-MiniLM-L6-v2 (or another Hugging Face encoder) and report
what it costs in accuracy and buys in size and speed.

Methods (each writes ``OUT/model.xml|.bin`` plus the tokenizer, so ``pxos.embed(OUT)`` and
``pxos.infer(OUT/model.xml)`` run it):

- ``fp16``: the FP32 IR with weights stored as fp16 (OpenVINO's compression on save).
- ``int8``: NNCF post-training quantization of weights and activations, calibrated on
  real sentences (World English Bible verses), per :data:`pxos.lib.inference.int8.DEFAULT`
  (the choices measured best by ``benchmarks/int8_recipes.py``).
- ``int8w``: NNCF weight compression, INT8 asymmetric per output channel, on every
  MatMul and the embedding tables; activations stay float, so the model computes in float
  from weights decompressed on the fly.
- ``int4``: NNCF weight compression, INT4 symmetric, group size 128 (all of 384 and 1536
  divide by it); activations stay float.
- ``ternary`` / ``binary``: every ``nn.Linear`` weight of the encoder (the 36 attention and
  feed-forward matrices; not the embedding tables, not LayerNorm) is quantized with
  :mod:`pxos.lib.ternary.nn` — ``ternary``: TWN per-row trits in −1..1; ``binary``:
  ``sign(w)`` with the per-row mean ``|w|`` as scale — and stored packed 2 bits a weight
  in ``OUT/linear.npz``. What that path supports: the accuracy of those weights on the real
  model, and the packed mat-mul of :func:`pxos.lib.ternary.nn.matmul` on them (checked
  against the dense product); the runnable ``model.xml`` holds the same weights dequantized
  to float32, because OpenVINO has no 2-bit type — so its speed is FP32's, and the size
  reported is the packed form's (trits + scales + the float32 rest).

:func:`evaluate` gives the report: size on disk (MB), mean and minimum cosine of the
embeddings to FP32's, top-1 nearest-neighbour agreement, throughput (sentences/s).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from pxos.errors import PxArgumentError, PxFileError
from pxos.lib.inference.convert import load_torch_encoder, require, save_ir, to_openvino_ir
from pxos.lib.inference.embed import embed
from pxos.lib.inference.formats import detect, resolve
from pxos.lib.inference.int8 import DEFAULT, Recipe, quantize_int8

METHODS = ("fp16", "int8", "int8w", "int4", "binary", "ternary")
_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                    "vocab.txt", "sentence_bert_config.json")


def _low_bit_linears(folder: Path, method: str):
    """The torch encoder with each Linear's weight replaced by its quantized form, and the
    packed weights {name: TernaryWeights}."""
    import torch
    from pxos.lib.ternary import nn as tnn
    model = load_torch_encoder(folder)
    packed = {}
    for name, mod in model.named_modules():
        if isinstance(mod, torch.nn.Linear):
            w = mod.weight.detach().numpy().astype(np.float32)
            if method == "ternary":
                q = tnn.twn(w)
            else:
                q = tnn.pack(np.where(w >= 0, 1, -1).astype(np.int8), np.abs(w).mean(1))
            packed[name] = q
            mod.weight.data = torch.from_numpy(q.dense().astype(np.float32))
    return model, packed


def _save_low_bit(folder: Path, method: str, out: Path) -> None:
    model, packed = _low_bit_linears(folder, method)
    save_ir(model, out / "model.xml")
    arrays = {}
    for name, q in packed.items():
        arrays[name + ".packed"] = q.packed
        arrays[name + ".scale"] = q.scale
        arrays[name + ".shape"] = np.array(q.shape)
    np.savez(out / "linear.npz", **arrays)
    rest = sum(p.numel() * 4 for n, p in model.named_parameters()
               if n.rsplit(".", 1)[0] not in packed or not n.endswith("weight"))
    (out / "packed_size.txt").write_text(f"{rest + (out / 'linear.npz').stat().st_size}\n")


def quantize(model, method: str, out, *, calibration: int | None = None,
             recipe: Recipe = DEFAULT) -> Path:
    """Write ``model`` (a Hugging Face folder or ``"all-MiniLM-L6-v2"``) compressed by
    ``method`` (one of fp16, int8, int8w, int4, binary, ternary) into the folder ``out``;
    return ``out``. int8 follows ``recipe`` (:class:`pxos.lib.inference.int8.Recipe`),
    with ``calibration`` verses if given. The folder appears complete or not at all.
    Raises PxArgumentError (method, recipe, missing nncf/openvino), PxFileError (model)."""
    if method not in METHODS:
        raise PxArgumentError(f"unknown method {method!r}", hint=f"one of {', '.join(METHODS)}")
    if calibration is not None:
        recipe = replace(recipe, calibration=calibration)
    recipe.check()
    fmt, folder = detect(resolve(model))
    if fmt != "hf":
        raise PxFileError(f"pxos quantize takes a Hugging Face folder, not a {fmt} model")
    ov = require("openvino")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-quantize-", dir=out.parent))
    try:
        if method in ("binary", "ternary"):
            _save_low_bit(folder, method, tmp)
        else:
            m = ov.Core().read_model(str(to_openvino_ir(folder)))
            if method == "int8":
                m = quantize_int8(m, folder, recipe)
            elif method == "int8w":
                nncf = require("nncf")
                m = nncf.compress_weights(m, mode=nncf.CompressWeightsMode.INT8_ASYM)
            elif method == "int4":
                nncf = require("nncf")
                m = nncf.compress_weights(m, mode=nncf.CompressWeightsMode.INT4_SYM,
                                          group_size=128, ratio=1.0)
            ov.save_model(m, str(tmp / "model.xml"), compress_to_fp16=(method == "fp16"))
        for f in _TOKENIZER_FILES:
            if (folder / f).is_file():
                shutil.copy(folder / f, tmp / f)
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def size_on_disk(out) -> int:
    """Bytes of the model: the packed form for binary/ternary, else the IR's .xml + .bin."""
    out = Path(out)
    if (out / "packed_size.txt").is_file():
        return int((out / "packed_size.txt").read_text())
    return sum((out / f).stat().st_size for f in ("model.xml", "model.bin"))


def agreement(ref: np.ndarray, emb: np.ndarray) -> dict:
    """Mean/min cosine row by row, and the share of rows whose nearest other row is the same."""
    cos = (ref * emb).sum(1) / np.linalg.norm(ref, axis=1) / np.linalg.norm(emb, axis=1)

    def nn(e):
        s = e @ e.T
        np.fill_diagonal(s, -np.inf)
        return s.argmax(1)
    return {"mean_cosine": float(cos.mean()), "min_cosine": float(cos.min()),
            "top1_agreement": float((nn(ref) == nn(emb)).mean())}


def evaluate(out, sentences: list[str], reference: np.ndarray | None = None,
             model="all-MiniLM-L6-v2") -> dict:
    """The report of a quantized folder on ``sentences``: size_mb, mean_cosine, min_cosine,
    top1_agreement (against ``reference``, the FP32 embeddings, computed if None) and
    sentences_per_s (pxos.embed, batch 32, OpenVINO default precision)."""
    if reference is None:
        reference = embed(sentences, model, precision="fp32", device="cpu")
    embed(sentences[:32], out, device="cpu")
    t = time.perf_counter()
    emb = embed(sentences, out, device="cpu")
    dt = time.perf_counter() - t
    return {"size_mb": size_on_disk(out) / 1e6, **agreement(reference, emb),
            "sentences_per_s": len(sentences) / dt}


__all__ = ["METHODS", "agreement", "evaluate", "quantize", "size_on_disk"]
