"""REDUCE and SORT wherever they are placed: NumPy on the host, CuPy on ``cuda``, against
NumPy's own results."""

from __future__ import annotations

import numpy as np
import pytest

from pxos import backends
from pxos.host.program import ProgramRun
from pxos.ir.check_host import check_program
from pxos.lang.px.parser import parse_program
from pxos.testing import for_each_backend

PROGRAM = """
READ_FILE "data.npy" INTO a
READ_FILE "ints.npy" INTO k
REDUCE SUM a → s
REDUCE MIN a → lo
REDUCE MAX a → hi
REDUCE PROD k → p
SORT a → sorted
SORT k → ksorted
"""
@for_each_backend(exclude=("interp",), argname="device")
def test_reduce_and_sort_match_numpy(tmp_path, device):
    rng = np.random.default_rng(3)
    a = rng.normal(size=100_003).astype(np.float32)
    k = rng.integers(-3, 4, size=21).astype(np.int32)
    np.save(tmp_path / "data.npy", a)
    np.save(tmp_path / "ints.npy", k)
    (tmp_path / "p.px").write_text(PROGRAM)
    program = check_program(parse_program(PROGRAM, str(tmp_path / "p.px")))
    run = ProgramRun(program, device=device).run()
    v = run.values
    expected_side = "cuda" if device == "cuda" else "host"
    assert {s.device for s in run.steps if s.what in ("REDUCE", "SORT")} == {expected_side}
    assert v["s"] == pytest.approx(np.sum(a, dtype=np.float64), rel=1e-9)
    assert v["lo"] == a.min() and v["hi"] == a.max()
    assert v["p"] == np.prod(k, dtype=np.int64)
    np.testing.assert_array_equal(run.array("sorted", None), np.sort(a, kind="stable"))
    np.testing.assert_array_equal(run.array("ksorted", None), np.sort(k, kind="stable"))


@pytest.mark.skipif("cuda" not in backends.available(), reason="no cuda here")
def test_sort_on_cuda_puts_nans_last_like_numpy():
    import cupy

    from pxos.backends.library import sort_array

    a = np.array([3.0, np.nan, -1.0, np.inf, np.nan, 0.0], np.float32)
    np.testing.assert_array_equal(cupy.asnumpy(sort_array(cupy.asarray(a))),
                                  np.sort(a, kind="stable"))
