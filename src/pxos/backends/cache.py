"""The on-disk kernel cache shared by the compiling backends.

A compiled kernel is stored under ``$PXOS_CACHE_DIR`` (default: the user's cache folder,
``~/.cache/pxos`` on Linux) at ``<backend>/<key>.<sum><suffix>``, where the key is the
SHA-256 of everything that determines the binary (the generated source, the compiler's
identity and version, the flags) and ``sum`` the first 32 hex digits of the SHA-256 of the
entry's own bytes. :func:`find_entry` verifies the sum before a backend loads the file: a
truncated or damaged entry is removed and built again, never loaded. Entries are written
to a temporary file in the same folder and renamed into place (``pxos/atomic_write``),
so no process sees a half-written one.
"""

from __future__ import annotations

import errno
import hashlib
import threading
from pathlib import Path
from typing import Callable

from pxos import atomic_write
from pxos.cache_folder import cache_folder
from pxos.errors import PxFileError

_SUM_DIGITS = 32


def cache_dir() -> Path:
    """The root of the cache (created if missing).

    Raises:
        PxFileError: the folder cannot be created.
    """
    path = cache_folder()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise cache_error(path, err) from None
    return path


def cache_error(path: Path, err: OSError) -> PxFileError:
    """The error for a cache folder or file that cannot be written: full, read-only…"""
    why = {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is used up",
           errno.EROFS: "the file system is read-only",
           errno.EACCES: "permission denied", errno.EPERM: "permission denied",
           errno.EEXIST: "a file of that name is in the way of a folder",
           errno.ENOTDIR: "a file on that path is in the way of a folder"}.get(
        err.errno, err.strerror or str(err))
    hint = "free some space, or set" if err.errno in (errno.ENOSPC, errno.EDQUOT) else "set"
    return PxFileError(f"cannot write the kernel cache at {path}: {why}", None,
                       f"{hint} PXOS_CACHE_DIR to a writable folder")


def cache_key(*parts: str | bytes) -> str:
    """SHA-256 over the parts (each length-prefixed, so boundaries matter)."""
    h = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.hexdigest()


def _folder(backend: str) -> Path:
    """The cache folder of ``backend``, created (for writing an entry)."""
    folder = cache_dir() / backend
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise cache_error(folder, err) from None
    return folder


def _sum(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:_SUM_DIGITS]


def find_entry(backend: str, key: str, suffix: str) -> tuple[Path, bytes] | None:
    """The cached entry ``key`` of ``backend``, verified: its path and bytes, or None if
    there is none. An entry whose bytes do not match its sum (truncated, damaged) is
    removed. Looking creates no folder."""
    for path in sorted((cache_folder() / backend).glob(f"{key}.*{suffix}")):
        stored = path.name[len(key) + 1:len(path.name) - len(suffix)]
        try:
            data = path.read_bytes()
        except OSError:
            continue
        if len(stored) == _SUM_DIGITS and _sum(data) == stored:
            return path, data
        try:
            path.unlink()
        except OSError:
            pass  # removed by another process, or a read-only cache: skipped anyway
    return None


def has_entry(backend: str, key: str, suffix: str) -> bool:
    """Whether an entry ``key`` seems present (not verified: for planning only). Looking
    creates no folder (the planner asks this for every candidate of every statement)."""
    return any((cache_folder() / backend).glob(f"{key}.*{suffix}"))


def store_entry(backend: str, key: str, suffix: str, data: bytes) -> Path:
    """Write entry ``key`` of ``backend`` with the sum of ``data``; returns its path.

    Raises:
        PxFileError: the cache folder is full or read-only.
    """
    path = _folder(backend) / f"{key}.{_sum(data)}{suffix}"
    try:
        atomic_write.write_atomic(path, data)
    except OSError as err:
        raise cache_error(path.parent, err) from None
    return path


class KernelMemo:
    """Compiled kernels by the checked kernel object and ``checked``: a backend asked for
    the same kernel again returns what it made, without rendering or hashing the source.
    Entries hold the kernel, so an ``id`` is never reused for another kernel while kept."""

    def __init__(self):
        self._by: dict[tuple[int, bool], tuple[object, object]] = {}

    def get(self, kernel, checked: bool):
        """What :meth:`put` stored for ``kernel`` and ``checked``, or None."""
        hit = self._by.get((id(kernel), checked))
        return hit[1] if hit is not None and hit[0] is kernel else None

    def remember(self, kernel, checked: bool, make):
        """What is stored for ``kernel`` and ``checked``, made by ``make()`` the first
        time."""
        found = self.get(kernel, checked)
        return found if found is not None else self.put(kernel, checked, make())

    def put(self, kernel, checked: bool, compiled):
        """Remember ``compiled`` for ``kernel`` and ``checked``; returns ``compiled``."""
        self._by[(id(kernel), checked)] = (kernel, compiled)
        return compiled


class BuiltKernels:
    """What one backend built, found again without rendering or building twice.

    ``source`` memoises a kernel's generated source (and whatever goes with it, such as
    its cache key) by kernel object; ``build`` keeps each build by its cache key, so two
    kernel objects with the same source, or two threads asking at once, share one build;
    both remember the result by kernel object, so asking again costs one dict lookup."""

    def __init__(self):
        self._sources = KernelMemo()
        self._built = KernelMemo()
        self._by_key: dict[str, object] = {}
        self._building: dict[str, threading.Lock] = {}  # cache key -> its build's lock
        self._lock = threading.Lock()

    def get(self, kernel, checked: bool):
        """What :meth:`build` returned for ``kernel`` and ``checked``, or None."""
        return self._built.get(kernel, checked)

    def source(self, kernel, checked: bool, render: Callable[[], object]):
        """``render()``'s result for ``kernel`` and ``checked``, computed once."""
        return self._sources.remember(kernel, checked, render)

    def build(self, kernel, checked: bool, key: str | None, make: Callable[[], object]):
        """The build of cache key ``key``: ``make()`` the first time (under that key's
        lock: threads building different kernels compile at once, as calibration's
        ``planner/probe_builds`` does), else the one made before; with no key (nothing is built,
        as for the interpreter), ``make()`` once per kernel."""
        if key is None:
            with self._lock:
                found = self._built.get(kernel, checked)
                if found is None:
                    found = self._built.put(kernel, checked, make())
            return found
        with self._lock:
            found = self._by_key.get(key)
            building = self._building.setdefault(key, threading.Lock())
        if found is None:
            with building:
                found = self._by_key.get(key)
                if found is None:
                    found = make()
                    with self._lock:
                        self._by_key[key] = found
        return self._built.put(kernel, checked, found)

    def has(self, kernel, checked: bool, key: str) -> bool:
        """Whether ``kernel`` or cache key ``key`` is built in this process."""
        return self.get(kernel, checked) is not None or key in self._by_key
