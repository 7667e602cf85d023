"""The kernel advisor (``pxos lint``): each lint on its bad case and not on its fix, the
examples, the command line, and that every fix computes what its bad case computes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from pxos.cli.main import app
from pxos.errors import PxBarrierError, PxTypeError
from pxos.host.launch import run_kernel
from pxos.host.program import ProgramRun
from pxos.ir.check_host import check_program
from pxos.ir.lint import CODES, lint_program
from pxos.lang.px.parser import parse_file, parse_program
from pxos.testing import assert_close
from tests.conftest import EXAMPLES

CASES = Path(__file__).parent / "lint_cases"
# where each bad case's lint points: line, column
WHERE = {"stride": (10, 21), "reuse": (16, 29), "block": (10, 5), "divergence": (11, 8),
         "contention": (10, 16), "barrier": (18, 9)}
runner = CliRunner()


def lint_text(text: str):
    return lint_program(parse_program(text, "t.px"))


def codes(lints) -> list[str]:
    return [x.code for x in lints]


def test_every_code_has_a_case():
    assert set(WHERE) == set(CODES)
    assert {p.name for p in CASES.glob("*.px")} == \
        {f"{c}_{v}.px" for c in CODES for v in ("bad", "fixed")}


@pytest.mark.parametrize("code", CODES)
def test_bad_case_gives_its_lint(code):
    lints = lint_program(parse_file(CASES / f"{code}_bad.px"))
    assert codes(lints) == [code], [x.render() for x in lints]
    (lint,) = lints
    assert (lint.span.line, lint.span.col) == WHERE[code]
    assert lint.severity == ("error" if code == "barrier" else "warning")
    assert lint.hint and lint.span.file == str(CASES / f"{code}_bad.px")


@pytest.mark.parametrize("code", CODES)
def test_fixed_case_is_clean(code):
    assert lint_program(parse_file(CASES / f"{code}_fixed.px")) == []


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.px")), ids=lambda p: p.stem)
def test_examples_have_no_errors(path):
    lints = lint_program(parse_file(path))
    assert all(x.severity == "warning" for x in lints)
    expected = {"edges": ["reuse", "reuse"], "mandelbrot": ["divergence"],
                "heat3d": ["reuse", "divergence"], "heat": ["divergence", "reuse"],
                "grid_sum": ["divergence", "divergence"]}  # only at the tail: the lint is flow-insensitive
    assert codes(lints) == expected.get(path.stem, [])


def test_stencils_in_the_examples():
    blur, sobel = lint_program(parse_file(EXAMPLES / "edges.px"))
    assert blur.span.line == 25 and "in a loop over dy, dx" in blur.message
    assert sobel.span.line == 38 and "at 12 places" in sobel.message
    # the escape-time IF of mandelbrot depends on computed values: another hint
    (div,) = lint_program(parse_file(EXAMPLES / "mandelbrot.px"))
    assert div.span.line == 13 and "inherent" in div.hint


KERNEL = """\
GPU_KERNEL k
    GPU_PARAM a float[]
    GPU_PARAM out float[]
    GPU_PARAM hist u32[]
GPU_THREAD_CODE:
    THREAD_ID → tid
    BLOCK_ID → bid
{body}
GPU_END
"""


@pytest.mark.parametrize("body,expected", [
    # boundary guards do not diverge; tid / 32 is the same for a warp
    ("    IF tid < LEN(a):\n        STORE a[tid] → out[tid]", []),
    ("    IF tid / 32 % 2 == 0:\n        STORE a[tid] → out[tid]", []),
    ("    IF tid & 1 == 1:\n        STORE a[tid] → out[tid]", ["divergence"]),
    ("    FOR i IN 0..tid:\n        STORE a[i] → out[tid]", ["divergence"]),
    # a stride of 4, and a stride that is a parameter
    ("    STORE a[tid * 4] → out[tid]", ["stride"]),
    ("    STORE a[tid] → out[tid * LEN(hist)]", ["stride"]),
    # one field of a record per thread is no stencil; three offsets of one array are
    ("    STORE a[tid] + a[tid] + a[tid] → out[tid]", []),
    ("    STORE a[tid - 1] + a[tid] + a[tid + 1] → out[tid]", ["reuse"]),
    ("    STORE a[tid] + a[tid + 1] → out[tid]", []),
    # a grid-stride loop: its index moves with its own variable only, and the trip counts
    # of a warp's threads differ by one at most (as at a boundary); a short step diverges
    ("    NUM_THREADS → nt\n    FOR i IN tid..LEN(a) STEP nt:\n        STORE a[i] → out[i]",
     []),
    ("    FOR i IN tid..LEN(a) STEP 2:\n        STORE a[i] → out[i]", ["divergence"]),
    # atomics: one address for all, one per block, one lane, data-dependent
    ("    ATOMIC_ADD hist[0] 1", ["contention"]),
    ("    ATOMIC_ADD hist[bid] 1", ["contention"]),
    ("    IF tid == 0:\n        ATOMIC_ADD hist[0] 1", []),
    ("    ATOMIC_ADD hist[u32(a[tid] * 10.0)] 1", []),
])
def test_rules(body, expected):
    assert codes(lint_text(KERNEL.format(body=body))) == expected


MATVEC = """\
GPU_KERNEL mv
    GPU_PARAM A float[,]
    GPU_PARAM x float[]
    GPU_PARAM y float[]
    GPU_THREADS {threads}(A)
