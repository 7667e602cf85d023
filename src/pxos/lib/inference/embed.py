"""``pxos.embed``: sentences → L2-normalised sentence embeddings (float32, n × 384 for
all-MiniLM-L6-v2), as sentence-transformers' ``encode`` computes them.

Tokenizes with Hugging Face ``tokenizers`` (the model's ``tokenizer.json``, truncated at
its ``max_seq_length``), sorts by length, pads each batch to its own longest sentence
and pads each batch to its length bucket (:mod:`pxos.lib.inference.buckets`: its own
longest sentence, unless the model's calibration measured another bucket set faster),
runs the model through :func:`pxos.lib.inference.infer.placed`, mean-pools over real
tokens and normalises.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np

from pxos.errors import PxArgumentError
from pxos.lib.inference.buckets import pad
from pxos.lib.inference.convert import require
from pxos.lib.inference.formats import DEFAULT_MODEL, detect, resolve
from pxos.lib.inference.infer import placed


@lru_cache(maxsize=8)
def tokenizer(folder: str):
    """The folder's fast tokenizer, truncating at its sentence-transformers max length."""
    tk = require("tokenizers").Tokenizer.from_file(str(Path(folder) / "tokenizer.json"))
    cfg = Path(folder) / "sentence_bert_config.json"
    max_len = json.loads(cfg.read_text())["max_seq_length"] if cfg.is_file() else 512
    tk.enable_truncation(max_len)
    tk.no_padding()
    return tk


def tokenize(folder: str, texts: list[str]) -> list[list[int]]:
    """Token ids of each text (with [CLS]/[SEP]), unpadded."""
    return [e.ids for e in tokenizer(folder).encode_batch(texts)]


def pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean over real tokens, then L2-normalised: (n, seq, d) → float32 (n, d)."""
    m = mask[:, :, None].astype(np.float32)
    mean = (hidden.astype(np.float32) * m).sum(1) / np.maximum(m.sum(1), 1e-9)
    return mean / np.maximum(np.linalg.norm(mean, axis=1, keepdims=True), 1e-12)


def embed(texts, model: str = DEFAULT_MODEL, *, batch_size: int | None = None,
          device: str = "auto", precision: str = "auto", progress=None) -> np.ndarray:
    """Embeddings of ``texts`` (a list of str, or one str → one row): float32 (n, d), each
    row of unit L2 norm, in the order given.

    ``model``: ``"all-MiniLM-L6-v2"`` (bundled), a Hugging Face folder, or an OpenVINO IR /
    ONNX model with the encoder's inputs next to a Hugging Face folder's tokenizer (a
    ``pxos quantize`` output folder). ``batch_size``: sentences per run (default: the
    calibrated batch, else 32 on the CPU and 256 on CUDA). ``progress(done)`` is called
    after each batch. Raises PxArgumentError for non-str texts and the errors of
    :func:`pxos.lib.inference.infer.infer`."""
    if isinstance(texts, str):
        texts = [texts]
    texts = list(texts)
    if not all(isinstance(t, str) for t in texts):
        raise PxArgumentError("pxos.embed takes a list of str")
    path = resolve(model)
    sess, plan = placed(path, device, precision)
    fmt, file = detect(path)
    folder = str(path if path.is_dir() else file.parent)
    if not texts:
        return np.zeros((0, 0), np.float32)
    bs = batch_size or plan["batch"] or (256 if getattr(sess, "device", "cpu") == "cuda"
                                         else 32)
    if bs < 1:
        raise PxArgumentError(f"batch_size must be ≥ 1, got {bs}")
    ids = tokenize(folder, texts)
    cap = (tokenizer(folder).truncation or {}).get("max_length")
    order = np.argsort([len(i) for i in ids], kind="stable")
    out = None
    for start in range(0, len(order), bs):
        rows = order[start:start + bs]
        feeds = pad([ids[r] for r in rows], plan["bucket"], cap)
        feeds = {k: v for k, v in feeds.items() if k in sess.inputs}
        if hasattr(sess, "run_pooled"):
            emb = sess.run_pooled(feeds)
        else:
            emb = pool(next(iter(sess.run(feeds).values())), feeds["attention_mask"])
        if out is None:
            out = np.empty((len(texts), emb.shape[1]), np.float32)
        out[rows] = emb
        if progress is not None:
            progress(min(start + bs, len(order)))
    return out


__all__ = ["embed", "pad", "pool", "tokenize", "tokenizer"]
