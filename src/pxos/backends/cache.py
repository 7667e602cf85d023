"""The on-disk kernel cache shared by the compiling backends.

A compiled kernel is stored under ``$PXOS_CACHE_DIR`` (default: the user's cache folder,
``~/.cache/pxos`` on Linux) at ``<backend>/<key>.<suffix>``, where the key is the SHA-256 of
everything that determines the binary: the generated source, the compiler's identity and
version, and the flags. Entries are written to a temporary file in the same folder and
renamed into place, so concurrent processes never see a half-written file.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from pathlib import Path
from typing import Callable


def cache_dir() -> Path:
    """The root of the cache (created if missing)."""
    root = os.environ.get("PXOS_CACHE_DIR")
    if root:
        path = Path(root)
    else:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        path = Path(base) / "pxos"
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_key(*parts: str | bytes) -> str:
    """SHA-256 over the parts (each length-prefixed, so boundaries matter)."""
    h = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.hexdigest()


def entry_path(backend: str, key: str, suffix: str) -> Path:
    """Where the entry ``key`` of ``backend`` lives (it may not exist yet)."""
    folder = cache_dir() / backend
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{key}{suffix}"


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
        self._lock = threading.Lock()

    def get(self, kernel, checked: bool):
        """What :meth:`build` returned for ``kernel`` and ``checked``, or None."""
        return self._built.get(kernel, checked)

    def source(self, kernel, checked: bool, render: Callable[[], object]):
        """``render()``'s result for ``kernel`` and ``checked``, computed once."""
        return self._sources.remember(kernel, checked, render)

    def build(self, kernel, checked: bool, key: str, make: Callable[[], object]):
        """The build of cache key ``key``: ``make()`` the first time (under a lock, one
        build at a time per backend), else the one made before."""
        with self._lock:
            found = self._by_key.get(key)
            if found is None:
                found = self._by_key[key] = make()
        return self._built.put(kernel, checked, found)

    def has(self, kernel, checked: bool, key: str) -> bool:
        """Whether ``kernel`` or cache key ``key`` is built in this process."""
        return self.get(kernel, checked) is not None or key in self._by_key


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically: temporary file in the same folder, fsync,
    rename. A crash leaves either the old file or the new one, never part of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
