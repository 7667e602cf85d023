"""Embed a corpus of Bible verses with pxos.embed and answer nearest-neighbour queries.

    PYTHONPATH=src python3 examples/inference/nearest_verse.py "love your neighbour"
"""

from __future__ import annotations

import argparse

import numpy as np

import pxos.inference as inference
from pxos.lib.inference.sentences import verses


def main(argv=None) -> list[tuple[float, str]]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("query", nargs="?", default="In the beginning God made the sky and land.")
    ap.add_argument("--corpus", type=int, default=2000, help="verses to embed")
    ap.add_argument("--top", type=int, default=3)
    args = ap.parse_args(argv)
    corpus = verses(args.corpus)
    emb = inference.embed(corpus)                  # (n, 384) float32, unit rows
    q = inference.embed([args.query])[0]
    scores = emb @ q                               # cosine similarity
    best = np.argsort(-scores)[:args.top]
    hits = [(float(scores[i]), corpus[i]) for i in best]
    for s, text in hits:
        print(f"{s:.3f}  {text}")
    return hits


if __name__ == "__main__":
    main()
