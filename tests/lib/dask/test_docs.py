"""docs/dask.md runs as written: its Python code blocks, in order, in one namespace (written
to a file first: kernels are read from their source file), on the synchronous scheduler."""

from __future__ import annotations

import pytest

pytest.importorskip("dask", reason="needs the dask extra: pip install 'pxos[dask]'")

import sys  # noqa: E402

import dask  # noqa: E402

from tests.conftest import ROOT  # noqa: E402
from tests.docs.test_tutorial import code_blocks  # noqa: E402

PAGE = ROOT / "docs" / "dask.md"


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_dask_page_runs(tmp_path, monkeypatch, capsys):
    text = PAGE.read_text()
    blocks = code_blocks(text)
    assert len(blocks) >= 6
    lines = [""] * (text.count("\n") + 1)
    for start, code in blocks:
        for i, line in enumerate(code.splitlines()):
            lines[start - 1 + i] = line
    script = tmp_path / "dask_page.py"
    script.write_text("\n".join(lines))
    monkeypatch.syspath_prepend(str(tmp_path))
    namespace = {"__name__": "dask_page", "__file__": str(script)}
    sys.modules.pop("dask_page", None)
    with dask.config.set(scheduler="synchronous"):
        exec(compile(script.read_text(), str(script), "exec"), namespace)  # noqa: S102
    printed = capsys.readouterr()
    assert "Array (250000, 250000, 250000, 250000)" in printed.out
    assert "thread index 'i' as a value" in printed.out
    assert "100%" in printed.out + printed.err  # the progress bar
    assert "[('c:0', 0, 100), ('c:1', 100, 200), ('c:2', 200, 300)]" in printed.out
