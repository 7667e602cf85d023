"""docs/pipelines.md runs as written: its Python blocks, in order, in one namespace."""

from __future__ import annotations

from tests.conftest import ROOT
from tests.docs.test_tutorial import code_blocks

PAGE = ROOT / "docs" / "pipelines.md"


def test_pipelines_page_runs(capsys):
    blocks = code_blocks(PAGE.read_text())
    assert len(blocks) == 5
    namespace = {"__name__": "pipelines_doc"}
    for start, code in blocks:
        exec(compile(code, f"{PAGE}:{start}", "exec"), namespace)  # noqa: S102
    printed = capsys.readouterr().out
    assert "chacha20 needs a 12-byte nonce; got 8 bytes" in printed
    assert "authentication tag does not match" in printed
    assert "not UTF-8: invalid start byte at byte 2" in printed
    assert "['host']" in printed
