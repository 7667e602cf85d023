"""pxos.embed against sentence-transformers' encode on real sentences (FP32)."""

import numpy as np
import pytest

from pxos.errors import PxArgumentError, PxFileError
from pxos.lib.inference import embed


def _cos(a, b):
    return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


def test_fp32_matches_sentence_transformers(sentences, reference):
    e = embed(sentences, precision="fp32", device="cpu", batch_size=16)
    assert e.shape == reference.shape == (96, 384) and e.dtype == np.float32
    assert np.allclose(np.linalg.norm(e, axis=1), 1, atol=1e-5)
    assert _cos(e, reference).min() >= 0.9999


def test_order_and_batching_do_not_change_rows(sentences):
    a = embed(sentences[:20], precision="fp32", device="cpu", batch_size=3)
    b = embed(sentences[:20][::-1], precision="fp32", device="cpu", batch_size=64)[::-1]
    assert _cos(a, b).min() >= 0.99999
    one = embed(sentences[5], precision="fp32", device="cpu")
    assert _cos(one, a[5:6]).min() >= 0.99999


def test_errors():
    with pytest.raises(PxArgumentError):
        embed([1, 2])
    with pytest.raises(PxFileError):
        embed(["x"], model="/nonexistent/model")
