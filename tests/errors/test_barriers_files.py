"""Barrier rule errors and file access errors (folders a program may read and write).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pxos.errors import PxBarrierError, PxFileError, PxSyntaxError
from pxos.host.launch import run_kernel
from tests.errors.located import (
    assert_located, check, check_error, kernel, run_error, run_file, write_program,
)


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
