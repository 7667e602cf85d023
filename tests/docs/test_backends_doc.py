"""docs/backends.md: its Python examples run as written; in "Testing", its example test module runs, once per backend present, and
the comparison it makes fails when the kernel's result is wrong."""

from __future__ import annotations

import importlib
import sys

import pytest

from pxos import backends
from tests.conftest import ROOT
from tests.docs.test_tutorial import code_blocks, run_page

PAGE = ROOT / "docs" / "backends.md"


def example_module(tmp_path, monkeypatch):
    """The page's ```python block that uses pxos.testing, imported from a file (a kernel's
    source must be in a file)."""
    (code,) = [c for _, c in code_blocks(PAGE.read_text()) if "pxos.testing" in c]
    (tmp_path / "testing_example.py").write_text(code)
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("testing_example", None)
    return importlib.import_module("testing_example")


def test_the_example_runs_on_every_backend(tmp_path, monkeypatch):
    module = example_module(tmp_path, monkeypatch)
    (mark,) = module.test_scaled_sum.pytestmark
    names = [p.values[0] for p in mark.args[1]]
    assert names == backends.available()
    for name in names:
        module.test_scaled_sum(backend=name)


def test_the_example_fails_on_a_wrong_result(tmp_path, monkeypatch):
    module = example_module(tmp_path, monkeypatch)

    def off_by_one(a, x, y, out, device):
        out[:] = a * x + y
        out[7] += 1

    monkeypatch.setattr(module, "scaled_sum", off_by_one)
    with pytest.raises(AssertionError, match="Not equal to tolerance"):
        module.test_scaled_sum(backend="interp")


def test_backends_page_runs():
    assert run_page(PAGE, "backends_doc") >= 1
