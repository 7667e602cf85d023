"""docs/diversity.md runs as written: its Python code blocks, in order, in one namespace."""

from __future__ import annotations

import re

from tests.conftest import ROOT

DOC = ROOT / "docs" / "diversity.md"


def test_diversity_doc_runs(tmp_path, monkeypatch, capsys):
    blocks = re.findall(r"^```python\n(.*?)^```", DOC.read_text(), re.S | re.M)
    assert len(blocks) >= 3
    monkeypatch.chdir(tmp_path)  # the examples write their cache into the working folder
    namespace = {"__name__": "diversity_doc"}
    for code in blocks:
        exec(compile(code, str(DOC), "exec"), namespace)  # noqa: S102
    printed = capsys.readouterr().out
    assert "[3, 2, 0, 1]" in printed  # the hand-checked sequence of the first block
    assert "valid: True" in printed
    assert (tmp_path / "cache.npy").exists() and (tmp_path / "cache.npy.json").exists()
