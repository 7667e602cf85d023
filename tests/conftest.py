"""Shared fixtures: every test that runs a kernel is parametrised over the backends present."""

from __future__ import annotations

from pathlib import Path

import pytest

from pxos.testing import backends_present

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
# The backends this machine can run (pxos.testing.for_each_backend runs a test on each); a
# new backend is tested by appearing in this list.
BACKENDS = backends_present()


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    """Each test session compiles into its own cache folder, never the user's."""
    monkeypatch.setenv("PXOS_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "pxos-cache"))


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    """The name of one backend present here (``interp``, ``c``, …): a test that takes
    ``backend`` runs once per backend, as with ``@pxos.testing.for_each_backend()``."""
    return request.param
