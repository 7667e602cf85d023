"""docs/ternary.md runs as written: its Python code blocks, in order, in one namespace."""

from __future__ import annotations

from tests.conftest import ROOT
from tests.docs.test_tutorial import code_blocks

PAGE = ROOT / "docs" / "ternary.md"


def test_ternary_page_runs(capsys):
    blocks = code_blocks(PAGE.read_text())
    assert len(blocks) >= 7
    namespace = {"__name__": "ternary_docs"}
    for start, code in blocks:
        exec(compile(code, f"{PAGE}:{start}", "exec"), namespace)  # noqa: S102
    printed = capsys.readouterr().out
    assert "[ 0 -1  1] 1T0" in printed
    assert "[103  -5  -4] [300 -14 -45]" in printed
    assert "[33 -4 -1] [ 1  1 -4]" in printed
    assert "[[-1, 0, 0], [0, 0, 0], [0, 0, 1]]" in printed and "25 gates" in printed
