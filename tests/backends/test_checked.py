"""Checked mode on every backend: an out-of-bounds index stops the launch with a PxBoundsError
naming the kernel, the array, the index, the extent and the `.px` line; in-bounds kernels
give the same results checked as unchecked."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from pxos.cli.main import app
from pxos.errors import PxBoundsError
from pxos.host.launch import run_kernel
from pxos.ir.check_host import check_program
from pxos.lang.px.parser import parse_program

SHIFT = """\
GPU_KERNEL shift
    GPU_PARAM k int
    GPU_PARAM a int[]
    GPU_PARAM out int[]
GPU_THREAD_CODE:
    THREAD_ID → i
    STORE a[i + k] * 2 → out[i]
GPU_END
"""

GRID = """\
GPU_KERNEL rows
    GPU_PARAM extra int
    GPU_PARAM img float[,]
    GPU_THREADS COLS(img), ROWS(img) + extra
GPU_THREAD_CODE:
    THREAD_ID → x, y
    SET v = img[y, x]
    STORE v + 1.0 → img[y, x]
GPU_END
"""

SHARED = """\
GPU_KERNEL tile_copy
    GPU_PARAM a float[]
    GPU_SHARED_MEM tile float 64
    GPU_BLOCK 64
GPU_THREAD_CODE:
    THREAD_ID → i
    LOCAL_ID → l
    STORE 1.0 → tile[l * 2]
    SYNC_THREADS
    IF i < LEN(a):
        STORE tile[l] → a[i]
GPU_END
"""


def kernel(src: str):
    return check_program(parse_program(src, "t.px")).kernels[0]


def test_in_bounds_checked_equals_reference(backend):
    a = np.arange(1000, dtype=np.int32)
    out = np.zeros_like(a)
    run_kernel(backend, kernel(SHIFT), [np.int32(0), a, out], (1000,), checked=True)
    np.testing.assert_array_equal(out, a * 2)


def test_read_past_the_end_is_reported(backend):
    a = np.arange(1000, dtype=np.int32)
    with pytest.raises(PxBoundsError) as info:
        run_kernel(backend, kernel(SHIFT), [np.int32(1), a, np.zeros_like(a)], (1000,),
                   checked=True)
    e = info.value
    assert "kernel 'shift'" in e.message and "array 'a'" in e.message
    assert "index 1000" in e.message and "extent 1000" in e.message
    assert (e.span.line, e.span.col, e.span.length) == (7, 11, 8)  # at `a[i + k]`, as interp
    # the backend still works after a violation (a GPU context is not lost)
    out = np.zeros_like(a)
    run_kernel(backend, kernel(SHIFT), [np.int32(0), a, out], (1000,), checked=True)
    np.testing.assert_array_equal(out, a * 2)


def test_negative_index_is_reported(backend):
    a = np.arange(10, dtype=np.int32)
    with pytest.raises(PxBoundsError, match="index -3 is out of bounds"):
        run_kernel(backend, kernel(SHIFT), [np.int32(-3), a, np.zeros_like(a)], (10,),
                   checked=True)


def test_row_past_the_end_names_the_axis(backend):
    img = np.zeros((5, 7), dtype=np.float32)
    with pytest.raises(PxBoundsError, match=r"index 5 is out of bounds on axis 0 of array "
                                            r"'img' \(extent 5, shape \(5, 7\)\)"):
        run_kernel(backend, kernel(GRID), [np.int32(1), img], (7, 6), checked=True)


def test_shared_memory_index_is_checked(backend):
    a = np.zeros(64, dtype=np.float32)
    with pytest.raises(PxBoundsError, match=r"array 'tile' \(extent 64"):
        run_kernel(backend, kernel(SHARED), [a], (64,), checked=True)


def test_cli_checked_run_stops_with_the_line(tmp_path, backend):
    prog = tmp_path / "oob.px"
    prog.write_text(SHIFT + "ALLOC a int SIZE 100\nALLOC out LIKE a\nRUN shift 5 a out\n"
                    "WRITE_FILE out TO \"out.npy\"\n")
    result = CliRunner().invoke(app, ["run", str(prog), "--checked", "--device", backend])
    assert result.exit_code == 2, result.output
    assert f"{prog}:7:11: bounds error" in result.output
    assert "index 100 is out of bounds of array 'a' (extent 100" in result.output
    assert not (tmp_path / "out.npy").exists()  # the run stopped before WRITE_FILE
