"""Streaming a file through the filters: a ring buffer of read slots, overlapped I/O, and
outputs that appear whole or not at all.

``read_chunks`` runs a reader thread that fills a ring of ``slots`` buffers of ``chunk``
bytes (``readinto``: no allocation per chunk) while the caller works on the slot before;
each ``StreamOutput`` has a writer thread that appends to a temporary file in the output's
folder while the caller computes the next chunk. So reads, computing and writes overlap
(the libraries release the GIL while they read, write, hash and compress). An output is
renamed into place only by ``commit`` after the whole stream has succeeded; ``discard``
(any error, Ctrl-C) removes it. A process killed outright (SIGKILL) leaves only its hidden
temporary file (``.pxos-<pid>-<start>-<random>.tmp``), never the output, and the next write
to that folder removes the stale file (``pxos/atomic_write``).
"""

from __future__ import annotations

import ctypes
import os
import queue
import threading
import time
from functools import cache
from pathlib import Path
from typing import Iterator

from pxos.atomic_write import commit_temp, open_folder, open_temp

DEFAULT_SLOTS = 4
WRITE_BEHIND = 8 << 20  # bytes: the writer starts the disk on each 8 MiB it has written
_END = None


@cache
def _sync_file_range():
    """libc's ``sync_file_range`` (Linux), or None."""
    try:
        fn = ctypes.CDLL(None, use_errno=True).sync_file_range
    except (OSError, AttributeError):  # not Linux's libc
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


def start_writeback(fd: int, offset: int, nbytes: int) -> None:
    """Ask the kernel to start writing ``nbytes`` at ``offset`` of ``fd`` to the disk
    without waiting (``SYNC_FILE_RANGE_WRITE`` = 2, sync_file_range(2)); a file system
    that does not support it is left to its own write-back (the result is ignored: the
    ``fsync`` at commit is what makes the file durable)."""
    fn = _sync_file_range()
    if fn is not None:
        fn(fd, offset, nbytes, 2)


class _Worker:
    """A thread that runs ``work(item)`` for each item put, in order; its first error is
    re-raised by ``put`` or ``join`` in the caller's thread."""

    def __init__(self, work, depth: int, name: str):
        self.work, self.error = work, None
        self.items: queue.Queue = queue.Queue(maxsize=depth)
        self.thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        while True:
            item = self.items.get()
            if item is _END:
                self.items.task_done()
                return
            try:
                if self.error is None:
                    self.work(item)
            except BaseException as err:  # handed to the caller's thread by _raise
                self.error = err
            finally:
                if isinstance(item, _Lent):  # its buffer goes back, written or not
                    item.release()
                self.items.task_done()

    def _raise(self) -> None:
        if self.error is not None:
            raise self.error

    def put(self, item) -> None:
        self._raise()
        self.items.put(item)

    def drain(self) -> None:
        """Wait until every item put so far has been worked on (or skipped)."""
        self.items.join()
        self._raise()

    def join(self) -> None:
        self.items.put(_END)
        self.thread.join()
        self._raise()


def read_chunks(path: Path, chunk: int, slots: int = DEFAULT_SLOTS) -> Iterator[memoryview]:
    """The bytes of ``path`` as consecutive views of at most ``chunk`` bytes (the last may
    be shorter; an empty file gives none). A view is valid until the next one is asked for:
    the ring has ``slots`` buffers, refilled by a reader thread ahead of the caller.

    Raises:
        OSError: the file cannot be opened or read (in the caller's thread).
    """
    ring = [bytearray(chunk) for _ in range(max(2, slots))]
    free: queue.Queue = queue.Queue()
    full: queue.Queue = queue.Queue()
    for i in range(len(ring)):
        free.put(i)
    stop = threading.Event()
    f = open(path, "rb", buffering=0)

    def reader() -> None:
        try:
            while not stop.is_set():
                i = free.get()
                if i is _END:
                    break
                n = f.readinto(ring[i])
                full.put((i, n))
                if not n:
                    break
        except OSError as err:
            full.put(err)

    thread = threading.Thread(target=reader, name="pxos-read", daemon=True)
    thread.start()
    held = None
    try:
        while True:
            got = full.get()
            if isinstance(got, OSError):
                raise got
            if held is not None:
                free.put(held)
            held, n = got
            if not n:
                return
            yield memoryview(ring[held])[:n]
    finally:
        stop.set()
        free.put(_END)
        thread.join()
        f.close()


