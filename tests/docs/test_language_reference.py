"""Every block marked `px check` in docs/language.md is a complete program that parses, checks
and runs; the reference names every statement of the language."""

from __future__ import annotations

import re

import pytest

from pxos.host.program import ProgramRun
from pxos.ir.check_host import check_program
from pxos.lang.px.parser import parse_program
from tests.conftest import ROOT

DOC = (ROOT / "docs" / "language.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```px check\n(.*?)```", DOC, flags=re.S)


def test_the_reference_has_checked_examples():
    assert len(BLOCKS) >= 4


@pytest.mark.parametrize("number", range(len(BLOCKS)))
def test_example_checks_and_runs(number, tmp_path):
    path = tmp_path / f"example{number}.px"
    path.write_text(BLOCKS[number], encoding="utf-8")
    program = check_program(parse_program(BLOCKS[number], str(path)))
    printed: list[str] = []
    ProgramRun(program, device="c", emit=printed.append).run()
    if "PRINT" in BLOCKS[number]:
        assert printed


def test_every_keyword_is_in_the_reference():
    from pxos.ir.reserved import PX_KEYWORDS

    missing = sorted(k for k in PX_KEYWORDS if not re.search(rf"\b{k}\b", DOC))
    assert missing == []


def test_the_loop_example_converges_as_numpy_does():
    import numpy as np

    block = next(b for b in BLOCKS if "WHILE hottest" in b)
    block = block.replace("RANDOM a SEED 1 RANGE 0.0 100.0", "FILL a 100.0")
    program = check_program(parse_program(block, "rod.px"))
    printed: list[str] = []
    run = ProgramRun(program, device="c", emit=printed.append).run()

    f = np.float32
    a = np.full(64, 100, f)
    steps = 0
    while steps < 100 or a.max() > 1.0:  # the FOR's 100 steps, then the WHILE
        b = np.zeros_like(a)
        b[1:-1] = a[1:-1] + f(0.25) * (a[:-2] - f(2) * a[1:-1] + a[2:])
        a = b
        steps += 1
    assert printed == [f"below 1 degree after {steps} steps"]
    np.testing.assert_allclose(run.array("a", None), a, rtol=1e-5, atol=1e-6)
