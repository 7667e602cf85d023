"""The GPU cases of benchmarks/ternary.py run and check their own results (a smoke run at
small sizes; skipped without CUDA and CuPy)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pxos import backends

BENCHMARKS = Path(__file__).resolve().parents[3] / "benchmarks"


@pytest.mark.skipif("cuda" not in backends.available(), reason="needs the cuda backend")
def test_gpu_cases_smoke():
    pytest.importorskip("cupy")
    sys.path.insert(0, str(BENCHMARKS))
    try:
        from gpu_ternary import gpu_cases
    finally:
        sys.path.remove(str(BENCHMARKS))
    out = gpu_cases({"balanced-ternary 0.2.0 add": 1e-5}, quick=True, repeat=2)
    assert not [k for k, v in out.items() if isinstance(v, dict) and "error" in v], out
    assert out["numbers"]["trits"]["equal_to_c"] and out["numbers"]["planes"]["equal_to_c"]
    assert out["conversion"]["exact"]
    for case in out["matvec"]:
        assert case["max_abs_error"] < 1e-3 and case["packed_s"] > 0
        assert case["block_kernel_max_abs_error"] < 1e-3
    assert out["qutrits"]["max_diff_vs_c"] < 1e-9


@pytest.mark.skipif("cuda" not in backends.available(), reason="needs the cuda backend")
def test_encode_variants_smoke(tmp_path):
    pytest.importorskip("cupy")
    out = tmp_path / "variants.json"
    subprocess.run([sys.executable, str(BENCHMARKS / "ternary_gpu_variants.py"), "--numbers",
                    "8192", "--repeat", "2", "--out", str(out)], check=True, timeout=300)
    result = json.loads(out.read_text())
    assert result["reference"] == {"equal_to_c": True, "round_trip": True}
    cases = result["cases"]
    assert not [k for k, v in cases.items() if "error" in v], cases
    assert all(v["exact"] for k, v in cases.items() if k.startswith("encode")), cases
