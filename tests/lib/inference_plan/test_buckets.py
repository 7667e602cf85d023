"""Length buckets: padded widths against a plain reference, and padding that keeps rows."""

import math

import numpy as np
import pytest

from pxos.errors import PxArgumentError
from pxos.lib.inference import buckets


def _reference(n: int, bucket: str) -> int:
    if bucket == "exact":
        return n
    if bucket == "pow2":
        return max(8, 2 ** math.ceil(math.log2(n)))
    step = int(bucket[1:])
    return math.ceil(n / step) * step


@pytest.mark.parametrize("bucket", buckets.SETS)
def test_width_matches_reference(bucket):
    for n in range(1, 300):
        assert buckets.width(n, bucket) == _reference(n, bucket), (n, bucket)
        assert buckets.width(n, bucket, cap=256) == max(n, min(_reference(n, bucket), 256))


def test_pad_keeps_rows_and_mask():
    ids = [[101, 7, 102], [101, 102], [101, 5, 6, 7, 8, 9, 102]]
    for bucket in buckets.SETS:
        f = buckets.pad(ids, bucket)
        w = _reference(7, bucket)
        assert f["input_ids"].shape == f["attention_mask"].shape == (3, w)
        assert f["input_ids"].dtype == np.int64 and not f["token_type_ids"].any()
        for r, row in enumerate(ids):
            assert f["input_ids"][r, :len(row)].tolist() == row
            assert not f["input_ids"][r, len(row):].any()
            assert f["attention_mask"][r].sum() == len(row)


def test_batches_and_padded_tokens():
    lengths = [5, 3, 9, 3, 17, 8]
    got = buckets.batches(lengths, 4)
    assert [b.tolist() for b in got] == [[1, 3, 0, 5], [2, 4]]
    assert buckets.padded_tokens(lengths, 4, "exact") == 4 * 8 + 2 * 17
    assert buckets.padded_tokens(lengths, 4, "x16") == 4 * 16 + 2 * 32


def test_unknown_set():
    with pytest.raises(PxArgumentError, match="bucket set"):
        buckets.width(5, "x7")
