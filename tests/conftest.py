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


# CI installs every extra and sets this: a test reaching a missing package then fails
REQUIRE_EXTRAS = os.environ.get("PXOS_REQUIRE_EXTRAS") == "1"


def needs_extra(module: str, extra: str):
    """``module`` imported, or the calling test module skipped where it is not installed
    (README's ``pip install -e '.[test]'`` installs no extra); under
    ``PXOS_REQUIRE_EXTRAS=1`` (CI) a missing one is an error, never a skip."""
    if REQUIRE_EXTRAS:
        import importlib

        return importlib.import_module(module)
    return pytest.importorskip(module, reason=f"pip install 'pxos[{extra}]'")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A test that reaches an optional package this environment lacks (pxos raises a
    ``PxPackageError``, whose hint names the extra) is reported skipped, unless
    ``PXOS_REQUIRE_EXTRAS=1``."""
    outcome = yield
    report = outcome.get_result()
    if call.excinfo is not None and not REQUIRE_EXTRAS:
        from pxos.errors import PxPackageError

        if call.excinfo.errisinstance(PxPackageError):
            report.outcome = "skipped"
            report.longrepr = (str(item.path), item.location[1] or 0,
                               f"Skipped: {call.excinfo.value.hint}")


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
