"""examples/ternary/mlp_digits.py trains, quantizes and keeps most of its accuracy."""

from __future__ import annotations

import importlib.util

import pytest

from tests.conftest import EXAMPLES


def test_mlp_digits_example():
    pytest.importorskip("sklearn")
    spec = importlib.util.spec_from_file_location("mlp_digits",
                                                  EXAMPLES / "ternary" / "mlp_digits.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    r = module.main(["--epochs", "40", "--device", "c"])
    assert r["float32"]["accuracy"] > 0.9
    for name in ("twn", "absmean", "calibrated"):
        assert r[name]["accuracy"] > 0.75, name
        assert r[name]["weight_bytes"] * 10 < r["float32"]["weight_bytes"]