GPU_THREAD_CODE:
    THREAD_ID → i
    SET acc = 0.0
    FOR k IN 0..{loop}(A):
        SET acc = acc + {element} * x[k]
    STORE acc → y[i]
GPU_END
"""
# one thread per row reads its own row (A[i, k]): strided, but no neighbour re-reads it;
# one thread per column (A[k, i], y = Aᵀx) is coalesced and no stencil either
MATVECS = {"rows": ("ROWS", "COLS", "A[i, k]", ["stride"]),
           "columns": ("COLS", "ROWS", "A[k, i]", [])}


@pytest.mark.parametrize("way", sorted(MATVECS))
def test_matvec_is_no_stencil(way):
    # before: "reuse" ('A' is read in a loop over k … a stencil) for the columns case
    threads, loop, element, expected = MATVECS[way]
    text = MATVEC.format(threads=threads, loop=loop, element=element)
    assert codes(lint_text(text)) == expected


@pytest.mark.parametrize("index", ["min(tid + k, LEN(a) - 1)", "tid + k - k * k"])
def test_loop_stencil_in_one_index_is_still_reuse(index):
    body = f"    SET acc = 0.0\n    FOR k IN 0..3:\n        SET acc = acc + a[{index}]\n" \
           "    STORE acc → out[tid]"
    assert codes(lint_text(KERNEL.format(body=body))) == ["reuse"]


@pytest.mark.parametrize("way", sorted(MATVECS))
def test_matvec_computes_the_product(way, backend):
    threads, loop, element, _ = MATVECS[way]
    kernel = check_program(parse_program(
        MATVEC.format(threads=threads, loop=loop, element=element), "mv.px")).kernels[0]
    rng = np.random.default_rng(5)
    a = rng.uniform(-1, 1, (37, 29)).astype(np.float32)
    matrix = a if way == "rows" else a.T
    x = rng.uniform(-1, 1, matrix.shape[1]).astype(np.float32)
    y = np.zeros(matrix.shape[0], np.float32)
    run_kernel(backend, kernel, [a, x, y], (len(y),))
    want = matrix.astype(np.float64) @ x.astype(np.float64)
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-5)


def test_stride_messages():
    (x,) = lint_text(KERNEL.format(body="    STORE a[tid * 4] → out[tid]"))
    assert "'a' 4 elements apart" in x.message and x.span.col == 11


def test_barrier_error_does_not_stop_the_other_kernels():
    text = (CASES / "barrier_bad.px").read_text() + (CASES / "stride_bad.px").read_text()
    text = text.replace("SET n = 72", "SET m = 72").replace("SIZE n, n", "SIZE m, m")
    with pytest.raises(PxBarrierError):  # the checker itself still refuses the program
        check_program(parse_program(text, "t.px"))
    assert codes(lint_text(text)) == ["barrier", "stride"]


def test_other_errors_propagate():
    with pytest.raises(PxTypeError):
        lint_text(KERNEL.format(body="    STORE 1.5 → hist[tid]"))


# -- the command line

def test_cli_prints_carets_hints_and_a_summary():
    path = CASES / "stride_bad.px"
    result = runner.invoke(app, ["lint", str(path)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith(f"{path}:10:21: warning[stride]: neighbouring threads write")
    assert lines[1] == "   10 |     STORE a[y, x] → out[x, y]"
    assert lines[2] == " " * 28 + "^" * 9
    assert lines[3].startswith("  hint: make the thread's x index the last")
    assert lines[-1] == "1 warning, 0 errors"


def test_cli_exit_codes():
    result = runner.invoke(app, ["lint", str(CASES / "barrier_bad.px")])
    assert result.exit_code == 2 and "error[barrier]: SYNC_THREADS inside IF" in result.output
    assert result.output.splitlines()[-1] == "0 warnings, 1 error"
    result = runner.invoke(app, ["lint", str(EXAMPLES / "saxpy.px")])
    assert result.exit_code == 0 and result.output.strip() == "0 warnings, 0 errors"
    result = runner.invoke(app, ["lint", str(EXAMPLES / "edges.px")])
    assert result.exit_code == 0 and result.output.splitlines()[-1] == "2 warnings, 0 errors"


def test_cli_program_errors_exit_2(tmp_path):
    bad = tmp_path / "bad.px"
    bad.write_text("GPU_KERNEL k\n    GPU_PARAM a float[]\nGPU_THREAD_CODE:\n"
                   "    THREAD_ID → tid\n    STORE 1.5 → a[tid] +\nGPU_END\n")
    result = runner.invoke(app, ["lint", str(bad)])
    assert result.exit_code == 2 and f"{bad}:5:" in result.output and "^" in result.output


def test_cli_json():
    result = runner.invoke(app, ["lint", "--json", str(EXAMPLES / "edges.px")])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [d["code"] for d in data] == ["reuse", "reuse"]
    assert set(data[0]) == {"code", "severity", "message", "line", "col", "hint", "file"}
    assert (data[0]["line"], data[0]["col"]) == (25, 39)
    result = runner.invoke(app, ["lint", "--json", str(CASES / "barrier_bad.px")])
    assert result.exit_code == 2 and json.loads(result.output)[0]["severity"] == "error"


# -- each fix computes what its bad case computes, on every backend

def run_case(path: Path, backend: str) -> dict[str, np.ndarray]:
    run = ProgramRun(check_program(parse_file(path)), device=backend,
                     emit=lambda s: None).run()
    return {name: run.residency.on_host(name).copy() for name, v in run.values.items()
            if isinstance(v, np.ndarray)}


def reference(code: str, inputs: dict[str, np.ndarray]) -> tuple[str, np.ndarray]:
    """The output array of a case, computed with NumPy."""
    if code == "stride":
        return "out", inputs["a"].T
    if code == "reuse":
        src = np.pad(inputs["src"], 1, mode="edge")
        h, w = inputs["src"].shape
        return "dst", sum(src[dy:dy + h, dx:dx + w] for dy in range(3) for dx in range(3)) / 9
    if code == "block":
        return "out", np.float32(2.5) * inputs["x"] + inputs["y"]
    if code == "divergence":
        r = inputs["x"].copy()
        even = np.arange(r.size) % 2 == 0
        for _ in range(100):
            r = np.where(even, r * r * np.float32(0.5) + np.float32(0.25),
                         np.float32(0.75) - r * np.float32(0.5))
        return "out", r
    return "total", np.array([inputs["data"].sum()], np.uint32)


@pytest.mark.parametrize("code", [c for c in CODES if c != "barrier"])
def test_fix_computes_the_same(code, backend):
    bad = run_case(CASES / f"{code}_bad.px", backend)
    fixed = run_case(CASES / f"{code}_fixed.px", backend)
    assert_close(fixed, bad, rtol=1e-5, atol=1e-6, where=f"{code}_fixed")  # names, dtypes
    name, expected = reference(code, bad)
    np.testing.assert_allclose(fixed[name], expected, rtol=1e-5, atol=1e-6)


def test_barrier_fix_runs(backend):
    run_case(CASES / "barrier_fixed.px", backend)  # its VERIFY checks the block sums


def test_docs_show_the_cases():
    import re

    from tests.conftest import ROOT

    text = (ROOT / "docs" / "lint.md").read_text()
    assert all(f"## `{code}`" in text for code in CODES)
    kernels = re.findall(r"^```\n(GPU_KERNEL.*?GPU_END)\n```", text, re.S | re.M)
    cases = "\n".join(p.read_text() for p in CASES.glob("*.px"))
    assert len(kernels) == 10 and all(k in cases for k in kernels)
