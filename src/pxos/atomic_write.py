"""Atomic, confined file writes: used by the kernel cache, WRITE_FILE, the planner's
records and the libraries' outputs (the bottom layer, beside ``errors``).

:func:`open_folder` opens a folder one path component at a time with ``O_NOFOLLOW``, so a
folder swapped for a symbolic link after a path was checked cannot redirect the write; the
file is then written under a temporary name and renamed into place relative to that open
folder (``dir_fd``), so a crash leaves the old file or the new one, never part of one.

Temporary files are named ``.pxos-<pid>-<start>-<random>.tmp`` (``start``: the process's
start time in clock ticks, from ``/proc``): a later write to the same folder removes those
whose process is gone (killed with ``kill -9``, say), and never those of a live process.
New files get the permissions the umask gives (``0o666 & ~umask``), as ``open()`` would.
Every function raises ``OSError`` on failure; callers turn it into their own ``PxError``.
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import stat
from functools import cache
from pathlib import Path

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
_TEMP = re.compile(r"\.pxos-(\d+)-(\d+)-[0-9a-f]+\.tmp")


def open_folder(path: Path, create: bool = True) -> int:
    """A descriptor of folder ``path`` (absolute, no symbolic links in it: resolve it
    first), opened component by component without following links; missing folders are
    created when ``create``. Close it with ``os.close``.

    Raises:
        OSError: a component is missing (and not ``create``), is not a folder, is a
            symbolic link (``ELOOP``: the path changed since it was resolved), or cannot
            be created or opened.
    """
    path = Path(path)
    if not path.is_absolute():
        raise ValueError(f"open_folder needs an absolute path, got {path}")
    fd = os.open("/", _DIR_FLAGS)
    try:
        for part in path.parts[1:]:
            try:
                inner = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except OSError as err:
                if err.errno in (errno.ENOTDIR, errno.ELOOP):
                    _raise_if_link(fd, part)
                if err.errno != errno.ENOENT or not create:
                    raise
                try:
                    os.mkdir(part, 0o777, dir_fd=fd)
                except FileExistsError:
                    pass  # made by another process meanwhile
                inner = os.open(part, _DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = inner
    except BaseException:
        os.close(fd)
        raise
    return fd


def write_in(folder: int, name: str, data: bytes | memoryview, durable: bool = True) -> None:
    """Write ``data`` to file ``name`` of the open folder ``folder`` atomically (temporary
    file, fsync, rename); removes stale temporary files of dead processes first.
    ``durable=False`` skips the fsyncs (10–30 ms on a virtual disk): for a cache that is
    validated when read and may be lost in a crash, never for a user's output.

    Raises:
        OSError: ``name`` is a folder (``EISDIR``), no space is left (``ENOSPC``), the
            folder is read-only, or any other failure; the temporary file is removed.
    """
    fd, tmp = open_temp(folder, name)
    try:
        view = memoryview(data).cast("B")
        while view:
            view = view[os.write(fd, view):]
    except BaseException:
        os.close(fd)
        try:
            os.unlink(tmp, dir_fd=folder)
        except OSError:
            pass
        raise
    commit_temp(folder, fd, tmp, name, durable)


def open_temp(folder: int, name: str) -> tuple[int, str]:
    """A new temporary file in the open folder ``folder`` for a file ``name`` written
    piece by piece (a stream): ``(descriptor, temporary name)``; finish with
    :func:`commit_temp`, or close and unlink it. Removes stale temporary files first.

    Raises:
        OSError: ``name`` is a folder (``EISDIR``), or the file cannot be created.
    """
    remove_stale(folder)
    try:
        if _is_dir(folder, name):
            raise IsADirectoryError(errno.EISDIR, "Is a directory", name)
    except FileNotFoundError:
        pass
    tmp = f".pxos-{os.getpid()}-{_start_time(os.getpid())}-{secrets.token_hex(6)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                 | getattr(os, "O_CLOEXEC", 0), 0o666, dir_fd=folder)
    return fd, tmp


def commit_temp(folder: int, fd: int, tmp: str, name: str, durable: bool = True) -> None:
    """Sync (unless not ``durable``: see :func:`write_in`) and close ``fd`` (from
    :func:`open_temp`), rename ``tmp`` to ``name`` in ``folder``; on failure the temporary
    file is removed.

    Raises:
        OSError: the sync or the rename failed.
    """
    try:
        try:
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, name, src_dir_fd=folder, dst_dir_fd=folder)
    except BaseException:
        try:
            os.unlink(tmp, dir_fd=folder)
        except OSError:
            pass
        raise
    if not durable:
        return
    try:
        os.fsync(folder)
    except OSError:
        pass  # some file systems cannot sync a folder; the data is synced


def write_atomic(path: Path, data: bytes, durable: bool = True) -> None:
    """Write ``data`` to ``path`` atomically, creating its folder (see :func:`write_in`,
    also for ``durable``).

    Raises:
        OSError: as :func:`open_folder` and :func:`write_in`.
    """
    path = Path(path)
    folder = open_folder(path.parent.resolve())
    try:
        write_in(folder, path.name, data, durable)
    finally:
        os.close(folder)


def remove_stale(folder: int) -> list[str]:
    """Remove the temporary files in ``folder`` whose writing process is gone; returns
    their names. Files of live processes, and anything not named by pxos, stay."""
    removed = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for name in names:
        m = _TEMP.fullmatch(name)
        if m is None or _alive(int(m.group(1)), int(m.group(2))):
            continue
        try:
            os.unlink(name, dir_fd=folder)
            removed.append(name)
        except OSError:
            pass  # removed by another process, or not ours to remove
    return removed


def _raise_if_link(folder: int, name: str) -> None:
    """``ELOOP`` if ``name`` in ``folder`` is a symbolic link (found where the resolved
    path had a folder: it was replaced since)."""
    try:
        link = stat.S_ISLNK(os.stat(name, dir_fd=folder, follow_symlinks=False).st_mode)
    except OSError:
        return
    if link:
        raise OSError(errno.ELOOP, "a folder was replaced by a symbolic link", name)


def _is_dir(folder: int, name: str) -> bool:
    return stat.S_ISDIR(os.stat(name, dir_fd=folder, follow_symlinks=False).st_mode)


@cache
def _own_start() -> int:
    return _read_start(os.getpid()) or 0


def _start_time(pid: int) -> int:
    return _own_start() if pid == os.getpid() else (_read_start(pid) or 0)


def _read_start(pid: int) -> int | None:
    """The start time of process ``pid`` in clock ticks after boot (``/proc``), None if
    there is no such process or no ``/proc``."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
        return int(stat[stat.rindex(b")") + 2:].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def _alive(pid: int, start: int) -> bool:
    """Whether process ``pid``, started at ``start``, still runs (a reused pid with
    another start time does not count)."""
    if os.path.isdir("/proc/self"):
        now = _read_start(pid)
        return now is not None and (start == 0 or now == start)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
