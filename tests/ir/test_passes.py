"""The IR passes (``ir/passes``): what each makes of small kernels, and that kernels keep
their results on every backend present once the passes run."""

from __future__ import annotations

import numpy as np
import pytest

from pxos.codegen.c import render_c
from pxos.codegen.targets import render_unit_for
from pxos.errors import PxBoundsError
from pxos.host.launch import run_kernel
from pxos.ir import nodes as ir
from pxos.ir.check_host import check_program
from pxos.ir.passes.checked import Bound, array_ids, check_bounds
from pxos.ir.passes.uniform import hoist_uniform
from pxos.lang.px.parser import parse_program

GATHER = """\
GPU_KERNEL gather
    GPU_PARAM idx int[]
    GPU_PARAM img float[,]
    GPU_PARAM out float[]
    GPU_SHARED_MEM tile float 8
    GPU_BLOCK 8
GPU_THREAD_CODE:
    THREAD_ID → i
    SET v = img[idx[i], 2]
    STORE v → out[i]
    ATOMIC_ADD out[0] 1.0
GPU_END
"""


def kernel(src: str) -> ir.Kernel:
    return check_program(parse_program(src, "t.px")).kernels[0]


def bounds_in(k: ir.Kernel) -> list[Bound]:
    return [x for s in ir.walk(k.body) for e in ir.stmt_exprs(s) for x in ir.subexprs(e)
            if isinstance(x, Bound)]


def test_check_bounds_wraps_every_index_once():
    k = kernel(GATHER)
    found = bounds_in(check_bounds(k))
    assert array_ids(k) == ["idx", "img", "out", "tile"]
    assert sorted((b.array, b.axis, b.array_no) for b in found) == [
        ("idx", 0, 0), ("img", 0, 1), ("img", 1, 1), ("out", 0, 2), ("out", 0, 2)]
    assert bounds_in(k) == []  # the input kernel is left as it was
    assert all(b.type.name == "i64" and b.args[0].type.is_int for b in found)


def test_a_bound_reports_its_access_and_nests():
    k = check_bounds(kernel(GATHER))
    load = k.body[1].value  # img[idx[i], 2]
    row = load.index[0]
    assert isinstance(row, Bound) and (row.where.line, row.where.col) == (9, 13)
    inner = row.args[0]  # idx[i], itself checked at its own span
    assert isinstance(inner, ir.Load) and isinstance(inner.index[0], Bound)
    assert (inner.index[0].where.line, inner.index[0].where.col) == (9, 17)
    store, atomic = k.body[2], k.body[3]
    assert store.index[0].where == store.span and atomic.index[0].where == atomic.span


@pytest.mark.parametrize("target", ["c", "cuda", "opencl"])
def test_every_target_renders_each_bound_once(target):
    k = kernel(GATHER)
    source = render_unit_for(target, [k], checked=True)
    assert source.count("pxos_bound_i64(") - 1 == len(bounds_in(check_bounds(k))) == 5
    assert "pxos_bound" not in render_unit_for(target, [k])


UNIFORM = """\
GPU_KERNEL k
    GPU_PARAM a int[]
    GPU_PARAM src int[]
    GPU_PARAM n int
    GPU_BLOCK 64
GPU_THREAD_CODE:
    THREAD_ID → i
    BLOCK_ID → b
    SET last = LEN(a) - 1
    SET twice = last * 2 + n
    SET first = src[0]
    SET acc = 0
    SET acc = acc + i
    IF i < LEN(a):
        SET inner = 5
        STORE b + twice + first + acc + inner → a[i]
GPU_END
"""


def test_hoist_takes_only_block_uniform_top_level_assignments():
    k = kernel(UNIFORM)
    hoisted, rest = hoist_uniform(k)
    # b: BLOCK_ID; last/twice: extents and parameters; first: reads memory; acc: assigned
    # twice; inner: under an IF; i: THREAD_ID
    assert [s.name for s in hoisted] == ["b", "last", "twice"]
    assert [getattr(s, "name", "IF") for s in rest] == ["i", "first", "acc", "acc", "IF"]


def test_uniform_values_run_once_per_block_with_the_same_results(backend):
    a = np.zeros(1000, np.int32)
    src = np.full(4, 40, np.int32)
    run_kernel(backend, kernel(UNIFORM), [a, src, np.int32(7)], (1000,))
    i = np.arange(1000)
    np.testing.assert_array_equal(a, i // 64 + 2 * 999 + 7 + 40 + i + 5)


BARRIER = """\
GPU_KERNEL rev
    GPU_PARAM a float[]
    GPU_PARAM out float[]
    GPU_SHARED_MEM tile float 128
    GPU_BLOCK 128
GPU_THREAD_CODE:
    LOCAL_ID → l
    BLOCK_ID → b
    BLOCK_SIZE → bs
    SET base = b * bs
    STORE a[base + l] → tile[l]
    SYNC_THREADS
    STORE tile[bs - 1 - l] → out[base + l]
GPU_END
"""


def test_barrier_kernel_keeps_uniform_values_once_per_block_in_c():
    source = render_c(kernel(BARRIER)).function
    assert "int32_t v_base = 0;" in source and "v_base[" not in source
    # the local index is set again after the barrier (ir/passes/fission), not kept per thread
    assert "v_l__lane[" not in source and source.count("v_l = pxos_lx;") == 2


def test_barrier_kernel_results_with_uniform_values(backend):
    a = np.arange(1024, dtype=np.float32)
    out = np.zeros_like(a)
    run_kernel(backend, kernel(BARRIER), [a, out], (1024,))
    np.testing.assert_array_equal(out, a.reshape(8, 128)[:, ::-1].reshape(-1))


def test_checked_mode_sees_an_index_from_a_uniform_value(backend):
    src = BARRIER.replace("STORE a[base + l]", "STORE a[base + l + 1]")
    a = np.arange(1024, dtype=np.float32)
    with pytest.raises(PxBoundsError) as info:
        run_kernel(backend, kernel(src), [a, np.zeros_like(a)], (1024,), checked=True)
    assert "index 1024 is out of bounds of array 'a'" in info.value.message
    assert (info.value.span.line, info.value.span.col) == (11, 11)


STENCIL = """\
GPU_KERNEL smooth
    GPU_PARAM a float[,]
    GPU_PARAM out float[,]
GPU_THREAD_CODE:
    THREAD_ID → x, y
    SET w = COLS(a) - 1
    SET h = ROWS(a) - 1
    IF x >= 1 AND x < w AND y >= 1 AND y < h:
        STORE (a[y, x - 1] + a[y, x + 1] + a[y - 1, x] + a[y + 1, x]) * 0.25 → out[y, x]
GPU_END
"""


def test_thread_bounds_read_uniform_values_in_c():
    source = render_c(kernel(STENCIL)).function
    assert "pxos_lx_lo" in source and "if (" not in source.split("pxos_lx <")[-1]


def test_stencil_with_uniform_bounds_matches_numpy(backend):
    a = np.random.default_rng(3).random((37, 53)).astype(np.float32)
    out = np.zeros_like(a)
    run_kernel(backend, kernel(STENCIL), [a, out], (53, 37))
    want = np.zeros_like(a)
    want[1:-1, 1:-1] = (a[1:-1, :-2] + a[1:-1, 2:] + a[:-2, 1:-1] + a[2:, 1:-1]) * 0.25
    np.testing.assert_allclose(out, want, rtol=1e-6)
