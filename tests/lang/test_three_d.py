"""3-D launches and DIM in both front-ends: the errors (a PxError at the offending column,
with its caret), and the Python twin of a 3-D `.px` kernel (``pxos.parallel(d, h, w)``,
``a.shape[2]``) on every backend present, against NumPy and the `.px` kernel."""

from __future__ import annotations

import numpy as np
import pytest

import pxos
from pxos.errors import PxArgumentError, PxSyntaxError, PxTypeError
from pxos.host.launch import run_kernel
from pxos.ir.check_host import check_program
from pxos.host.program import ProgramRun
from pxos.lang.px.parser import parse_program
from tests.backends.test_three_d import blocks_of
from tests.conftest import ROOT

KERNEL = """\
GPU_KERNEL k
    GPU_PARAM a float[,,]
    GPU_PARAM b float[,]
{header}
GPU_THREAD_CODE:
{body}
GPU_END
"""


def check(src: str):
    return check_program(parse_program(src, "e.px"))


def caret_col(err) -> int:
    """The column the rendered message's caret points at (1-based)."""
    text, caret = str(err).splitlines()[1:3]
    gutter = text.index("| ") + 2
    return caret.index("^") - gutter + 1


@pytest.mark.parametrize("line,col,kind,message", [
    ("    STORE 1.0 → a[0, 0, DIM(a, 3)]", 32, PxTypeError, "integer 0, 1 or 2"),
    ("    SET n = DIM(b, 2)", 20, PxTypeError, r"'b' is f32\[,\], so the axis is 0 or 1"),
    ("    SET k = 1\n    SET n = DIM(a, k)", 20, PxTypeError, "integer 0, 1 or 2"),
    ("    SET n = DIM(a, -1)", 20, PxTypeError, "integer 0, 1 or 2"),
    ("    SET n = DIM(a, 1.0)", 20, PxTypeError, "integer 0, 1 or 2"),
    ("    SET n = DIM(a)", 13, PxTypeError, "an array and an axis"),
    ("    SET n = DIM(2, 1)", 13, PxTypeError, "an array and an axis"),
])
def test_dim_errors_point_at_the_axis(line, col, kind, message):
    src = KERNEL.format(header="    GPU_THREADS 4", body=line)
    with pytest.raises(kind, match=message) as err:
        check(src)
    assert err.value.span.col == col and caret_col(err.value) == col, str(err.value)


def test_dim_errors_in_host_statements():
    with pytest.raises(PxTypeError, match="so the axis is 0 or 1") as err:
        check("ALLOC m f32 SIZE 4, 5\nPRINT DIM(m, 0), DIM(m, 2)\n")
    assert (err.value.span.line, err.value.span.col) == (2, 25)


@pytest.mark.parametrize("header,body,kind,message", [
    ("    GPU_THREADS 4, 4", "    THREAD_ID → x, y, z", PxTypeError, "needs a 3-D launch"),
    ("    GPU_THREADS 4, 4", "    BLOCK_SIZE → x, y, z", PxTypeError, "needs a 3-D launch"),
    ("    GPU_THREADS 4", "    LOCAL_ID → x, y, z", PxTypeError, "needs a 2-D launch"),
    ("    GPU_THREADS 4, 4, 4\n    GPU_BLOCK 8, 8", "    RETURN", PxSyntaxError,
     "GPU_BLOCK must give 3 positive sizes"),
    ("    GPU_THREADS 4, 4, 4\n    GPU_BLOCK 16, 16, 8", "    RETURN", PxSyntaxError,
     "at most 1024 threads"),
    ("    GPU_THREADS 4, 4, 4\n    GPU_BLOCK 1, 2, 128", "    RETURN", PxSyntaxError,
     "128 threads along z; CUDA allows at most 64"),
    ("    GPU_THREADS 4, 4, 4, 4", "    RETURN", PxSyntaxError, "unexpected ','"),
    ("    GPU_THREADS 4, 4, 4", "    THREAD_ID → x, y, z, w", PxSyntaxError, "unexpected ','"),
])
def test_launch_shape_errors(header, body, kind, message):
    with pytest.raises(kind, match=message):
        check(KERNEL.format(header=header, body=body))


def test_a_3d_kernel_with_barriers_needs_a_3d_block():
    src = KERNEL.format(header="    GPU_THREADS 4, 4, 4", body="    SYNC_THREADS")
    with pytest.raises(PxSyntaxError, match="block size must be fixed") as err:
        check(src)
    assert "n, m, l for 3-D" in err.value.hint


# ---------------------------------------------------------------------------- Python twin
PX = """\
GPU_KERNEL shade
    GPU_PARAM a float[,,]
    GPU_PARAM out float[,,]
    GPU_THREADS DIM(a, 2), DIM(a, 1), DIM(a, 0)
GPU_THREAD_CODE:
    THREAD_ID → x, y, z
    STORE a[z, y, x] * 2.0 + f32(z * 100 + y * 10 + x) / f32(DIM(a, 2)) → out[z, y, x]
GPU_END
"""


@pxos.kernel
def shade(a: pxos.Array[pxos.f32, 3], out: pxos.Array[pxos.f32, 3]):
    for z, y, x in pxos.parallel(a.shape[0], a.shape[1], a.shape[2]):
        out[z, y, x] = a[z, y, x] * 2.0 + pxos.f32(z * 100 + y * 10 + x) / pxos.f32(a.shape[2])


