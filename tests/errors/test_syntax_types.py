"""Syntax and type errors: class, ``file:line:col``, source line and caret (spec/px-language.md,
"Errors").
"""

from __future__ import annotations

import numpy as np
import pytest

from pxos.errors import PxSyntaxError, PxTypeError
from pxos.host.launch import run_kernel
from tests.errors.located import assert_located, check, check_error, col_of, kernel


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
