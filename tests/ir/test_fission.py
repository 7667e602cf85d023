"""Barrier fission as an IR rewrite (``ir/passes/fission.fission``): what it makes of
kernels with barriers, and that a renderer knowing nothing of barriers (the plain
C-family renderer, with a block loop written here in a few lines, as a new CPU target
would) runs its output to NumPy's results."""

from __future__ import annotations

import ctypes
import math
import subprocess

import numpy as np
import pytest

from pxos.backends.c import compiler
from pxos.codegen.c import render_c
from pxos.codegen.dialect import Dialect, render_unit
from pxos.codegen.render import Renderer, var_name
from pxos.ir import nodes as ir
from pxos.ir.check_host import check_program
from pxos.ir.passes.fission import fission, lane_array
from pxos.lang.px.parser import parse_program

REDUCE = """\
GPU_KERNEL block_sum
    GPU_PARAM data float[]
    GPU_PARAM partial float[]
    GPU_SHARED_MEM tile float 64
    GPU_BLOCK 64
GPU_THREAD_CODE:
    THREAD_ID → tid
    LOCAL_ID → lid
    BLOCK_ID → bid
    SET v = 0.0
    IF tid < LEN(data):
        LOAD data[tid] → v
    STORE v → tile[lid]
    SYNC_THREADS
    SET stride = 32
    WHILE stride > 0:
        IF lid < stride:
            STORE tile[lid] + tile[lid + stride] → tile[lid]
        SYNC_THREADS
        SET stride = stride / 2
    IF lid == 0:
        STORE tile[0] → partial[bid]
GPU_END
"""
TILED_MM = """\
GPU_KERNEL mm
    GPU_PARAM a float[,]
    GPU_PARAM b float[,]
    GPU_PARAM c float[,]
    GPU_SHARED_MEM ta float 8 8
    GPU_SHARED_MEM tb float 8 8
    GPU_THREADS COLS(c), ROWS(c)
    GPU_BLOCK 8, 8
GPU_THREAD_CODE:
    THREAD_ID → x, y
    LOCAL_ID → lx, ly
    SET acc = 0.0
    SET turns = 0
    FOR t IN 0..COLS(a) / 8:
        STORE a[y, t * 8 + lx] → ta[ly, lx]
        STORE b[t * 8 + ly, x] → tb[ly, lx]
        SYNC_THREADS
        FOR k IN 0..8:
            SET acc = acc + ta[ly, k] * tb[k, lx]
        SET turns = turns + 1
        SYNC_THREADS
    STORE acc + f32(turns) → c[y, x]
GPU_END
"""


def kernel(src: str) -> ir.Kernel:
    return check_program(parse_program(src, "t.px")).kernels[0]


def outside_thread_loops(body: ir.Body):
    """The statements of ``body`` not inside an ``ir.ThreadLoop``."""
    for s in body:
        yield s
        if not isinstance(s, ir.ThreadLoop):
            for inner in ir.children(s):
                yield from outside_thread_loops(inner)


@pytest.mark.parametrize("src", [REDUCE, TILED_MM], ids=["reduce", "tiled_mm"])
def test_fission_leaves_no_barrier_and_no_thread_index_outside_its_thread_loops(src):
    k = kernel(src)
    block = fission(k)
    assert not any(isinstance(s, ir.Sync) for s in ir.walk(block.body))
    for s in outside_thread_loops(block.body):
        assert not isinstance(s, (ir.Store, ir.Atomic))
        for e in ir.stmt_exprs(s):
            assert not any(isinstance(x, ir.Builtin) and x.name in ("thread_id", "local_id")
                           for x in ir.subexprs(e))
    assert block.variables == k.variables and block.params == k.params
    assert block.shared[:len(k.shared)] == k.shared


def test_values_crossing_a_barrier_live_in_lane_arrays():
    block = fission(kernel(TILED_MM))
    lanes = {s.name: s for s in block.shared if s.name.endswith("__lane")}
    assert set(lanes) == {lane_array("acc"), lane_array("turns"), lane_array("k")}
    assert all(s.shape == (64,) for s in lanes.values())
    loops = [s for s in ir.walk(block.body) if isinstance(s, ir.ThreadLoop)]
    assert len(loops) == 4  # before the FOR, its two regions, after it
    # thread indices are set again in each thread loop, not kept per thread
    last = loops[-1]
    assert [s.name for s in last.body[:2]] == ["x", "y"]
    assert isinstance(last.body[0].value, ir.Builtin)
    assert {"x", "y", "acc", "turns"} <= set(last.private)


