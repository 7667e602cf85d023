"""examples/diversity/verses.py: its projection and its picture, on small embeddings."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from tests.conftest import EXAMPLES

pytest.importorskip("matplotlib")


def _example():
    spec = importlib.util.spec_from_file_location("verses", EXAMPLES / "diversity/verses.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_pca_finds_the_two_widest_axes():
    rng = np.random.default_rng(0)
    E = rng.standard_normal((500, 5)) * np.array([10.0, 0.1, 5.0, 0.1, 0.1])
    xy = _example().pca2(E)
    spread = xy.std(axis=0)
    assert spread[0] == pytest.approx(10, rel=0.1) and spread[1] == pytest.approx(5, rel=0.1)


def test_the_picture_is_a_png(tmp_path):
    E = np.random.default_rng(1).standard_normal((80, 6))
    png = tmp_path / "p.png"
    _example().draw(E, np.arange(80), png, steps=20)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