@pxos.kernel(block=(4, 2, 2))
def corners(out: pxos.Array[pxos.i32, 3]):
    x, y, z = pxos.thread_id(0), pxos.thread_id(1), pxos.thread_id(2)
    if z < out.shape[0] and y < out.shape[1] and x < out.shape[2]:
        out[z, y, x] = pxos.local_id() * 1000 + pxos.block_id(2) * 100 + pxos.block_size(2)


def test_python_3d_kernel_equals_px_and_numpy(backend):
    a = np.random.default_rng(5).uniform(-1, 1, (4, 6, 35)).astype(np.float32)
    got = np.zeros_like(a)
    shade(a, got, device=backend)
    z, y, x = np.meshgrid(*(np.arange(n) for n in a.shape), indexing="ij")
    ref = a * np.float32(2) + (z * 100 + y * 10 + x).astype(np.float32) / np.float32(35)
    np.testing.assert_allclose(got, ref, rtol=1e-6)
    px = np.zeros_like(a)
    run_kernel(backend, check(PX).kernels[0], [a, px], a.shape[::-1])
    np.testing.assert_array_equal(got, px)
    assert shade.ir(a, got).ndim == 3 and shade.ir(a, got).block == (32, 4, 2)


def test_python_thread_form_with_three_axes(backend):
    out = np.full((3, 5, 9), -1, np.int32)
    corners(out, device=backend, threads=(9, 5, 3))
    z, y, x = np.meshgrid(np.arange(3), np.arange(5), np.arange(9), indexing="ij")
    lid = ((z % 2) * 2 + y % 2) * 4 + x % 4
    np.testing.assert_array_equal(out, lid * 1000 + (z // 2) * 100 + 2)


@pxos.kernel(block=(4, 2, 2))
def mirror(a: pxos.Array[pxos.f32, 3], out: pxos.Array[pxos.f32, 3]):
    tile = pxos.shared((2, 2, 4), pxos.f32)  # GPU_SHARED_MEM tile f32 2 2 4
    x, y, z = pxos.thread_id(0), pxos.thread_id(1), pxos.thread_id(2)
    lx, ly, lz = pxos.local_id(0), pxos.local_id(1), pxos.local_id(2)
    inside = z < a.shape[0] and y < a.shape[1] and x < a.shape[2]
    tile[lz, ly, lx] = a[z, y, x] if inside else 0.0
    pxos.sync_threads()
    if inside:
        out[z, y, x] = tile[1 - lz, 1 - ly, 3 - lx]


def test_python_3d_shared_tile_and_barrier(backend):
    a = np.random.default_rng(8).uniform(-1, 1, (5, 7, 45)).astype(np.float32)
    out = np.full_like(a, np.nan)
    mirror(a, out, device=backend, threads=a.shape[::-1])
    blocks = blocks_of(a)  # (gz, gy, gx, 2, 2, 4), zero-padded
    want = blocks[..., ::-1, ::-1, ::-1].transpose(0, 3, 1, 4, 2, 5).reshape(6, 8, 48)
    np.testing.assert_array_equal(out, want[:5, :7, :45])


def test_python_3d_errors():
    @pxos.kernel
    def fourth(a: pxos.Array[pxos.f32, 3]):
        for i in pxos.parallel(a.shape[3]):
            a[0, 0, i] = 0.0

    @pxos.kernel
    def flat_z(a: pxos.Array[pxos.f32, 2]):
        for y, x in pxos.parallel(a.shape[0], a.shape[1]):
            a[y, x] = pxos.f32(pxos.thread_id(2))

    @pxos.kernel
    def four(a: pxos.Array[pxos.f32, 3]):
        for w, z, y, x in pxos.parallel(1, 1, 1, 1):
            a[0, 0, 0] = 0.0

    a3, a2 = np.zeros((2, 2, 2), np.float32), np.zeros((2, 2), np.float32)
    with pytest.raises(PxTypeError, match=r"a.shape\[3\]: 'a' has 3 axes, so the axis is 0 or 1 "
                                          "or 2"):
        fourth(a3, device="interp")
    with pytest.raises(PxTypeError, match=r"pxos.thread_id\(2\) needs a 3-D launch"):
        flat_z(a2, device="interp")
    with pytest.raises(PxTypeError, match=r"pxos.parallel\(\) takes at most 3 arguments"):
        four(a3, device="interp")
    with pytest.raises(PxArgumentError, match="1, 2 or 3 axes, not 4"):
        corners(a3.astype(np.int32), device="interp", threads=(2, 2, 2, 2))


def test_the_3d_example_of_the_language_reference_runs(backend):
    doc = (ROOT / "docs" / "language.md").read_text()
    section = doc[doc.index("### Three dimensions"):]
    src = section[section.index("```\n") + 4:section.index("\n```", section.index("```\n"))]
    printed: list[str] = []
    run = ProgramRun(check(src + "\n"), device=backend, emit=printed.append).run()
    assert printed == ["cells: 36 x 50 x 70"]
    u, v = run.array("u", None), run.array("v", None)
    lap = (u[1:-1, 1:-1, :-2] + u[1:-1, 1:-1, 2:] + u[1:-1, :-2, 1:-1] + u[1:-1, 2:, 1:-1]
           + u[:-2, 1:-1, 1:-1] + u[2:, 1:-1, 1:-1] - np.float32(6) * u[1:-1, 1:-1, 1:-1])
    np.testing.assert_allclose(v[1:-1, 1:-1, 1:-1],
                               u[1:-1, 1:-1, 1:-1] + np.float32(0.125) * lap, rtol=1e-5,
                               atol=1e-4)
    assert np.array_equal(v[:, 0], u[:, 0]) and np.array_equal(v[-1], u[-1])
