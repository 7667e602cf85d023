"""docs/tutorial.md runs as written: its Python code blocks, in order, in one namespace."""

from __future__ import annotations

import re
import sys

from tests.conftest import ROOT

TUTORIAL = ROOT / "docs" / "tutorial.md"


def code_blocks(text: str) -> list[tuple[int, str]]:
    """(first line number, code) of every ```python block."""
    out = []
    for m in re.finditer(r"^```python\n(.*?)^```", text, re.S | re.M):
        out.append((text[:m.start()].count("\n") + 2, m.group(1)))
    return out


def run_page(page, name: str) -> int:
    """Run every ```python block of docs page ``page``, in order, in one namespace named
    ``name`` (errors point at the page's lines); returns how many blocks ran."""
    blocks = code_blocks(page.read_text())
    namespace = {"__name__": name}
    for start, code in blocks:
        exec(compile(code, f"{page}:{start}", "exec"), namespace)  # noqa: S102
    return len(blocks)


def test_tutorial_runs(tmp_path, monkeypatch, capsys):
    blocks = code_blocks(TUTORIAL.read_text())
    assert len(blocks) >= 7
    # kernels are read from their source file: write the blocks to one file, padded so
    # that line numbers match the tutorial's
    lines = [""] * (TUTORIAL.read_text().count("\n") + 1)
    for start, code in blocks:
        for i, line in enumerate(code.splitlines()):
            lines[start - 1 + i] = line
    script = tmp_path / "tutorial.py"
    script.write_text("\n".join(lines))
    monkeypatch.syspath_prepend(str(tmp_path))
    namespace = {"__name__": "tutorial", "__file__": str(script)}
    sys.modules.pop("tutorial", None)
    exec(compile(script.read_text(), str(script), "exec"), namespace)  # noqa: S102
    printed = capsys.readouterr().out
    assert "[ 0  3  6  9 12 15 18 21 24 27]" in printed
    assert "tutorial.py:" in printed and "^" in printed  # the error points at the line
    assert "points inside" in printed and "#line" in printed
    assert "index 2000000 is out of bounds of array 'x'" in printed  # section 8
    assert "would index array 'out' at 999999" in printed or "interp" in printed
