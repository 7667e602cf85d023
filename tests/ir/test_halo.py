"""ir/analysis/halo: how a kernel is cut into blocks. The expected roles and reaches are read
off each kernel's source by hand (an offset of 1 reaches 1, a clamp over -2..2 reaches 2)."""

from __future__ import annotations

import numpy as np
import pytest

from pxos.errors import PxArgumentError
from pxos.ir.analysis.halo import blocking
from pxos.ir.check import check_kernel
from pxos.lang.px.parser import parse_file, parse_program
from tests.conftest import EXAMPLES
from tests.lib.dask import kernels as K


def _px(file: str, name: str):
    return check_kernel(next(k for k in parse_file(EXAMPLES / file).kernels if k.name == name))


def _src(text: str):
    return check_kernel(parse_program(text).kernels[0])


@pytest.mark.parametrize("file, name, halo, roles", [
    ("saxpy.px", "saxpy", (0,), {"x": "block", "y": "block", "out": "block"}),
    ("heat.px", "diffuse", (1, 1), {"a": "block", "b": "block"}),
    ("edges.px", "blur5", (2, 2), {"src": "block", "dst": "block"}),
    ("edges.px", "sobel", (1, 1), {"src": "block", "edges": "block"}),
    ("edges.px", "grayscale", (0, 0), {"img": "block", "gray": "block"}),
    ("heat3d.px", "heat_step", (1, 1, 1), {"u": "block", "out": "block"}),
    ("histogram.px", "histogram", (0, 0), {"img": "block", "hist": "reduce"}),
])
def test_example_kernels_are_cut_with_the_reach_of_their_accesses(file, name, halo, roles):
    cut = blocking(_px(file, name))
    assert cut.halo == halo
    assert cut.roles == roles


def test_python_kernels_the_same():
    x = np.zeros(8, np.float32)
    assert blocking(K.box5.ir(x, x)).halo == (2,)
    assert blocking(K.shifted.ir(x, 3, x)).halo == (None,)  # i + k: k is not a constant
    cut = blocking(K.extremes.ir(*[np.zeros(4, np.int32)] * 3))
    assert cut.roles == {"x": "block", "low": "reduce", "high": "reduce"}
    assert cut.ops == {"low": "min", "high": "max"}
    t = np.zeros(2, np.float32)
    assert blocking(K.split_sign.ir(x, t, x, np.zeros(8, np.uint8))).roles["table"] == "whole"


@pytest.mark.parametrize("test, reach", [
    ("x < 3", 3), ("x <= 3", 4), ("x > 2", 3), ("x >= 2", 2), ("x == 0", 1), ("x != 4", 5),
    ("x >= 0", 0), ("x < LEN(a)", 0), ("x == LEN(a) - 1", 1), ("x > LEN(a) - 3", 2),
    ("x + 1 < LEN(a)", 1), ("x - 2 >= 0", 2), ("3 > x", 3),
])
def test_an_edge_test_reaches_as_far_as_its_outcome_differs_from_the_interior(test, reach):
    cut = blocking(_src(f"""GPU_KERNEL k
    GPU_PARAM a float[]
    GPU_PARAM b float[]
GPU_THREAD_CODE:
    THREAD_ID → x
    SET v = a[x]
    IF {test}:
        SET v = 0.0
    STORE v → b[x]
GPU_END
"""))
    assert cut.halo == (reach,)


@pytest.mark.parametrize("body, words", [
    ("STORE f32(x) → b[x]", "thread index 'x' as a value"),
    ("STORE a[LEN(a) - 1 - x] → b[x]", "thread index 'x' as a value"),
    ("STORE a[x] + a[2 * x] → b[x]", "index 0 of 'a' is not the thread index"),
    ("STORE a[x] → b[x + 1]", "store to 'b' at another thread"),
    ("STORE a[x] / f32(LEN(a)) → b[x]", "extent of the cut array 'a'"),
    ("BLOCK_ID → g\n    STORE a[x] → b[x]", "block_id"),
])
def test_a_kernel_that_depends_on_its_position_is_refused_at_the_place(body, words):
    text = f"""GPU_KERNEL k
    GPU_PARAM a float[]
    GPU_PARAM b float[]
GPU_THREAD_CODE:
    THREAD_ID → x
    {body}
GPU_END
"""
    with pytest.raises(PxArgumentError) as err:
        blocking(_src(text))
    assert words in str(err.value)
    assert err.value.span is not None and err.value.span.line >= 5


def test_shared_memory_and_mixed_atomics_are_refused():
    with pytest.raises(PxArgumentError, match="shared memory"):
        blocking(_px("reduce.px", "block_sum"))
    with pytest.raises(PxArgumentError, match="written by atomics and also"):
        blocking(_src("""GPU_KERNEL k
    GPU_PARAM a float[]
    GPU_PARAM s float[]
GPU_THREAD_CODE:
    THREAD_ID → x
    ATOMIC_ADD s[0] a[x]
    STORE 0.0 → s[1]
GPU_END
"""))
