"""CUDA streams and events for Python callers: ``with pxos.stream():`` and awaiting.

A :class:`Stream` is a CuPy non-blocking stream made current inside its ``with`` block:
every pxos launch and CuPy operation there is queued on it, so work on two streams can
overlap (kernels with kernels, kernels with copies from pinned memory). Waiting uses CUDA
events created with ``cudaEventBlockingSync``: the waiting thread sleeps in the driver
instead of spinning, and :meth:`Stream.wait` does so in a worker thread so an asyncio event
loop keeps running.
"""

from __future__ import annotations


from pxos import backends, registry


class Stream:
    """One CUDA stream (CUDA C++ Programming Guide, "Streams").

    Raises:
        PxBackendError: on construction, where the ``cuda`` backend cannot run.
    """

    def __init__(self):
        backends.get("cuda")
        import cupy

        self._cupy = cupy
        self.cupy_stream = cupy.cuda.Stream(non_blocking=True)

    def __enter__(self) -> "Stream":
        self.cupy_stream.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.cupy_stream.__exit__(*exc)

    @property
    def ptr(self) -> int:
        """The ``CUstream`` handle."""
        return self.cupy_stream.ptr

    def record(self, timing: bool = True):
        """A CuPy event recorded now on this stream (for timelines: ``cupy.cuda.
        get_elapsed_time(a, b)`` in milliseconds)."""
        event = self._cupy.cuda.Event(block=True, disable_timing=not timing)
        event.record(self.cupy_stream)
        return event

    def synchronize(self) -> None:
        """Wait (sleeping, not spinning) until everything queued on the stream is done."""
        self.record(timing=False).synchronize()

    async def wait(self) -> None:
        """Await everything queued so far on the stream without blocking the event loop."""
        import asyncio  # loaded already: an event loop runs this coroutine

        event = self.record(timing=False)
        await asyncio.get_running_loop().run_in_executor(None, event.synchronize)


def stream() -> Stream:
    """A new stream, to be used as ``with pxos.stream() as s:``."""
    return Stream()


def synchronize() -> None:
    """Wait for every launch and copy queued on the devices pxos has used."""
    for name in registry.device_backends():
        if name in backends.available():
            backends.get(name).synchronize()
