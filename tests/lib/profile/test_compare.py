"""Regression detection (``lib/profile/compare``) on per-launch times drawn here."""

from __future__ import annotations

import numpy as np
from scipy.stats import mannwhitneyu

from pxos.lib.profile.compare import compare


def _profile(times: dict) -> dict:
    return {"kernels": [{"name": n, "device": "c", "times_s": list(t)}
                        for n, t in times.items()], "lines": []}


def test_verdicts():
    rng = np.random.default_rng(0)
    base = {"same": rng.lognormal(-7, 0.1, 50), "slower": rng.lognormal(-7, 0.1, 50),
            "faster": rng.lognormal(-7, 0.1, 50), "gone": [1e-3] * 5}
    new = {"same": rng.lognormal(-7, 0.1, 50), "slower": 1.5 * rng.lognormal(-7, 0.1, 50),
           "faster": 0.5 * rng.lognormal(-7, 0.1, 50), "added": [1e-3] * 5}
    changes = {c.name: c for c in compare(_profile(new), _profile(base))}
    assert {n: c.verdict for n, c in changes.items()} == {
        "same": "same", "slower": "regression", "faster": "improvement", "gone": "gone",
        "added": "new"}
    slow = changes["slower"]
    direct = mannwhitneyu(new["slower"], base["slower"])  # SciPy, called here
    assert abs(slow.p - direct.pvalue) < 1e-15
    assert abs(slow.effect - direct.statistic / 2500) < 1e-12 and slow.effect > 0.95
    assert abs(slow.ratio - np.median(new["slower"]) / np.median(base["slower"])) < 1e-12


def test_small_slowdown_below_threshold_is_not_a_regression():
    rng = np.random.default_rng(1)
    a = rng.lognormal(-7, 0.01, 200)
    (c,) = compare(_profile({"k": 1.05 * a}), _profile({"k": a}), threshold=0.10)
    assert c.p < 1e-6 and c.verdict == "same"  # significant, but 5 % < 10 %
