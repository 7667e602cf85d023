"""Shared fixtures: every test that runs a kernel is parametrised over the backends present."""

from __future__ import annotations

import os
import subprocess
import sys
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


def run_native_script(script: Path, cwd: Path, cache: Path) -> str:
    """Run ``script`` in a fresh Python with this checkout's pxos and compile cache ``cache``;
    return its stdout. Skips the test when the script reports that the native call helper
    could not be built (it prints ``native False``); fails on a non-zero exit."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]), PXOS_CACHE_DIR=str(cache))
    r = subprocess.run([sys.executable, str(script)], cwd=cwd, env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    if "native True" not in r.stdout:
        pytest.skip("the native call helper cannot be built here")
    return r.stdout