class _Lent:
    """Bytes lent to the writer: written once ``ready()`` returns, then ``release()``d."""

    def __init__(self, data, ready, release):
        self.data, self.ready, self.release = data, ready, release


class StreamOutput:
    """A file written chunk by chunk under a temporary name in its folder; ``commit``
    renames it into place, ``discard`` removes it. ``path`` must be absolute and resolved.

    The writer thread asks the kernel to start writing each 8 MiB back to the disk as soon
    as it is written (Linux ``sync_file_range(SYNC_FILE_RANGE_WRITE)``, which does not
    wait), so the disk works while the stream runs and the ``fsync`` of ``commit`` finds
    little left to do. ``seconds`` holds the writer's time in ``write`` and in ``commit``.

    Raises (``open``, ``append``, ``commit``): OSError from the file system.
    """

    def __init__(self, path: Path, depth: int = DEFAULT_SLOTS):
        self.path, self.depth = Path(path), depth
        self.folder = self.fd = self.tmp = self.writer = None
        self.size = self.written = self.flushed = 0
        self.seconds = {"write": 0.0, "commit": 0.0}

    def open(self) -> "StreamOutput":
        self.folder = open_folder(self.path.parent)
        self.fd, self.tmp = open_temp(self.folder, self.path.name)
        self.written = self.flushed = 0
        self.writer = _Worker(self._write, self.depth, "pxos-write")
        return self

    def _write(self, data) -> None:
        if isinstance(data, _Lent):
            data.ready()
            data = data.data
        t = time.perf_counter()
        view = memoryview(data).cast("B")
        while view:
            view = view[os.write(self.fd, view):]
        self.written += len(data)
        if self.written - self.flushed >= WRITE_BEHIND:
            start_writeback(self.fd, self.flushed, self.written - self.flushed)
            self.flushed = self.written
        self.seconds["write"] += time.perf_counter() - t

    def append(self, data, ready=None, release=None) -> None:
        """Queue ``data`` (not changed afterwards by the caller) for appending. With
        ``release``, ``data`` is lent: the writer calls ``ready()`` (which returns when
        ``data`` holds its bytes: a GPU copy's event, say) before it writes, and
        ``release()`` after (also when it skips the write after an error), so the caller
        may reuse the buffer."""
        if release is not None:
            self.writer.put(_Lent(data, ready or (lambda: None), release))
            self.size += len(data)
        elif len(data):
            self.size += len(data)
            self.writer.put(data)

    def drain(self) -> None:
        """Wait until every byte appended so far is written (re-raising a write error)."""
        self.writer.drain()

    def commit(self) -> None:
        self.writer.join()
        fd, self.fd = self.fd, None
        t = time.perf_counter()
        commit_temp(self.folder, fd, self.tmp, self.path.name)
        self.seconds["commit"] += time.perf_counter() - t
        self._close_folder()

    def discard(self) -> None:
        if self.writer is not None:
            try:
                self.writer.join()
            except BaseException:  # the write that failed is why we discard
                pass
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        if self.tmp is not None and self.folder is not None:
            try:
                os.unlink(self.tmp, dir_fd=self.folder)
            except OSError:
                pass
        self._close_folder()

    def _close_folder(self) -> None:
        if self.folder is not None:
            os.close(self.folder)
            self.folder = None


def stream_file(src: Path, dst: Path, stage, chunk: int) -> None:
    """``src`` through one filter (``push``/``close``, as ``filters``) into ``dst``,
    ``chunk`` bytes at a time; ``dst`` appears only when all of it is written.

    Raises:
        OSError: ``src`` cannot be read or ``dst`` written (nothing is left at ``dst``).
        PxError: the filter's (a wrong tag, a corrupt input; nothing is left at ``dst``).
    """
    out = StreamOutput(Path(dst).absolute().parent.resolve() / Path(dst).name).open()
    try:
        for view in read_chunks(Path(src), chunk):
            out.append(stage.push(view))
        out.append(stage.close())
        out.commit()
    except BaseException:
        out.discard()
        raise
