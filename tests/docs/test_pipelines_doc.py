"""docs/pipelines.md runs as written: its Python blocks, in order, in one namespace."""

from __future__ import annotations

import ast

from tests.conftest import ROOT
from tests.docs.test_tutorial import run_page

PAGE = ROOT / "docs" / "pipelines.md"


def test_pipelines_page_runs(capsys):
    assert run_page(PAGE, "pipelines_doc") == 6
    printed = capsys.readouterr().out
    assert "chacha20 needs a 12-byte nonce; got 8 bytes" in printed
    assert "authentication tag does not match" in printed
    assert "not UTF-8: invalid start byte at byte 2" in printed
    # the last line: where encrypt and compress can run (compress: host, and cuda with nvCOMP)
    encrypt, compress = ast.literal_eval(printed.splitlines()[-1].replace("] [", "], ["))
    assert encrypt[0] == "host" and compress[0] == "host" and set(compress) <= {"host", "cuda"}
