"""Backends CI requires: each name in ``$PXOS_REQUIRE_BACKENDS`` (comma-separated) must be
present, so a missing driver fails the run instead of skipping every test of that backend.
Without the variable the test is skipped (a developer's machine may lack a GPU backend)."""

from __future__ import annotations

import os

import pytest

from pxos import backends
from pxos.errors import PxBackendError

REQUIRED = [n.strip() for n in os.environ.get("PXOS_REQUIRE_BACKENDS", "").split(",")
            if n.strip()]


@pytest.mark.parametrize("name", REQUIRED or [
    pytest.param(None, marks=pytest.mark.skip(reason="PXOS_REQUIRE_BACKENDS is not set"))])
def test_required_backend_is_available(name):
    if name in backends.available():
        return
    try:
        backends.get(name)
    except PxBackendError as e:
        pytest.fail(f"backend {name!r} is required (PXOS_REQUIRE_BACKENDS) but cannot run "
                    f"here:\n{e}")
    pytest.fail(f"backend {name!r} is required but not listed by backends.available()")