def test_a_block_loop_header_reads_thread_zeros_copy_of_a_uniform_value():
    block = fission(kernel(REDUCE))
    loop = next(s for s in block.body if isinstance(s, ir.While))
    read = loop.cond.lhs
    assert isinstance(read, ir.Load) and read.array == lane_array("stride")
    assert [i.value for i in read.index] == [0]


def plain_c(block: ir.Kernel) -> tuple[str, str]:
    """``block`` (from :func:`fission`) as a C function by the base renderer and dialect,
    around a serial loop over the blocks: what a new CPU target writes."""
    d = Dialect()
    r = Renderer(block, d)
    axes = "xyz"[:block.ndim]
    params = [f"int64_t pxos_n{a}" for a in axes]
    for p in block.params:
        params.append(f"{d.type_name(p.type.elem)} *{var_name(p.name)}")
        params += [f"int64_t d{n}_{p.name}" for n in range(p.type.ndim)]
    private = {n for s in ir.walk(block.body) if isinstance(s, ir.ThreadLoop)
               for n in s.private}
    inner = [f"{d.type_name(s.elem)} {var_name(s.name)}[{math.prod(s.shape)}] = {{0}};"
             for s in block.shared]
    inner += [d.declare(var_name(n), t, "0") for n, t in block.variables if n not in private]
    inner += r.body(block.body, 0)
    lines = [f"const int32_t pxos_bs{a} = {b};" for a, b in zip(axes, block.block)]
    lines += [f"const int32_t pxos_g{a} = (int32_t)(pxos_n{a} / pxos_bs{a});" for a in axes]
    loops = inner
    for a in axes:
        loops = [f"for (int32_t pxos_b{a} = 0; pxos_b{a} < pxos_g{a}; ++pxos_b{a}) {{",
                 *loops, "}"]
    fn = "\n".join([f"void run({', '.join(params)}) {{", *lines, *loops, "}"])
    return render_unit(d, tuple(r.intrinsics.needed.items()), [fn]), fn


def run_plain(tmp_path, block: ir.Kernel, arrays: list[np.ndarray], threads: tuple):
    source, _ = plain_c(block)
    (tmp_path / "k.c").write_text(source)
    subprocess.run([compiler(), "-O2", "-shared", "-fPIC", "-std=gnu11", "-o",
                    str(tmp_path / "k.so"), str(tmp_path / "k.c")], check=True)
    lib = ctypes.CDLL(str(tmp_path / "k.so"))
    args = [ctypes.c_int64(n) for n in threads]
    for a in arrays:
        args.append(a.ctypes.data_as(ctypes.c_void_p))
        args += [ctypes.c_int64(n) for n in a.shape]
    lib.run(*args)


@pytest.mark.skipif(compiler() is None, reason="no C compiler")
def test_a_renderer_without_barriers_runs_the_rewritten_reduction(tmp_path):
    data = np.random.default_rng(1).random(64 * 50).astype(np.float32)
    partial = np.zeros(50, np.float32)
    run_plain(tmp_path, fission(kernel(REDUCE)), [data, partial], (data.size,))
    np.testing.assert_allclose(partial, data.reshape(50, 64).sum(1), rtol=1e-5)


@pytest.mark.skipif(compiler() is None, reason="no C compiler")
def test_a_renderer_without_barriers_runs_the_rewritten_tiled_product(tmp_path):
    rng = np.random.default_rng(2)
    a, b = rng.random((24, 32), np.float32), rng.random((32, 40), np.float32)
    c = np.zeros((24, 40), np.float32)
    run_plain(tmp_path, fission(kernel(TILED_MM)), [a, b, c], (40, 24))
    np.testing.assert_allclose(c, a @ b + 4, rtol=1e-5)


def test_the_c_target_marks_thread_loops_without_inner_loops_as_simd():
    source = render_c(kernel(TILED_MM)).function
    # four thread loops; the one holding FOR k is left to gcc's outer-loop vectoriser
    assert source.count("#pragma omp simd") == 3
    assert "v_x = (pxos_bx * pxos_bsx + pxos_lx);" in source  # set again, not read back
