"""The C probes' unit shipped with pxos and compiled first by calibration
(planner/probe_source; issue 14, "Calibration")."""

from __future__ import annotations

import pytest

from pxos import backends
from pxos.planner import probe_source

pytestmark = pytest.mark.skipif("c" not in backends.available(), reason="no C compiler")


def test_the_shipped_unit_is_what_the_c_backend_renders():
    assert probe_source.FILE.read_text(encoding="utf-8") == probe_source.render(), \
        "probes.c is stale: run python3 -m pxos.planner.probe_source"
    assert probe_source.PLACEHOLDER in probe_source.render()  # the path is not shipped


def test_a_build_of_other_text_is_not_used_and_is_stopped():
    early = probe_source.start()
    assert early is not None
    assert early.library("/* another unit */") is None and early.seconds is None
    assert early.over
