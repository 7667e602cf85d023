"""docs/backends.md's Python example runs as written."""

from __future__ import annotations

from tests.conftest import ROOT
from tests.docs.test_tutorial import run_page


def test_backends_page_runs():
    assert run_page(ROOT / "docs" / "backends.md", "backends_doc") == 1
