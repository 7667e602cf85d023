"""Regression detection between two ``profile.json`` files (``pxos profile --compare``).

Per kernel (name and device), the per-launch times of the new run and the base are
compared with the Mann-Whitney U test (``scipy.stats.mannwhitneyu``, two-sided): a rank
test, so a few slow outliers do not decide it, and no normal distribution is assumed
(Mann and Whitney, Ann. Math. Statist. 18(1), 1947). The effect size is the common-language
effect size ``U / (n₁ n₂)``: the probability that a launch of the new run is slower than
one of the base (0.5: no change). A kernel is a **regression** when ``p < alpha`` and its
median time grew by more than ``threshold`` (a fraction: 0.10 is 10 %); an **improvement**
the same the other way.

Host lines have one sampled total each, not a distribution, so they are reported by the
change of their share of the wall time, without a test.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from pxos.errors import PxFileError
from pxos.extras import require

ALPHA = 0.01
THRESHOLD = 0.10


@dataclass
class Change:
    """One kernel's comparison.

    Attributes:
        name, device: the kernel; base_median_s, new_median_s: median launch seconds.
        ratio: new median / base median; p: the test's p-value (None: too few launches);
        effect: ``U / (n₁ n₂)``; verdict: ``regression``, ``improvement``, ``same``,
        ``new`` or ``gone``.
    """

    name: str
    device: str
    base_median_s: float | None
    new_median_s: float | None
    ratio: float | None
    p: float | None
    effect: float | None
    verdict: str


def load_profile(path: str | Path) -> dict:
    """A ``profile.json``'s contents.

    Raises:
        PxFileError: missing, unreadable, or not a pxos profile.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise PxFileError(f"cannot read the profile {path}: {err}", None,
                          "give a profile.json written by `pxos profile`") from None
    if not isinstance(data, dict) or "kernels" not in data:
        raise PxFileError(f"{path} is not a pxos profile.json (no 'kernels')", None)
    return data


def compare(new: dict, base: dict, alpha: float = ALPHA,
            threshold: float = THRESHOLD) -> list[Change]:
    """A :class:`Change` per kernel in either profile (``profile.json`` contents),
    regressions first.

    Raises:
        PxPackageError: SciPy is not installed (the profile extra).
    """
    mannwhitneyu = require("scipy.stats", "profile", "pxos profile --compare").mannwhitneyu

    old = {(k["name"], k["device"]): k["times_s"] for k in base["kernels"]}
    now = {(k["name"], k["device"]): k["times_s"] for k in new["kernels"]}
    out = []
    for key in sorted(set(old) | set(now)):
        a, b = old.get(key), now.get(key)
        if not a or not b:
            out.append(Change(*key, _median(a), _median(b), None, None, None,
                              "new" if b else "gone"))
            continue
        ma, mb = float(np.median(a)), float(np.median(b))
        ratio = mb / ma if ma > 0 else float("inf")
        p = effect = None
        verdict = "same"
        if len(a) >= 3 and len(b) >= 3:
            test = mannwhitneyu(b, a, alternative="two-sided")
            p, effect = float(test.pvalue), float(test.statistic) / (len(a) * len(b))
            if p < alpha and ratio > 1 + threshold:
                verdict = "regression"
            elif p < alpha and ratio < 1 / (1 + threshold):
                verdict = "improvement"
        out.append(Change(*key, ma, mb, ratio, p, effect, verdict))
    order = {"regression": 0, "improvement": 1, "new": 2, "gone": 3, "same": 4}
    return sorted(out, key=lambda c: order[c.verdict])


def line_changes(new: dict, base: dict, threshold: float = THRESHOLD) -> list[dict]:
    """Host lines whose share of the wall time changed by more than ``threshold``
    (absolute, in shares: 0.10 is 10 percentage points)."""
    def shares(d):
        return {(r["file"], r["line"], r["function"]): r["wall_share"] for r in d["lines"]}
    a, b = shares(base), shares(new)
    rows = [{"file": k[0], "line": k[1], "function": k[2], "base_share": a.get(k, 0.0),
             "new_share": b.get(k, 0.0)} for k in set(a) | set(b)]
    return sorted((r for r in rows if abs(r["new_share"] - r["base_share"]) > threshold),
                  key=lambda r: -abs(r["new_share"] - r["base_share"]))


def _median(times) -> float | None:
    return float(np.median(times)) if times else None


def as_dicts(changes: list[Change]) -> list[dict]:
    return [asdict(c) for c in changes]
