"""Calibration on the CPU runtimes present: the record, the plan that follows it, and
embeddings that every bucket set leaves equal to sentence-transformers'."""

import numpy as np
import pytest

from pxos.lib.inference import buckets, calibration, embed, explain
from pxos.lib.inference.formats import bundled_model
from pxos.lib.inference.infer import placed, replan
from pxos.lib.inference.measure import calibrate


@pytest.fixture
def record(sentences, tmp_path, monkeypatch):
    monkeypatch.setattr(calibration, "cache_folder", lambda: tmp_path)
    rec = calibrate("all-MiniLM-L6-v2", texts=sentences[:12], repeat=1,
                    batches={"cpu": (1, 4)}, devices=["cpu"])
    yield rec
    replan()


def test_record_and_plan(record):
    runs = {(r["runtime"], r["batch"]) for r in record["runs"]}
    assert ("openvino", 1) in runs and ("openvino", 4) in runs
    assert all(r["seconds"] > 0 and r["sentences_per_s"] == pytest.approx(r["batch"] / r["seconds"])
               for r in record["runs"])
    (where, b), = record["buckets"].items()
    assert set(b["seconds"]) == set(buckets.SETS) and b["choice"] in buckets.SETS
    assert b["seconds"][b["choice"]] == min(b["seconds"].values())
    assert b["tokens"]["exact"] <= min(b["tokens"].values())
    assert calibration.load(bundled_model(), "auto") == record
    top = max(record["runs"], key=lambda r: r["sentences_per_s"])
    sess, p = placed("all-MiniLM-L6-v2", "cpu")
    assert (p["runtime"], p["batch"], p["bucket"]) == (top["runtime"], top["batch"], b["choice"])
    assert sess.runtime == top["runtime"]
    assert f"batch {top['batch']}" in explain("all-MiniLM-L6-v2", "cpu")


@pytest.mark.parametrize("bucket", ["x16", "pow2"])
def test_buckets_leave_embeddings_unchanged(bucket, sentences, reference, tmp_path,
                                            monkeypatch):
    """Padding to a bucket adds masked tokens only: rows still match sentence-transformers."""
    monkeypatch.setattr(calibration, "cache_folder", lambda: tmp_path)
    rec = {"runs": [{"runtime": "openvino", "device": "cpu", "batch": 8, "seconds": 1.0,
                     "sentences_per_s": 8.0}], "sequence": 32, "sentences": 8,
           "buckets": {"openvino/cpu": {"batch": 8, "choice": bucket,
                                        "seconds": {bucket: 1.0}}}}
    calibration.save(bundled_model(), "fp32", rec)
    replan()
    try:
        assert placed("all-MiniLM-L6-v2", "cpu", "fp32")[1]["bucket"] == bucket
        e = embed(sentences[:24], device="cpu", precision="fp32")
    finally:
        replan()
    cos = (e * reference[:24]).sum(1) / np.linalg.norm(reference[:24], axis=1)
    assert cos.min() >= 0.9999
