"""The CUDA side of a streamed cipher: pinned buffers and streams, so that one chunk's
upload, kernel and download overlap the next chunk's.

Chunk ``k`` is copied into pinned host buffer ``k mod slots``; on CUDA stream
``k mod slots`` (CuPy, non-blocking) it is uploaded, run through the keystream kernel
(``ciphers.run_keystream``, which queues on CuPy's current stream) and downloaded into a
pinned output buffer, all asynchronously (copies from and to pinned memory do not block
the host, CUDA C++ Programming Guide, "Asynchronous Concurrent Execution"). ``submit``
returns at once with the outputs of the chunks that have finished meanwhile, oldest first;
``drain`` waits for the rest. So while the GPU works on chunk ``k`` the host reads chunk
``k + 1`` from disk and writes chunk ``k − 1``.

:class:`CudaSlotEngine` serves ``slot_stream`` (a cipher straight from file to file): there
the reader thread fills the pinned slot itself and the writer thread writes from it, so a
chunk is never copied on the host. The key's tables go to the GPU once per stream.
"""

from __future__ import annotations

from collections import deque

import numpy as np


def _download(device, pinned, stream) -> None:
    """Queue the copy of ``device`` into ``pinned`` host memory on ``stream``."""
    try:
        device.get(stream=stream, out=pinned, blocking=False)
    except TypeError:  # CuPy before 13: a copy into pinned memory is async already
        device.get(stream=stream, out=pinned)


class CudaKeystreamRing:
    """AES-256-CTR or ChaCha20 keystream XOR on the GPU over ``slots`` pinned buffers.

    Args:
        cipher: ``aes256ctr`` or ``chacha20``; key: 32 bytes.
        slots: chunks in flight at once (2: one on the GPU while the next is copied).
    """

    def __init__(self, cipher: str, key: bytes, slots: int = 2):
        import cupy

        from pxos.host.pipeline.ciphers import keystream_tables

        self.cupy, self.cipher, self.key = cupy, cipher, key
        self.tables = keystream_tables(cipher, key, cupy)
        cupy.cuda.get_current_stream().synchronize()  # the non-blocking streams do not wait
        self.streams = [cupy.cuda.Stream(non_blocking=True) for _ in range(slots)]
        self.buffers: list[tuple | None] = [None] * slots
        self.inflight: deque = deque()  # (slot, bytes)
        self.count = 0

    def _buffers(self, slot: int, whole: int) -> tuple:
        """(pinned in, pinned out, device in, device out) of at least ``whole`` bytes."""
        import cupyx

        have = self.buffers[slot]
        if have is None or len(have[0]) < whole:
            cp = self.cupy
            have = self.buffers[slot] = (cupyx.empty_pinned(whole, np.uint8),
                                         cupyx.empty_pinned(whole, np.uint8),
                                         cp.empty(whole, cp.uint8), cp.empty(whole, cp.uint8))
        return have

    def submit(self, data: np.ndarray, counter: bytes, start: int) -> list[np.ndarray]:
        """Queue ``data`` (any length) XOR the keystream from ``counter`` (AES: the counter
        block; ChaCha20: the nonce, with block counter ``start``); returns the outputs of
        earlier chunks that are done, oldest first."""
        from pxos.host.pipeline.ciphers import run_keystream

        done = [self._finish()] if len(self.inflight) == len(self.streams) else []
        slot = self.count % len(self.streams)
        self.count += 1
        n = len(data)
        whole = -(-n // 64) * 64 or 64
        pin_in, pin_out, dev_in, dev_out = self._buffers(slot, whole)
        pin_in[:n] = data
        pin_in[n:whole] = 0
        stream = self.streams[slot]
        with stream:
            dev_in[:whole].set(pin_in[:whole], stream=stream)
            run_keystream(dev_in[:whole].view(self.cupy.uint32),
                          dev_out[:whole].view(self.cupy.uint32), self.cipher, self.key,
                          counter, "cuda", start, self.tables)
            _download(dev_out[:whole], pin_out[:whole], stream)
        self.inflight.append((slot, n))
        return done + self._ready()

    def _ready(self) -> list[np.ndarray]:
        """Outputs of the oldest chunks whose stream has finished, without waiting."""
        out = []
        while self.inflight and self.streams[self.inflight[0][0]].done:
            out.append(self._finish())
        return out

    def _finish(self) -> np.ndarray:
        slot, n = self.inflight.popleft()
        self.streams[slot].synchronize()
        return self.buffers[slot][1][:n].copy()

    def drain(self) -> list[np.ndarray]:
        """Wait for every chunk still in flight; their outputs, oldest first."""
        return [self._finish() for _ in range(len(self.inflight))]


class CudaSlotEngine:
    """``slot_stream``'s engine on the GPU: slot ``s`` has one pinned host buffer (read into
    by the reader thread, downloaded into, written from by the writer thread), two device
    buffers and its own non-blocking CUDA stream; ``launch`` queues the upload, the kernel
    and the download on that stream and returns the ``ready`` that the writer calls (the
    synchronization of an event recorded after the download).

    Args:
        cipher: ``aes256ctr`` or ``chacha20``; key: 32 bytes; nonce: 16 or 12 bytes.
    """

    def __init__(self, cipher: str, key: bytes, nonce: bytes):
        import cupy

        from pxos.host.pipeline.ciphers import keystream_tables

        self.cupy, self.cipher, self.key, self.nonce = cupy, cipher, key, nonce
        self.unit = 64 if cipher == "chacha20" else 16
        self.tables = keystream_tables(cipher, key, cupy)
        cupy.cuda.get_current_stream().synchronize()  # the slots' streams do not wait for it
        self.inputs: list = []
        self.streams: list = []
        self.device: list = []

    @property
    def outputs(self) -> list:
        return self.inputs  # downloaded into the slot it came from

    def allocate(self, slots: int, chunk: int) -> None:
        import cupyx

        cp = self.cupy
        self.inputs = [cupyx.empty_pinned(chunk, np.uint8) for _ in range(slots)]
        self.device = [(cp.empty(chunk, cp.uint8), cp.empty(chunk, cp.uint8))
                       for _ in range(slots)]
        self.streams = [cp.cuda.Stream(non_blocking=True) for _ in range(slots)]

    def launch(self, slot: int, nbytes: int, block: int):
        from pxos.host.pipeline.ciphers import run_keystream

        whole = -(-nbytes // 64) * 64  # the bytes past nbytes are garbage, never written
        host, (dev_in, dev_out), stream = self.inputs[slot], self.device[slot], self.streams[slot]
        if self.cipher == "chacha20":
            counter, start = self.nonce, block
        else:
            counter = ((int.from_bytes(self.nonce, "big") + block) % 2 ** 128).to_bytes(16, "big")
            start = 0
        with stream:
            dev_in[:whole].set(host[:whole], stream=stream)
            run_keystream(dev_in[:whole].view(self.cupy.uint32),
                          dev_out[:whole].view(self.cupy.uint32), self.cipher, self.key,
                          counter, "cuda", start, self.tables)
            _download(dev_out[:whole], host[:whole], stream)
            done = stream.record()
        return done.synchronize

    def close(self) -> None:
        for stream in self.streams:
            stream.synchronize()
        self.inputs, self.device, self.streams = [], [], []
