"""docs/diversity.md runs as written: its Python code blocks, in order, in one namespace."""

from __future__ import annotations

from tests.conftest import ROOT
from tests.docs.test_tutorial import run_page

DOC = ROOT / "docs" / "diversity.md"


def test_diversity_doc_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # the examples write their cache into the working folder
    assert run_page(DOC, "diversity_doc") >= 3
    printed = capsys.readouterr().out
    assert "[3, 2, 0, 1]" in printed  # the hand-checked sequence of the first block
    assert "valid: True" in printed
    assert (tmp_path / "cache.npy").exists() and (tmp_path / "cache.npy.json").exists()
