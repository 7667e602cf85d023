"""docs/profiling.md: its Python blocks run (as one script, lines as on the page), the files
it names are written, and its screenshot exists."""

from __future__ import annotations

import json
import runpy

from pxos import events
from tests.conftest import ROOT
from tests.docs.test_tutorial import code_blocks

PAGE = ROOT / "docs" / "profiling.md"


def test_python_blocks_run(tmp_path, monkeypatch, capsys):
    text = PAGE.read_text()
    blocks = code_blocks(text)
    assert len(blocks) == 2
    lines = [""] * (text.count("\n") + 1)  # kernels are read from their source file
    for start, code in blocks:
        for i, line in enumerate(code.splitlines()):
            lines[start - 1 + i] = line
    script = tmp_path / "profiling.py"
    script.write_text("\n".join(lines))
    monkeypatch.chdir(tmp_path)
    try:
        runpy.run_path(str(script), run_name="profiling_doc")
    finally:
        from pxos.lib.profile.stats import COUNTERS

        events.unsubscribe(COUNTERS)
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("saxpy c 20 ")
    assert printed[2] == str(["trace.json", "flame.speedscope.json", "profile.json",
                              "report.html"])
    assert printed[3] == "{'c': 1}"
    assert printed[5].startswith("# HELP pxos_launches_total")
    summary = json.loads((tmp_path / "saxpy-profile" / "profile.json").read_text())
    assert summary["kernels"][0]["launches"] == 20


def test_screenshots_are_there():
    for name in ("profile-report.png", "profile-trace.png"):  # the report; trace.json
        assert f"images/{name}" in PAGE.read_text()
        assert (ROOT / "docs" / "images" / name).stat().st_size > 10_000
