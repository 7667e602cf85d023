"""A keystream cipher streamed file to file through a ring of slots, without copies.

The common GPU stream, ``READ_FILE … CHUNK`` → ``ENCRYPT``/``DECRYPT … WITH aes256ctr |
chacha20`` → ``WRITE_FILE``, runs here rather than through the filters: each of ``slots``
slots owns a host buffer for a whole chunk (pinned memory on cuda), and a chunk stays in
its slot from disk to disk:

```
reader thread   free slot ─► readinto(slot)               (no allocation, no copy)
caller's thread full slot ─► engine.launch(slot, …)       (cuda: upload, kernel, download
                                                            queued on the slot's stream)
writer thread   launched  ─► ready() ─► os.write(slot) ─► the slot is free again
```

So reading chunk ``k + 2``, the GPU's work on chunk ``k + 1`` and writing chunk ``k`` run
at once, each on its own thread or stream; nothing waits on the whole device, and a slot
returns to the reader only when its bytes are on their way to the disk. The rate is that of
the slowest of the three (CUDA C++ Programming Guide, "Asynchronous Concurrent Execution":
copies between pinned host memory and the device overlap kernels and the host).

Engines (``launch(slot, nbytes, block) -> ready``): :class:`HostKeystreamEngine` (OpenSSL,
one part per core, or a pxos backend's kernel) and ``cuda_ring.CudaSlotEngine``. The chunk
is a multiple of 64 bytes, so chunk ``k`` starts at keystream block ``k · chunk / unit``
(the counter continues as in ``filters.KeystreamFilter``: the same bytes as one shot).
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pxos.errors import PxArgumentError

SLOTS = 6  # chunks in flight: being read, on the device, being written, and spares
_END = None


class ReadFailed(OSError):
    """The source file could not be read (an ``OSError`` of the reader thread)."""


@dataclass
class StreamTimes:
    """Seconds each thread of a slot stream spent working (``read``: in ``readinto``;
    ``launch``: queueing or computing chunks; ``write``: the writer's, from
    ``StreamOutput.seconds``) and waiting (``wait_full``: the caller for a read chunk),
    with the wall-clock time: a thread whose work fills the wall is the slowest stage."""

    wall: float = 0.0
    read: float = 0.0
    launch: float = 0.0
    wait_full: float = 0.0
    write: float = 0.0
    chunks: int = 0


class HostKeystreamEngine:
    """AES-256-CTR or ChaCha20 into a slot's output on the host (``filters.KeystreamFilter``:
    OpenSSL, one part per worker of ``pool``) or on a pxos backend (``device``)."""

    def __init__(self, cipher: str, key: bytes, nonce: bytes, device: str = "host",
                 pool=None):
        from pxos.host.pipeline.filters import KeystreamFilter

        self.filter = KeystreamFilter(cipher, key, nonce, device, pool)
        self.cipher, self.unit, self.device = cipher, self.filter.unit, device
        self.inputs: list[np.ndarray] = []
        self.outputs: list[np.ndarray] = []

    def allocate(self, slots: int, chunk: int) -> None:
        self.inputs = [np.empty(chunk, np.uint8) for _ in range(slots)]
        self.outputs = [np.empty(chunk + 16, np.uint8) for _ in range(slots)]

    def launch(self, slot: int, nbytes: int, block: int):
        src, dst = self.inputs[slot][:nbytes], self.outputs[slot]
        if self.device == "host":
            self.filter.xor_into(src, dst, block)
        else:
            from pxos.host.pipeline.ciphers import keystream_xor

            f = self.filter
            dst[:nbytes] = keystream_xor(src, f.cipher, f.key, f.counter(block), self.device,
                                         block if f.cipher == "chacha20" else 0)
        return None

    def close(self) -> None:
        pass


def make_engine(cipher: str, key: bytes, nonce: bytes, device: str = "host", pool=None):
    """The engine for ``cipher`` on ``device``: ``cuda_ring.CudaSlotEngine`` on cuda, else
    :class:`HostKeystreamEngine` (key and nonce checked by the caller)."""
    if device == "cuda":
        from pxos.host.pipeline.cuda_ring import CudaSlotEngine

        return CudaSlotEngine(cipher, key, nonce)
    return HostKeystreamEngine(cipher, key, nonce, device, pool)


def cipher_file(src: Path, dst: Path, cipher: str, key: bytes, nonce: bytes, chunk: int,
                device: str = "host") -> StreamTimes:
    """``src`` encrypted (or decrypted: the same operation) with ``aes256ctr`` or
    ``chacha20`` into ``dst``, which appears only when all of it is written; one worker per
    core on the host. Raises as :func:`stream_keystream` (nothing is left at ``dst``)."""
    from pxos.host.pipeline.cores import CorePool
    from pxos.host.pipeline.stream import StreamOutput

    with CorePool() as pool:
        engine = make_engine(cipher, key, nonce, device, pool)
        out = StreamOutput(Path(dst).absolute().parent.resolve() / Path(dst).name).open()
        try:
            times = stream_keystream(Path(src), out, engine, chunk)
            out.commit()
        except BaseException:
            out.discard()
            raise
    return times


def check_blocks(cipher: str, nbytes: int) -> None:
    """PxArgumentError when ChaCha20's 32-bit block counter would wrap (RFC 8439)."""
    if cipher == "chacha20" and -(-nbytes // 64) > 2 ** 32:
        raise PxArgumentError("chacha20: more than 256 GiB under one nonce would wrap its "
                              "32-bit block counter (RFC 8439); split the file")


def stream_keystream(src: Path, out, engine, chunk: int, slots: int = SLOTS,
                     advance=lambda n: None) -> StreamTimes:
    """``src`` through ``engine`` into ``out`` (an open ``stream.StreamOutput``; the caller
    commits or discards it), ``chunk`` bytes (a multiple of 64) at a time over ``slots``
    slots; ``advance(bytes)`` after each chunk is queued. Returns the threads' times.

    Raises:
        ReadFailed: ``src`` cannot be read.
        OSError: ``out`` cannot be written (from the writer thread).
        PxArgumentError: ChaCha20's block counter would wrap.
    """
    if chunk % 64:
        raise ValueError(f"a slot stream's chunk must be a multiple of 64 bytes; got {chunk}")
    check_blocks(engine.cipher, Path(src).stat().st_size)
    times, start = StreamTimes(), time.perf_counter()
    engine.allocate(slots, chunk)
    free: queue.Queue = queue.Queue()
    full: queue.Queue = queue.Queue()
    for slot in range(slots):
        free.put(slot)
    reader = threading.Thread(target=_read, args=(Path(src), engine.inputs, chunk, free, full, times),
                              name="pxos-read", daemon=True)
    reader.start()
    ok = False
    try:
        offset = 0
        while True:
            t = time.perf_counter()
            got = full.get()
            times.wait_full += time.perf_counter() - t
            if isinstance(got, BaseException):
                raise got
            slot, n = got
            if not n:
                break
            t = time.perf_counter()
            ready = engine.launch(slot, n, offset // engine.unit)
            times.launch += time.perf_counter() - t
            out.append(engine.outputs[slot][:n], ready, lambda s=slot: free.put(s))
            offset += n
            times.chunks += 1
            advance(n)
        ok = True
    finally:
        free.put(_END)
        reader.join()
        try:
            try:
                out.drain()  # the writer is done with every slot before the slots go
            except BaseException:
                if ok:
                    raise
        finally:
            engine.close()
    times.write, times.wall = out.seconds["write"], time.perf_counter() - start
    return times


def _read(path: Path, buffers: list, chunk: int, free: queue.Queue, full: queue.Queue,
          times: StreamTimes) -> None:
    """The reader thread: a free slot, filled from the file; (slot, 0) at the end."""
    try:
        with open(path, "rb", buffering=0) as f:
            while True:
                slot = free.get()
                if slot is _END:
                    return
                t = time.perf_counter()
                n = f.readinto(memoryview(buffers[slot])[:chunk])
                times.read += time.perf_counter() - t
                full.put((slot, n))
                if not n:
                    return
    except OSError as err:
        full.put(ReadFailed(err.errno, err.strerror))
