"""docs/ternary.md runs as written: its Python code blocks, in order, in one namespace."""

from __future__ import annotations

from tests.conftest import ROOT
from tests.docs.test_tutorial import run_page

PAGE = ROOT / "docs" / "ternary.md"


def test_ternary_page_runs(capsys):
    assert run_page(PAGE, "ternary_docs") >= 7
    printed = capsys.readouterr().out
    assert "[ 0 -1  1] 1T0" in printed
    assert "[103  -5  -4] [300 -14 -45]" in printed
    assert "[33 -4 -1] [ 1  1 -4]" in printed
    assert "[[-1, 0, 0], [0, 0, 0], [0, 0, 1]]" in printed and "25 gates" in printed
