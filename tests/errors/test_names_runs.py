"""Name errors and RUN argument errors, at the name or argument that is wrong.
"""

from __future__ import annotations

import numpy as np
import pytest

from pxos.errors import PxArgumentError, PxNameError, PxShapeError
from tests.errors.located import (
    assert_located, check, check_error, col_of, kernel, run_error, run_file, write_program, SCALE,
)


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
