"""Every kernel of the examples and of the tests' `.px` strings renders, for each target,
exactly as when ``fixtures/renders.json`` was written (``fixtures/make_renders.py``): a
change to the renderers that is not meant to change generated code leaves it byte-identical.
"""

import importlib.util
import json
from pathlib import Path

import pytest

FIXTURES = Path(__file__).with_name("fixtures")
_spec = importlib.util.spec_from_file_location("make_renders", FIXTURES / "make_renders.py")
make_renders = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_renders)
SAVED = json.loads((FIXTURES / "renders.json").read_text())


@pytest.mark.parametrize("target", make_renders.TARGETS)
def test_renders_match_saved(target):
    programs = SAVED["programs"]
    saved = {k: v for k, v in SAVED["renders"].items() if k.endswith((f"/{target}/0",
                                                                        f"/{target}/1"))}
    assert len(saved) > 150  # the corpus holds the examples and the tests' kernels
    now = make_renders.renders(programs, targets=(target,))
    changed = sorted(k for k in saved if now.get(k) != saved[k])
    assert not changed, f"{len(changed)} renders differ, first: {changed[:5]}"
    assert set(now) == set(saved)
