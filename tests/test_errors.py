"""Every error a user can cause: its class, its ``file:line:col``, the source line and the caret.

spec/px-language.md, "Errors": a ``PxError`` subclass whose message names file, line and
column, shows the source line with a caret, and says what was expected; on the command line
no traceback, exit code 2.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from pxos.cli.main import app
from pxos.errors import (
    PxArgumentError, PxBarrierError, PxBoundsError, PxError, PxFileError, PxNameError,
    PxRuntimeError, PxShapeError, PxSyntaxError, PxTypeError,
)
from pxos.host.launch import run_kernel
from pxos.host.program import ProgramRun
from pxos.ir.check_host import check_program
from pxos.lang.px.parser import parse_program

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.px"))


# ---------------------------------------------------------------------------- helpers

def assert_located(err: PxError, file: str, text: str, line: int, col: int,
                   length: int | None = None) -> None:
    """``err`` points at ``line``:``col`` of ``text`` (1-based) and renders the spec's way:
    ``file:line:col: kind: message``, then ``    N | <source line>``, then a caret line
    whose first ``^`` stands under column ``col``."""
    assert err.span is not None, f"{type(err).__name__} without a position: {err.message}"
    assert (err.span.line, err.span.col) == (line, col), err.render()
    if length is not None:
        assert err.span.length == length, err.render()
    rendered = str(err)
    assert rendered == err.render()
    out = rendered.splitlines()
    assert out[0] == f"{file}:{line}:{col}: {err.kind}: {err.message}"
    source_line = "".join(c if c.isprintable() else " " for c in text.split("\n")[line - 1])
    gutter = f"{line:>5} | "
    assert out[1] == gutter + source_line
    caret = out[2]
    assert set(caret.strip()) == {"^"}, rendered
    assert caret.index("^") == len(gutter) + col - 1, rendered
    assert caret.count("^") == max(1, err.span.length)


def col_of(text: str, line: int, needle: str, nth: int = 0) -> int:
    """1-based column of the ``nth`` occurrence of ``needle`` on ``line`` of ``text``."""
    src = text.splitlines()[line - 1]
    pos = -1
    for _ in range(nth + 1):
        pos = src.index(needle, pos + 1)
    return pos + 1


def check(text: str, file: str = "t.px"):
    return check_program(parse_program(text, file))


def check_error(text: str, cls: type, file: str = "t.px") -> PxError:
    with pytest.raises(PxError) as info:
        check(text, file)
    err = info.value
    assert type(err) is cls, f"expected {cls.__name__}, got {type(err).__name__}: {err}"
    return err


def kernel(body: str, header: str = "GPU_PARAM a float[]\n", name: str = "k") -> str:
    """A kernel: line 1 GPU_KERNEL, header lines, GPU_THREAD_CODE:, ``body``, GPU_END."""
    return f"GPU_KERNEL {name}\n{header}GPU_THREAD_CODE:\n{body}GPU_END\n"


def write_program(folder: Path, text: str, name: str = "p.px") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def run_file(path: Path, **options) -> ProgramRun:
    program = check_program(parse_program(path.read_text(encoding="utf-8"), str(path)))
    options.setdefault("device", "interp")
    return ProgramRun(program, emit=lambda _text: None, **options).run()


def run_error(path: Path, cls: type, **options) -> PxError:
    with pytest.raises(PxError) as info:
        run_file(path, **options)
    assert type(info.value) is cls, f"{type(info.value).__name__}: {info.value}"
    return info.value


# ---------------------------------------------------------------------------- syntax errors

def test_syntax_bad_token():
    text = kernel("    THREAD_ID → i\n    SET x = a[i] $ 2\n    STORE x → a[i]\n")
    err = check_error(text, PxSyntaxError)
    assert_located(err, "t.px", text, 5, col_of(text, 5, "$"))
    assert "'$'" in err.message


def test_syntax_unexpected_token_says_what_was_expected():
    text = "ALLOC x float SIZE 3\nFILL x\n"
    err = check_error(text, PxSyntaxError)
    assert_located(err, "t.px", text, 2, len("FILL x") + 1)
    assert "end of line" in err.message and "expected" in err.message


def test_syntax_missing_gpu_end_before_host_code():
    text = kernel("    THREAD_ID → i\n    STORE 1.0 → a[i]\n").replace("GPU_END\n", "")
    text += "ALLOC x float SIZE 4\nRUN k x\n"
    err = check_error(text, PxSyntaxError)
    assert_located(err, "t.px", text, 6, 1)
    assert "GPU_END" in err.message and "'k'" in err.message


def test_syntax_missing_gpu_end_at_end_of_file():
    text = "GPU_KERNEL k\nGPU_PARAM a float[]\nGPU_THREAD_CODE:\n    THREAD_ID → i\n"
    err = check_error(text, PxSyntaxError)
    assert "GPU_END" in err.message
    # Nothing follows the thread code: the error names the kernel's GPU_THREAD_CODE: line.
    assert_located(err, "t.px", text, 3, 1)


def test_syntax_missing_gpu_end_before_next_kernel():
    first = kernel("    THREAD_ID → i\n    STORE 1.0 → a[i]\n").replace("GPU_END\n", "")
    text = first + kernel("    THREAD_ID → i\n    STORE 2.0 → a[i]\n", name="k2")
    err = check_error(text, PxSyntaxError)
    assert "GPU_END" in err.message
    assert_located(err, "t.px", text, 6, 1)


@pytest.mark.parametrize("indent, col", [("\t", 1), ("  \t", 3), ("    \t", 5)])
def test_syntax_tab_in_indentation(indent, col):
    text = kernel(f"    THREAD_ID → i\n{indent}STORE 1.0 → a[i]\n")
    err = check_error(text, PxSyntaxError)
    assert "tab" in err.message
    assert_located(err, "t.px", text, 5, col, length=1)


def test_syntax_tab_in_host_indentation():
    text = "ALLOC x float SIZE 3\n\tFILL x 1.0\n"
    err = check_error(text, PxSyntaxError)
    assert_located(err, "t.px", text, 2, 1)


def test_syntax_unexpected_indent_in_thread_code():
    text = kernel("    THREAD_ID → i\n        STORE 1.0 → a[i]\n")
    err = check_error(text, PxSyntaxError)
    assert "indent" in err.message
    assert_located(err, "t.px", text, 5, 1, length=8)


def test_syntax_unexpected_indent_in_host_code():
    text = "ALLOC x float SIZE 3\n  FILL x 1.0\n"
    err = check_error(text, PxSyntaxError)
    assert "indent" in err.message
    assert_located(err, "t.px", text, 2, 1, length=2)


@pytest.mark.parametrize("word", ["ELSE:", "ELIF i > 2:"])
def test_syntax_else_without_if(word):
    text = kernel(f"    THREAD_ID → i\n    {word}\n        STORE 1.0 → a[i]\n")
    err = check_error(text, PxSyntaxError)
    assert "without an IF" in err.message
    assert_located(err, "t.px", text, 5, 5)


def test_syntax_else_after_unrelated_statement():
    text = kernel("    THREAD_ID → i\n    IF i > 2:\n        STORE 1.0 → a[i]\n"
                  "    STORE 2.0 → a[i]\n    ELSE:\n        STORE 3.0 → a[i]\n")
    err = check_error(text, PxSyntaxError)
    assert_located(err, "t.px", text, 8, 5)


@pytest.mark.parametrize("header, line", [
    ("GPU_PARAM a flaot[]\n", 2),
    ("GPU_PARAM a float[]\nGPU_PARAM s integer\n", 3),
])
def test_syntax_unknown_type_in_param(header, line):
    text = kernel("    THREAD_ID → i\n    STORE 1.0 → a[i]\n", header)
    err = check_error(text, PxTypeError)
    bad = text.splitlines()[line - 1].split()[-1].rstrip("[]")
    assert repr(bad) in err.message
    assert_located(err, "t.px", text, line, col_of(text, line, bad), length=len(bad))


def test_syntax_unknown_type_in_cast_and_alloc():
    text = "ALLOC x flt SIZE 3\n"
    err = check_error(text, PxTypeError)
    assert_located(err, "t.px", text, 1, col_of(text, 1, "flt"), length=3)
    text = kernel("    THREAD_ID → i\n    CAST i real → r\n    STORE r → a[i]\n")
    err = check_error(text, PxTypeError)
    assert_located(err, "t.px", text, 5, col_of(text, 5, "real"), length=4)


def test_syntax_unknown_gpu_target():
    text = kernel("    THREAD_ID → i\n    STORE 1.0 → a[i]\n",
                  "GPU_PARAM a float[]\nGPU_TARGET tpu\n")
    err = check_error(text, PxSyntaxError)
    assert_located(err, "t.px", text, 3, col_of(text, 3, "tpu"))


def test_syntax_host_statement_in_thread_code():
    text = kernel("    THREAD_ID → i\n    ALLOC t float SIZE 3\n")
    err = check_error(text, PxSyntaxError)
    assert_located(err, "t.px", text, 5, 5)


def test_syntax_error_names_the_file_given():
    text = "SET x = = 1\n"
    err = check_error(text, PxSyntaxError, file="dir/my prog.px")
    assert_located(err, "dir/my prog.px", text, 1, 9)


# ---------------------------------------------------------------------------- type errors

def test_type_float_stored_into_u8_without_cast():
    text = kernel("    THREAD_ID → i\n    SET v = 1.5\n    STORE v → img[i]\n",
                  "GPU_PARAM img u8[]\n")
    err = check_error(text, PxTypeError)
    assert "u8" in err.message and "f32" in err.message
    assert err.hint and "CAST" in err.hint
    assert_located(err, "t.px", text, 6, 5)


def test_type_float_stored_into_u8_with_cast_is_fine(backend):
    # before: only "does not raise"; now the cast's result (truncation toward zero)
    program = check(kernel("    THREAD_ID → i\n    SET v = 1.5 + f32(i)\n"
                           "    STORE u8(v) → img[i]\n", "GPU_PARAM img u8[]\n"))
    img = np.zeros(10, np.uint8)
    run_kernel(backend, program.kernels[0], [img], (10,))
    np.testing.assert_array_equal(img, (1.5 + np.arange(10)).astype(np.uint8))


def test_type_float_assigned_to_int_variable():
    text = kernel("    THREAD_ID → i\n    SET n = 0\n    SET n = 2.5\n    STORE n → a[i]\n",
                  "GPU_PARAM a int[]\n")
    err = check_error(text, PxTypeError)
    assert_located(err, "t.px", text, 6, 5)


@pytest.mark.parametrize("expr, bad", [
    ("a[i] & 2", "a[i]"),
    ("3 | a[i]", "a[i]"),
    ("i << 1.5", "1.5"),
    ("a[i] ^ a[i]", "a[i]"),
])
def test_type_bitwise_on_floats(expr, bad):
    text = kernel(f"    THREAD_ID → i\n    SET x = {expr}\n")
    err = check_error(text, PxTypeError)
    assert "bitwise" in err.message
    assert_located(err, "t.px", text, 5, col_of(text, 5, bad), length=len(bad))


def test_type_bitwise_not_on_float():
    text = kernel("    THREAD_ID → i\n    SET x = ~a[i]\n")
    err = check_error(text, PxTypeError)
    assert_located(err, "t.px", text, 5, col_of(text, 5, "~"))


def test_type_too_many_indices_on_store():
    text = kernel("    THREAD_ID → i\n    STORE 1.0 → a[i, i]\n")
    err = check_error(text, PxTypeError)
    assert "1-D" in err.message and "2 indexes" in err.message
    assert_located(err, "t.px", text, 5, 5)


def test_type_too_few_indices_on_load():
    text = kernel("    THREAD_ID → x, y\n    SET v = m[y]\n    STORE v → m[y, x]\n",
                  "GPU_PARAM m float[,]\n")
    err = check_error(text, PxTypeError)
    assert "2-D" in err.message
    assert_located(err, "t.px", text, 5, col_of(text, 5, "m[y]"), length=4)


def test_type_float_index():
    text = kernel("    THREAD_ID → i\n    SET f = 1.0\n    STORE 1.0 → a[f]\n")
    err = check_error(text, PxTypeError)
    assert "index" in err.message
    assert_located(err, "t.px", text, 6, col_of(text, 6, "f]"))


def test_type_array_used_as_scalar():
    text = kernel("    THREAD_ID → i\n    SET v = a + 1.0\n")
    err = check_error(text, PxTypeError)
    assert_located(err, "t.px", text, 5, col_of(text, 5, "a +"), length=1)


# ---------------------------------------------------------------------------- names

def test_undefined_name_in_kernel():
    text = kernel("    THREAD_ID → i\n    SET v = a[i] * scale\n    STORE v → a[i]\n")
    err = check_error(text, PxNameError)
    assert "'scale'" in err.message
    assert_located(err, "t.px", text, 5, col_of(text, 5, "scale"), length=5)


def test_undefined_array_in_kernel():
    text = kernel("    THREAD_ID → i\n    STORE 1.0 → b[i]\n")
    err = check_error(text, PxNameError)
    assert "'b'" in err.message
    assert_located(err, "t.px", text, 5, 5)


def test_undefined_name_in_host_code():
    text = "SET n = 4\nALLOC x float SIZE n, m\n"
    err = check_error(text, PxNameError)
    assert "'m'" in err.message
    assert_located(err, "t.px", text, 2, col_of(text, 2, "m"), length=1)


def test_undefined_array_in_run():
    text = kernel("    THREAD_ID → i\n    STORE 1.0 → a[i]\n") + "RUN k data\n"
    err = check_error(text, PxNameError)
    assert_located(err, "t.px", text, 7, col_of(text, 7, "data"), length=4)


def test_undefined_kernel_in_run():
    text = "ALLOC x float SIZE 3\nRUN scale x\n"
    err = check_error(text, PxNameError)
    assert "'scale'" in err.message
    assert_located(err, "t.px", text, 2, 1)


def test_duplicate_parameter():
    text = kernel("    THREAD_ID → i\n    STORE 1.0 → a[i]\n",
                  "GPU_PARAM a float[]\nGPU_PARAM b float\nGPU_PARAM a int\n")
    err = check_error(text, PxNameError)
    assert "already defined" in err.message
    assert_located(err, "t.px", text, 4, 11, length=1)


def test_duplicate_shared_and_parameter():
    text = kernel("    LOCAL_ID → l\n    STORE 1.0 → a[l]\n",
                  "GPU_PARAM a float[]\nGPU_SHARED_MEM a float 64\nGPU_BLOCK 64\n")
    err = check_error(text, PxNameError)
    assert_located(err, "t.px", text, 3, col_of(text, 3, "a"), length=1)


def test_duplicate_kernel():
    one = kernel("    THREAD_ID → i\n    STORE 1.0 → a[i]\n")
    text = one + "\n" + one
    err = check_error(text, PxNameError)
    assert "twice" in err.message
    assert_located(err, "t.px", text, 8, 12, length=1)


def test_host_name_that_is_a_kernel():
    text = kernel("    THREAD_ID → i\n    STORE 1.0 → a[i]\n") + "ALLOC k float SIZE 3\n"
    err = check_error(text, PxNameError)
    assert_located(err, "t.px", text, 7, 7)  # the caret is under the name


@pytest.mark.parametrize("where, text, line, word", [
    ("kernel", kernel("    THREAD_ID → i\n    STORE 1.0 → a[i]\n", name="float"), 1, "float"),
    ("param", kernel("    THREAD_ID → i\n", "GPU_PARAM a float[]\nGPU_PARAM double float\n"),
     3, "double"),
    ("shared", kernel("    LOCAL_ID → l\n",
                      "GPU_PARAM a float[]\nGPU_SHARED_MEM __shared__ float 64\nGPU_BLOCK 64\n"),
     3, "__shared__"),
])
def test_reserved_word_as_name_points_at_the_name(where, text, line, word):
    err = check_error(text, PxNameError)
    assert repr(word) in err.message
    assert_located(err, "t.px", text, line, col_of(text, line, word), length=len(word))


@pytest.mark.parametrize("text, line, word", [
    (kernel("    THREAD_ID → i\n    SET int = 1\n"), 5, "int"),
    (kernel("    THREAD_ID → i\n    FOR while IN 0..3:\n        STORE 1.0 → a[i]\n"), 5,
     "while"),
    ("ALLOC printf float SIZE 3\n", 1, "printf"),
    ("SET exit = 3\n", 1, "exit"),
])
def test_reserved_word_as_variable_is_refused_on_its_line(text, line, word):
    err = check_error(text, PxNameError)
    assert repr(word) in err.message and "reserved" in err.message
    assert err.span.line == line
    # The caret covers the name (today it spans the whole statement).
    name_col = col_of(text, line, word)
    assert err.span.col <= name_col < err.span.col + err.span.length
    assert_located(err, "t.px", text, line, err.span.col)


@pytest.mark.parametrize("text, line, word", [
    (kernel("    THREAD_ID → i\n    SET int = 1\n"), 5, "int"),
    ("ALLOC printf float SIZE 3\n", 1, "printf"),
])
def test_reserved_word_as_variable_caret_under_the_name(text, line, word):
    err = check_error(text, PxNameError)
    assert_located(err, "t.px", text, line, col_of(text, line, word), length=len(word))


# ---------------------------------------------------------------------------- RUN arguments

SCALE = kernel("    THREAD_ID → i\n    STORE a[i] * s → a[i]\n",
               "GPU_PARAM a float[]\nGPU_PARAM s float\n", name="scale")


@pytest.mark.parametrize("run", ["RUN scale x", "RUN scale x 2.0 3.0", "RUN scale"])
def test_run_wrong_argument_count(run):
    text = SCALE + "ALLOC x float SIZE 8\n" + run + "\n"
    err = check_error(text, PxArgumentError)
    assert "takes 2 arguments" in err.message
    assert_located(err, "t.px", text, 9, 1, length=len(run))


def test_run_scalar_for_array():
    text = SCALE + "ALLOC x float SIZE 8\nRUN scale 1.0 2.0\n"
    err = check_error(text, PxArgumentError)
    assert "'a'" in err.message and "array" in err.message
    assert_located(err, "t.px", text, 9, col_of(text, 9, "1.0"), length=3)


def test_run_array_for_scalar():
    text = SCALE + "ALLOC x float SIZE 8\nRUN scale x x\n"
    err = check_error(text, PxArgumentError)
    assert "'s'" in err.message and "scalar" in err.message
    assert_located(err, "t.px", text, 9, col_of(text, 9, "x", nth=1), length=1)


def test_run_float_for_int_scalar():
    text = kernel("    THREAD_ID → i\n    STORE n → a[i]\n",
                  "GPU_PARAM a int[]\nGPU_PARAM n int\n") + "ALLOC x int SIZE 4\nRUN k x 2.5\n"
    err = check_error(text, PxArgumentError)
    assert_located(err, "t.px", text, 9, col_of(text, 9, "2.5"), length=3)


@pytest.mark.parametrize("alloc", ["ALLOC x i32 SIZE 8", "ALLOC x f64 SIZE 8",
                                   "ALLOC x float SIZE 2, 4"])
def test_run_dtype_or_rank_mismatch_static(alloc):
    text = SCALE + alloc + "\nRUN scale x 2.0\n"
    err = check_error(text, PxShapeError)
    assert "'a'" in err.message and "f32[]" in err.message
    assert_located(err, "t.px", text, 9, col_of(text, 9, "x"), length=1)


def test_run_dtype_mismatch_at_run_time_from_npy(tmp_path):
    np.save(tmp_path / "ints.npy", np.arange(8, dtype=np.int32))
    text = SCALE + 'READ_FILE "ints.npy" INTO x\nRUN scale x 2.0\n'
    path = write_program(tmp_path, text)
    check(text, str(path))  # the dtype of a .npy is known only once read
    err = run_error(path, PxShapeError)
    assert "i32[]" in err.message and "f32[]" in err.message
    assert_located(err, str(path), text, 9, col_of(text, 9, "x"), length=1)


def test_run_npy_of_the_right_dtype_runs(tmp_path):
    np.save(tmp_path / "f.npy", np.arange(8, dtype=np.float32))
    text = SCALE + 'READ_FILE "f.npy" INTO x\nRUN scale x 2.0\n'
    result = run_file(write_program(tmp_path, text))
    np.testing.assert_array_equal(result.values["x"], 2 * np.arange(8, dtype=np.float32))


def test_run_npy_rank_mismatch_at_run_time(tmp_path):
    np.save(tmp_path / "m.npy", np.zeros((2, 4), np.float32))
    text = SCALE + 'READ_FILE "m.npy" INTO x\nRUN scale x 2.0\n'
    err = run_error(write_program(tmp_path, text), PxShapeError)
    assert err.span.line == 9 and err.span.col == col_of(text, 9, "x")


# ---------------------------------------------------------------------------- barriers

def test_barrier_under_if():
    text = kernel("    THREAD_ID → i\n    IF i < 3:\n        SYNC_THREADS\n",
                  "GPU_PARAM a float[]\nGPU_BLOCK 64\n")
    err = check_error(text, PxBarrierError)
    assert "IF" in err.message
    assert_located(err, "t.px", text, 7, 9, length=len("SYNC_THREADS"))


def test_barrier_under_else():
    text = kernel("    THREAD_ID → i\n    IF i < 3:\n        STORE 1.0 → a[i]\n    ELSE:\n"
                  "        SYNC_THREADS\n", "GPU_PARAM a float[]\nGPU_BLOCK 64\n")
    err = check_error(text, PxBarrierError)
    assert_located(err, "t.px", text, 9, 9)


@pytest.mark.parametrize("loop", ["FOR j IN 0..i:", "FOR j IN i..10:", "WHILE n < i:",
                                  "FOR j IN 0..8 STEP l + 1:"])
def test_barrier_in_loop_with_thread_dependent_bounds(loop):
    body = ("    THREAD_ID → i\n    LOCAL_ID → l\n    SET n = 0\n"
            f"    {loop}\n        SYNC_THREADS\n        SET n = n + 1\n")
    text = kernel(body, "GPU_PARAM a float[]\nGPU_BLOCK 64\n")
    err = check_error(text, PxBarrierError)
    assert "loop" in err.message
    assert_located(err, "t.px", text, 8, 5, length=len(loop))


def test_barrier_in_loop_with_break():
    body = ("    THREAD_ID → i\n    FOR j IN 0..4:\n        SYNC_THREADS\n"
            "        IF i == j:\n            BREAK\n")
    text = kernel(body, "GPU_PARAM a float[]\nGPU_BLOCK 64\n")
    err = check_error(text, PxBarrierError)
    assert_located(err, "t.px", text, 6, 5)


def test_barrier_in_uniform_loop_is_fine(backend):
    # before: only "does not raise"; now every thread of block b passes b + 2 barriers
    body = ("    LOCAL_ID → l\n    BLOCK_ID → b\n    SET c = 0\n    FOR j IN 0..b + 2:\n"
            "        SYNC_THREADS\n        SET c = c + 1\n    STORE 1.0 → t[l]\n"
            "    STORE f32(c) + t[l] → a[b * 64 + l]\n")
    program = check(kernel(body, "GPU_PARAM a float[]\nGPU_SHARED_MEM t float 64\n"
                                 "GPU_BLOCK 64\n"))
    a = np.zeros(192, np.float32)
    run_kernel(backend, program.kernels[0], [a], (192,))
    np.testing.assert_array_equal(a, np.repeat([3.0, 4.0, 5.0], 64))


def test_barrier_with_return():
    body = ("    THREAD_ID → i\n    IF i >= LEN(a):\n        RETURN\n    SYNC_THREADS\n"
            "    STORE 1.0 → a[i]\n")
    text = kernel(body, "GPU_PARAM a float[]\nGPU_BLOCK 64\n")
    err = check_error(text, PxBarrierError)
    assert "RETURN" in err.message
    assert_located(err, "t.px", text, 7, 9, length=len("RETURN"))


@pytest.mark.parametrize("header", [
    "GPU_PARAM a float[]\nGPU_SHARED_MEM t float 64\n",
    "GPU_PARAM a float[]\n",
])
def test_missing_gpu_block_for_shared_memory_or_barrier(header):
    body = "    LOCAL_ID → l\n    SYNC_THREADS\n" if "SHARED" not in header else \
        "    LOCAL_ID → l\n    STORE 1.0 → t[l]\n"
    text = kernel(body, header)
    err = check_error(text, PxSyntaxError)
    assert "GPU_BLOCK" in (err.hint or "") + err.message
    assert_located(err, "t.px", text, 1, 12, length=1)


@pytest.mark.parametrize("word", ["BREAK", "CONTINUE"])
def test_break_outside_a_loop(word):
    text = kernel(f"    THREAD_ID → i\n    IF i > 2:\n        {word}\n    STORE 1.0 → a[i]\n")
    err = check_error(text, PxSyntaxError)
    assert "outside a loop" in err.message
    assert_located(err, "t.px", text, 6, 9, length=len(word))


# ---------------------------------------------------------------------------- files

@pytest.fixture
def prog_dir(tmp_path, monkeypatch):
    """A program folder that is also the working directory (so nothing else is allowed)."""
    folder = tmp_path / "prog"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


def test_file_missing(prog_dir):
    text = 'ALLOC y float SIZE 2\nREAD_FILE "nope.npy" INTO x\n'
    path = write_program(prog_dir, text)
    err = run_error(path, PxFileError)
    assert "no such file" in err.message and "nope.npy" in err.message
    assert_located(err, str(path), text, 2, 1)


@pytest.mark.parametrize("target", ["../../etc/passwd", "/etc/hosts", "../data/x.npy",
                                    "~/secret.npy"])
def test_file_outside_allowed_folders(prog_dir, target):
    text = f'READ_FILE "{target}" INTO x\n'
    path = write_program(prog_dir, text)
    err = run_error(path, PxFileError)
    assert "outside" in err.message and repr(target) in err.message
    assert "--allow-path" in (err.hint or "")
    assert_located(err, str(path), text, 1, 1)


def test_file_write_outside_is_refused_and_writes_nothing(prog_dir, tmp_path):
    target = tmp_path / "elsewhere" / "out.npy"
    text = f'ALLOC x float SIZE 3\nWRITE_FILE x TO "{target}"\n'
    path = write_program(prog_dir, text)
    err = run_error(path, PxFileError)
    assert_located(err, str(path), text, 2, 1)
    assert not target.exists() and not target.parent.exists()


def test_file_symlink_leading_outside_is_refused(prog_dir, tmp_path):
    (tmp_path / "data").mkdir()
    np.save(tmp_path / "data" / "x.npy", np.zeros(3, np.float32))
    (prog_dir / "link.npy").symlink_to(tmp_path / "data" / "x.npy")
    path = write_program(prog_dir, 'READ_FILE "link.npy" INTO x\n')
    err = run_error(path, PxFileError)
    assert "outside" in err.message


def test_file_allow_makes_a_folder_allowed(prog_dir, tmp_path):
    (tmp_path / "data").mkdir()
    np.save(tmp_path / "data" / "x.npy", np.arange(3, dtype=np.float32))
    path = write_program(prog_dir, 'READ_FILE "../data/x.npy" INTO x\n'
                                   'WRITE_FILE x TO "../data/y.npy"\n')
    run_error(path, PxFileError)
    result = run_file(path, allow=[tmp_path / "data"])
    np.testing.assert_array_equal(result.values["x"], np.arange(3, dtype=np.float32))
    np.testing.assert_array_equal(np.load(tmp_path / "data" / "y.npy"), result.values["x"])


@pytest.mark.skipif(not Path("/etc/hosts").is_file(), reason="no /etc/hosts here")
def test_file_allow_absolute_folder(prog_dir):
    path = write_program(prog_dir, 'READ_FILE "/etc/hosts" INTO x\n')
    run_error(path, PxFileError)
    result = run_file(path, allow=[Path("/etc")])
    assert result.values["x"].dtype == np.uint8
    assert result.values["x"].tobytes() == Path("/etc/hosts").read_bytes()


def test_file_parse_file_missing(tmp_path):
    from pxos.lang.px.parser import parse_file

    with pytest.raises(PxFileError) as info:
        parse_file(tmp_path / "absent.px")
    assert "no such file" in info.value.message


# ---------------------------------------------------------------------------- run time

IOTA = kernel("    THREAD_ID → i\n    STORE i → a[i]\n", "GPU_PARAM a int[]\n", name="iota")
POKE = kernel("    THREAD_ID → i\n    IF i == 3:\n        STORE 99 → a[i]\n    ELSE:\n"
              "        STORE i → a[i]\n", "GPU_PARAM a int[]\n", name="poke")


def test_verify_failure_names_first_differing_index(tmp_path):
    text = IOTA + POKE + ("ALLOC x int SIZE 6\nALLOC y LIKE x\nRUN iota x\nRUN poke y\n"
                          "VERIFY x == y\n")
    path = write_program(tmp_path, text)
    line = text.splitlines().index("VERIFY x == y") + 1
    err = run_error(path, PxRuntimeError)
    assert "VERIFY" in err.message
    assert "index [3]" in err.message
    assert "1 of 6" in err.message
    assert "3" in err.message and "99" in err.message
    assert_located(err, str(path), text, line, 1, length=len("VERIFY x == y"))


def test_verify_failure_2d_index(tmp_path):
    poke2 = kernel("    THREAD_ID → x, y\n    IF x == 2 AND y == 1:\n        STORE 7 → m[y, x]\n",
                   "GPU_PARAM m int[,]\n", name="poke2")
    text = poke2 + ("ALLOC m int SIZE 3, 4\nALLOC z LIKE m\nRUN poke2 m\nVERIFY z == m\n")
    path = write_program(tmp_path, text)
    err = run_error(path, PxRuntimeError)
    assert "index [1, 2]" in err.message
    assert err.span.line == len(text.splitlines())


def test_verify_with_tolerance_passes_and_fails(tmp_path):
    text = ("ALLOC x float SIZE 4\nALLOC y LIKE x\nFILL x 1.0\nFILL y 1.05\n"
            "VERIFY x == y TOL 0.1\nVERIFY x == y TOL 0.01\n")
    err = run_error(write_program(tmp_path, text), PxRuntimeError)
    assert err.span.line == 6 and "index [0]" in err.message


def test_verify_failure_shows_plain_values(tmp_path):
    text = IOTA + POKE + ("ALLOC x int SIZE 6\nALLOC y LIKE x\nRUN iota x\nRUN poke y\n"
                          "VERIFY x == y\n")
    err = run_error(write_program(tmp_path, text), PxRuntimeError)
    assert "np." not in err.message
    assert "3 != 99" in err.message


@pytest.mark.parametrize("body, line, needle", [
    ("    THREAD_ID → i\n    STORE 1.0 → a[i + 1]\n", 5, "STORE"),
    ("    THREAD_ID → i\n    SET v = a[i - 1]\n    STORE v → a[i]\n", 5, "a[i - 1]"),
    ("    THREAD_ID → i\n    LOAD a[2 * i] → v\n    STORE v → a[i]\n", 5, "a[2 * i]"),
])
def test_out_of_bounds_on_interp(tmp_path, body, line, needle):
    text = kernel(body) + "ALLOC x float SIZE 5\nRUN k x\n"
    path = write_program(tmp_path, text)
    err = run_error(path, PxBoundsError, device="interp")
    assert isinstance(err, PxRuntimeError)
    assert "out of bounds" in err.message and "'a'" in err.message
    assert_located(err, str(path), text, line, col_of(text, line, needle))


def test_out_of_bounds_2d_names_the_axis(tmp_path):
    body = "    THREAD_ID → x, y\n    STORE 1.0 → m[y, x + 1]\n"
    text = kernel(body, "GPU_PARAM m float[,]\n") + "ALLOC z float SIZE 3, 4\nRUN k z\n"
    path = write_program(tmp_path, text)
    err = run_error(path, PxBoundsError, device="interp")
    assert "axis 1" in err.message and "4" in err.message
    assert_located(err, str(path), text, 5, 5)


def test_out_of_bounds_in_host_expression(tmp_path):
    text = "ALLOC x float SIZE 3\nSET v = x[3]\n"
    err = run_error(write_program(tmp_path, text), PxBoundsError)
    assert_located(err, str(tmp_path / "p.px"), text, 2, col_of(text, 2, "x[3]"))


# ---------------------------------------------------------------------------- command line

runner = CliRunner()

BAD_PROGRAMS = {
    "syntax": ("SET x = = 1\n", 1, 9),
    "name": ("ALLOC x float SIZE n\n", 1, 20),
    "type": (kernel("    THREAD_ID → i\n    STORE 2.5 → a[i]\n", "GPU_PARAM a u8[]\n"), 5, 5),
    "argument": (SCALE + "ALLOC x float SIZE 4\nRUN scale x\n", 9, 1),
    "barrier": (kernel("    THREAD_ID → i\n    IF i < 3:\n        SYNC_THREADS\n",
                       "GPU_PARAM a float[]\nGPU_BLOCK 64\n"), 7, 9),
    "verify": ("ALLOC x float SIZE 4\nALLOC y LIKE x\nFILL y 1.0\nVERIFY x == y\n", 4, 1),
    "file": ('READ_FILE "missing.npy" INTO x\n', 1, 1),
    "bounds": (kernel("    THREAD_ID → i\n    STORE 1.0 → a[i + 1]\n")
               + "ALLOC x float SIZE 5\nRUN k x\n", 5, 5),
}


def _cli_output(result) -> str:
    return result.output + (result.stderr if result.stderr not in result.output else "")


@pytest.mark.parametrize("kind", sorted(BAD_PROGRAMS))
def test_cli_program_error_exits_2_with_position_and_caret(tmp_path, monkeypatch, kind):
    text, line, col = BAD_PROGRAMS[kind]
    write_program(tmp_path, text, "bad.px")
    monkeypatch.chdir(tmp_path)  # a short relative path: see test_cli_long_lines_are_not_wrapped
    path = "bad.px"
    result = runner.invoke(app, ["run", path, "--device", "interp"])
    assert result.exit_code == 2, result.output
    out = _cli_output(result)
    assert f"{path}:{line}:{col}:" in out
    assert "Traceback" not in out
    gutter = f"{line:>5} | "
    lines = out.splitlines()
    k = lines.index(gutter + text.splitlines()[line - 1])
    assert lines[k + 1].index("^") == len(gutter) + col - 1
    # The error goes to stderr, not stdout.
    assert f"{path}:{line}:{col}:" in result.stderr


def test_cli_check_reports_errors_too(tmp_path, monkeypatch):
    text, line, col = BAD_PROGRAMS["name"]
    write_program(tmp_path, text, "bad.px")
    monkeypatch.chdir(tmp_path)
    path = "bad.px"
    result = runner.invoke(app, ["check", path])
    assert result.exit_code == 2
    assert f"{path}:{line}:{col}:" in result.stderr and "^" in result.stderr


def test_cli_missing_program_file(tmp_path):
    result = runner.invoke(app, ["run", str(tmp_path / "absent.px")])
    assert result.exit_code == 2
    assert "no such file" in result.stderr
    assert "Traceback" not in _cli_output(result)


def test_cli_good_program_exits_0(tmp_path, monkeypatch):
    text = IOTA + "ALLOC x int SIZE 5\nRUN iota x\nPRINT \"x =\", x\nWRITE_FILE x TO \"x.npy\"\n"
    path = write_program(tmp_path, text, "good.px")
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["run", str(path), "--device", "interp"])
    assert result.exit_code == 0, _cli_output(result)
    assert "x = [0 1 2 3 4]" in result.stdout
    np.testing.assert_array_equal(np.load(tmp_path / "x.npy"), np.arange(5, dtype=np.int32))


def test_cli_allow_path(tmp_path, monkeypatch):
    (tmp_path / "data").mkdir()
    np.save(tmp_path / "data" / "x.npy", np.arange(4, dtype=np.float32))
    write_program(tmp_path / "prog", 'READ_FILE "../data/x.npy" INTO x\nPRINT LEN(x)\n')
    monkeypatch.chdir(tmp_path / "prog")
    path = "p.px"
    refused = runner.invoke(app, ["run", path, "-d", "interp"])
    assert refused.exit_code == 2 and "outside" in refused.stderr
    assert "p.px:1:1: file error:" in refused.stderr
    allowed = runner.invoke(app, ["run", path, "-d", "interp",
                                  "--allow-path", str(tmp_path / "data")])
    assert allowed.exit_code == 0, _cli_output(allowed)
    assert "4" in allowed.stdout


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_cli_check_examples(example):
    result = runner.invoke(app, ["check", str(example)])
    assert result.exit_code == 0, _cli_output(result)
    assert "OK" in result.stdout


def test_examples_exist():
    assert len(EXAMPLES) >= 5


@pytest.mark.parametrize("kind", ["name", "argument"])
def test_cli_error_text_is_exactly_render(tmp_path, monkeypatch, kind):
    """With a short path and short lines, stderr is exactly ``PxError.render()``."""
    text = BAD_PROGRAMS[kind][0]
    write_program(tmp_path, text, "bad.px")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("COLUMNS", raising=False)
    with pytest.raises(PxError) as info:
        check(text, "bad.px")
    assert max(map(len, info.value.render().splitlines())) <= 80
    result = runner.invoke(app, ["check", "bad.px"])
    assert result.exit_code == 2
    assert result.stderr.rstrip("\n") == info.value.render()
    assert result.stdout == ""


@pytest.mark.parametrize("long_part", ["source", "path", "message"])
def test_cli_long_lines_are_not_wrapped(tmp_path, monkeypatch, long_part):
    expr = "undefined_thing"
    folder = tmp_path / ("a_rather_long_folder_name_" * 3)
    text = kernel(f"    THREAD_ID → i\n    SET r = {expr}\n    STORE r → a[i]\n")
    if long_part == "source":
        expr = " + ".join(f"{k}.0" for k in range(1, 16)) + " + undefined_thing"
        text = kernel(f"    THREAD_ID → i\n    SET r = {expr}\n    STORE r → a[i]\n")
    elif long_part == "message":
        text = BAD_PROGRAMS["barrier"][0]
    path = write_program(tmp_path if long_part != "path" else folder, text, "long.px")
    monkeypatch.chdir(tmp_path)
    if long_part != "path":
        path = path.relative_to(tmp_path)
    monkeypatch.delenv("COLUMNS", raising=False)
    with pytest.raises(PxError) as info:
        check(text, str(path))
    assert max(map(len, info.value.render().splitlines())) > 80
    result = runner.invoke(app, ["check", str(path)])
    assert result.exit_code == 2
    assert result.stderr.rstrip("\n") == info.value.render()


def test_cli_subprocess_real_run(tmp_path):
    """The real console entry: a program error exits 2 with a position and no traceback."""
    text, line, col = BAD_PROGRAMS["name"]
    write_program(tmp_path, text, "bad.px")
    good = write_program(tmp_path, "ALLOC x float SIZE 3\nPRINT LEN(x)\n", "good.px")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]))
    env.pop("COLUMNS", None)
    proc = subprocess.run([sys.executable, "-m", "pxos.cli.main", "run", "bad.px"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f"bad.px:{line}:{col}:" in proc.stderr
    assert f"{line:>5} | {text.splitlines()[line - 1]}" in proc.stderr
    assert "^" in proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    proc = subprocess.run([sys.executable, "-m", "pxos.cli.main", "run", str(good),
                           "--device", "interp"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip() == "3"
