"""WRITE_FILE and READ_FILE under hostile paths and faults: each is a PxFileError at the
statement (never a traceback), a write never lands outside the allowed folders even when a
folder is swapped for a link mid-way, files get the umask's permissions, and temporary
files of killed runs are cleaned by the next write to their folder."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from pxos import atomic_write
from pxos.backends import cache
from pxos.errors import PxFileError
from pxos.host import files
from tests.host.test_program import run

ROOT = os.geteuid() == 0


def write(path: str, tmp_path):
    return run(f'ALLOC a u8 SIZE 4\nFILL a 7\nWRITE_FILE a TO "{path}"\n', tmp_path)


def refused(text: str, tmp_path) -> PxFileError:
    with pytest.raises(PxFileError) as info:
        run(text, tmp_path)
    assert info.value.span is not None and info.value.span.line == 3
    return info.value


@pytest.mark.parametrize("path,why", [
    (".", "is a folder"), ("", "is a folder"), ("sub", "is a folder"), ("sub/", "is a folder"),
    ("x" * 300 + ".bin", "the name is too long"),
    ("loop/x.bin", "symbolic link loop"), ("loop", "symbolic link loop"),
    ("a\\x00b.bin", "NUL character"),
])
def test_bad_write_paths_are_file_errors(tmp_path, path, why):
    (tmp_path / "sub").mkdir()
    os.symlink("loop2", tmp_path / "loop")
    os.symlink("loop", tmp_path / "loop2")
    path = path.replace("\\x00", "\x00")
    err = refused(f'ALLOC a u8 SIZE 4\nFILL a 7\nWRITE_FILE a TO "{path}"\n', tmp_path)
    assert why in err.message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["loop", "loop2", "prog.px", "sub"]
    assert list((tmp_path / "sub").iterdir()) == []


@pytest.mark.parametrize("path,why", [
    ("x" * 300 + ".bin", "the name is too long"), ("loop", "symbolic link loop"),
    ("a\\x00b.bin", "NUL character"),
])
def test_bad_read_paths_are_file_errors(tmp_path, path, why):
    os.symlink("loop2", tmp_path / "loop")
    os.symlink("loop", tmp_path / "loop2")
    path = path.replace("\\x00", "\x00")
    err = refused(f'ALLOC a u8 SIZE 4\nFILL a 7\nREAD_FILE "{path}" INTO b\n', tmp_path)
    assert why in err.message


def test_a_folder_swapped_for_a_link_after_the_check_gets_nothing(tmp_path, monkeypatch):
    """The race of issue 13: the folder is checked, then replaced by a link to a folder
    outside before the write. The write goes through the folder opened without following
    links, so it fails instead of landing outside."""
    inside, outside = tmp_path / "prog", tmp_path / "outside"
    (inside / "out").mkdir(parents=True)
    outside.mkdir()
    real_open = files.open_folder

    def swap_then_open(path, create=True):
        (inside / "out").rename(inside / "moved")
        os.symlink(outside, inside / "out")
        return real_open(path, create)

    monkeypatch.setattr(files, "open_folder", swap_then_open)
    err = refused('ALLOC a u8 SIZE 4\nFILL a 7\nWRITE_FILE a TO "out/x.bin"\n', inside)
    assert "replaced by a link" in err.message
    assert list(outside.iterdir()) == [] and list((inside / "moved").iterdir()) == []


def test_a_full_disk_is_a_file_error_and_keeps_the_old_file(tmp_path, monkeypatch):
    write("x.bin", tmp_path)
    assert (tmp_path / "x.bin").read_bytes() == b"\x07" * 4

    def full(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic_write.os, "write", full)
    err = refused('ALLOC a u8 SIZE 4\nFILL a 9\nWRITE_FILE a TO "x.bin"\n', tmp_path)
    assert "the disk is full" in err.message
    assert (tmp_path / "x.bin").read_bytes() == b"\x07" * 4  # untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["prog.px", "x.bin"]  # no temp file


def test_a_read_only_folder_is_a_file_error(tmp_path, monkeypatch):
    real_open = os.open

    def read_only(path, flags, mode=0o777, *, dir_fd=None):
        if flags & os.O_CREAT:
            raise OSError(errno.EROFS, "Read-only file system")
        return real_open(path, flags, mode, dir_fd=dir_fd)

    monkeypatch.setattr(atomic_write.os, "open", read_only)
    err = refused('ALLOC a u8 SIZE 4\nFILL a 9\nWRITE_FILE a TO "x.bin"\n', tmp_path)
    assert "read-only" in err.message


@pytest.mark.skipif(ROOT, reason="root writes into read-only folders")
def test_a_folder_without_write_permission_is_a_file_error(tmp_path):
    (tmp_path / "locked").mkdir(mode=0o555)
    err = refused('ALLOC a u8 SIZE 4\nFILL a 9\nWRITE_FILE a TO "locked/x.bin"\n', tmp_path)
    assert "permission denied" in err.message


@pytest.mark.parametrize("umask,mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_written_files_get_the_umask_permissions(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        write("x.npy", tmp_path)
        write("new/y.bin", tmp_path)
    finally:
        os.umask(old)
    assert (tmp_path / "x.npy").stat().st_mode & 0o777 == mode
    assert (tmp_path / "new" / "y.bin").stat().st_mode & 0o777 == mode
    np.testing.assert_array_equal(np.load(tmp_path / "x.npy"), np.full(4, 7, np.uint8))


def test_temporary_files_of_a_killed_run_are_removed_by_the_next_write(tmp_path):
    """A writer killed with SIGKILL mid-write leaves its temporary file; the next write to
    that folder removes it, and leaves a live writer's file and foreign files alone."""
    script = (
        "import os, sys, time\n"
        "from pxos import atomic_write\n"
        "os.fsync = lambda fd: time.sleep(600)  # stop after writing, before the rename\n"
        "atomic_write.write_atomic(atomic_write.Path(sys.argv[1]), b'x' * 10_000_000)\n")
    child = subprocess.Popen([sys.executable, "-c", script, str(tmp_path / "big.bin")])
    try:
        deadline = time.monotonic() + 60
        while not any(p.name.startswith(".pxos-") for p in tmp_path.iterdir()):
            assert time.monotonic() < deadline and child.poll() is None
            time.sleep(0.05)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    [stale] = [p.name for p in tmp_path.iterdir() if p.name.startswith(".pxos-")]
    assert stale.startswith(f".pxos-{child.pid}-")
    live = f".pxos-{os.getpid()}-{atomic_write._start_time(os.getpid())}-abcdef.tmp"
    (tmp_path / live).write_bytes(b"being written")
    (tmp_path / ".pxos-notes.tmp").write_bytes(b"not ours")
    write("x.bin", tmp_path)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted([live, ".pxos-notes.tmp", "prog.px", "x.bin"])


