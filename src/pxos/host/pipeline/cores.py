"""One chunk per core: a small pool of threads for the stream filters' independent parts.

The libraries the host path uses release the GIL while they work on a large buffer
(``hashlib`` above 2 KiB, ``zstandard``, ``lz4``, ``zlib``), so threads run them on every
core. ``cryptography`` 48 does not release it during ``update_into`` or ``AESGCM.encrypt``
(measured: two threads encrypt AES-256-CTR no faster than one), so CTR and ChaCha20 parts
and GCM segments call OpenSSL directly (``openssl_evp``, GIL released) where the C threads
of ``evp_threads`` cannot serve; the pool's size is the number of those threads too.
``benchmarks/pipeline_cores.py`` measures each.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor


def cpu_count() -> int:
    """The cores this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


class CorePool:
    """``workers`` threads (default: one per core); ``run(fn, jobs)`` calls ``fn(*job)`` for
    every job and returns when all are done, re-raising the first error. Close it with
    ``close()`` or a ``with`` block."""

    def __init__(self, workers: int | None = None):
        self.workers = max(1, workers or cpu_count())
        self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="pxos-core") \
            if self.workers > 1 else None

    def run(self, fn, jobs: list[tuple]) -> list:
        if self._pool is None or len(jobs) < 2:
            return [fn(*job) for job in jobs]
        return [f.result() for f in [self._pool.submit(fn, *job) for job in jobs]]

    def run_here(self, fn, jobs: list[tuple]) -> list:
        """As :meth:`run`, but the calling thread does the first job itself while the
        workers do the rest: one thread fewer to wake (about 50 µs on a VM) for work that
        releases the GIL; at most ``workers`` jobs run at once when ``len(jobs) <=
        workers``."""
        if self._pool is None or len(jobs) < 2:
            return [fn(*job) for job in jobs]
        rest = [self._pool.submit(fn, *job) for job in jobs[1:]]
        first = fn(*jobs[0])
        return [first] + [f.result() for f in rest]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)

    def __enter__(self) -> "CorePool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
