"""examples/dask/heat.py runs and its Dask result equals one launch per step."""

from __future__ import annotations

import pytest

pytest.importorskip("dask", reason="needs the dask extra: pip install 'pxos[dask]'")

import os  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402

from tests.conftest import ROOT  # noqa: E402


def test_heat_example_matches_one_launch_per_step(tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run([sys.executable, str(ROOT / "examples" / "dask" / "heat.py"),
                           "--workers", "0", "--n", "96", "--chunk", "40", "--steps", "4",
                           "--check"], capture_output=True, text=True, env=env, timeout=600,
                          cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "4 steps of 96²" in done.stdout
    assert "largest difference from one launch per step: 0.0" in done.stdout