def test_a_cache_folder_that_cannot_be_made_is_a_file_error(tmp_path, monkeypatch):
    (tmp_path / "file").write_text("not a folder")
    monkeypatch.setenv("PXOS_CACHE_DIR", str(tmp_path / "file" / "cache"))
    with pytest.raises(PxFileError) as info:
        cache.cache_dir()
    assert "kernel cache" in info.value.message and "PXOS_CACHE_DIR" in info.value.hint
    assert "a file on that path is in the way" in info.value.message
    assert "free some space" not in info.value.hint  # the disk is not full
    monkeypatch.setenv("PXOS_CACHE_DIR", str(tmp_path / "file"))
    with pytest.raises(PxFileError) as info:
        cache.cache_dir()
    assert "a file of that name is in the way" in info.value.message


@pytest.mark.parametrize("code,why", [(errno.ENOSPC, "the disk is full"),
                                      (errno.EROFS, "read-only")])
def test_a_full_or_read_only_cache_is_a_file_error(tmp_path, monkeypatch, code, why):
    monkeypatch.setenv("PXOS_CACHE_DIR", str(tmp_path))

    def fail(*args, **kwargs):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(atomic_write, "write_in", fail)
    with pytest.raises(PxFileError) as info:
        cache.store_entry("c", "k" * 64, ".so", b"data")
    assert why in info.value.message and str(tmp_path) in info.value.message
    assert [p.name for p in (tmp_path / "c").iterdir()] == []


def test_full_cache_from_the_command_line_exits_2(tmp_path):
    prog = tmp_path / "k.px"
    prog.write_text("GPU_KERNEL k\nGPU_PARAM a float[]\nGPU_THREAD_CODE:\n    THREAD_ID → i\n"
                    "    STORE 1.0 → a[i]\nGPU_END\nALLOC a f32 SIZE 4\nRUN k a\nPRINT a\n")
    (tmp_path / "file").write_text("")
    env = dict(os.environ, PXOS_CACHE_DIR=str(tmp_path / "file" / "cache"))
    done = subprocess.run([sys.executable, "-m", "pxos.cli.main", "run", str(prog),
                           "--device", "c"], capture_output=True, text=True, env=env,
                          timeout=120)
    assert done.returncode == 2 and "cannot write the kernel cache" in done.stderr
    assert "Traceback" not in done.stderr


def test_compile_output_that_cannot_be_written_exits_2(tmp_path):
    from typer.testing import CliRunner

    from pxos.cli.main import app

    (tmp_path / "k.px").write_text("GPU_KERNEL k\nGPU_PARAM a float[]\nGPU_THREAD_CODE:\n"
                                   "    THREAD_ID → i\n    STORE 1.0 → a[i]\nGPU_END\n")
    (tmp_path / "folder").mkdir()
    result = CliRunner().invoke(app, ["compile", str(tmp_path / "k.px"), "-o",
                                      str(tmp_path / "folder")])
    assert result.exit_code == 2 and "it is a folder" in result.output
    result = CliRunner().invoke(app, ["compile", str(tmp_path / "k.px"), "-o",
                                      str(tmp_path / "new" / "k.c")])
    assert result.exit_code == 0 and "k_k(" in (tmp_path / "new" / "k.c").read_text()
