"""Reading an LZ4 frame of independent blocks on every core (the frames that
``lz4_frame.BlockCompressor`` and the GPU write).

``BlockDecompressor`` has the interface of ``lz4.frame.LZ4FrameDecompressor``
(``decompress(data)``, ``eof``, ``unused_data``). It parses the frame (LZ4 Frame Format
1.6.x) itself and hands whole block records to C threads (``lz4_threads``: each block's
XXH32 checked where the frame has them, then ``LZ4_decompress_safe`` into its place), or
where they cannot serve to ``pool``: each block read by ``lz4.frame.decompress`` as a
one-block frame with the same descriptor, so ``lz4`` checks the block's XXH32. It checks the
header checksum and, where the frame gives one, the content size. A frame whose blocks are
linked, or that carries a content checksum or a dictionary, is read by ``lz4``'s own decoder
(one thread), so every valid frame is read. Errors are ``ValueError`` (the caller names the
codec).
"""

from __future__ import annotations

import struct

import numpy as np

from pxos.host.pipeline.lz4_frame import BLOCK_CODES, END_MARK, MAGIC, STORED, xxh32_short

_SIZES = {code: size for size, code in BLOCK_CODES.items()}
HEAD_MAX = 19  # bytes: the longest frame header (magic, FLG, BD, content size, dictionary, HC)


def _one_block(desc: bytes, record: bytes) -> bytes:
    """``record`` read as the only block of a frame with descriptor ``desc`` (its content
    size flag cleared)."""
    import lz4.frame

    flat = bytes([desc[0] & ~0x08, desc[1]])
    head = MAGIC + flat + bytes([(xxh32_short(flat) >> 8) & 0xFF])
    return lz4.frame.decompress(b"".join((head, record, END_MARK)))


def _decode_run(desc: bytes, records: list, out: np.ndarray, first: int,
                block: int) -> list[bytes]:
    """Decode ``records`` (blocks ``first``, ``first + 1``, …); each block that fits is
    copied to ``out[i * block:]`` (NumPy's copy releases the GIL). The decoded blocks."""
    done = [_one_block(desc, r) for r in records]
    for i, data in enumerate(done, first):
        if len(data) <= block:
            out[i * block:i * block + len(data)] = np.frombuffer(data, np.uint8)
    return done


class BlockDecompressor:
    """One LZ4 frame, its independent blocks decoded side by side by ``pool``."""

    def __init__(self, pool=None):
        self.pool, self.buf, self.eof, self.unused_data = pool, b"", False, b""
        self.desc, self.size, self.seen, self.fallback = None, None, 0, None

    def decompress(self, data):
        """The bytes decoded so far: ``bytes``, or a u8 array when decoded on the pool.
        ``data`` is read in place: only a record that the next push completes (and the
        header's bytes) are copied."""
        if self.fallback is not None:
            return self._fallback(bytes(data))
        view = memoryview(data).cast("B")
        if self.desc is None:
            head = min(len(view), HEAD_MAX)  # a header is at most HEAD_MAX bytes
            self.buf, view = self.buf + bytes(view[:head]), view[head:]
            if not self._header():
                return b""
            if self.fallback is not None:
                return self._fallback(bytes(view))
        records = self._records(view)
        if len(records) < 2:
            out = _one_block(self.desc, records[0]) if records else b""
        else:
            out = self._decode_runs(records, getattr(self.pool, "workers", 1))
        self.seen += len(out)
        if self.eof and self.size is not None and self.seen != self.size:
            raise ValueError(f"the frame holds {self.seen} bytes, its header says {self.size}")
        return out

    def _decode_runs(self, records: list, workers: int):
        """The records decoded on ``lz4_threads``' C threads (``workers`` of them, each block
        checked and decoded straight into its place), else one run per worker of ``pool``
        (here where there is none),
        each block copied by its worker into its place in one output array (block ``i`` at
        ``i`` times the frame's block size: every block but the last is full in the frames
        LZ4 writes), so the copy and the output's first-touch page faults run on every
        core, not in this thread; joined here only where a block is not so."""
        from pxos.host.pipeline import lz4_threads

        if lz4_threads.helper() is not None:  # C threads: checked and decoded into place
            out = lz4_threads.output(len(records) * self.max)
            sizes = lz4_threads.unpack(records, out, self.max, bool(self.desc[0] & 0x10),
                                       workers)
            if (sizes[:-1] != self.max).any():
                return b"".join(out[k * self.max:k * self.max + int(n)]
                                for k, n in enumerate(sizes))
            return out[:len(out) - self.max + int(sizes[-1])]
        out = np.empty(len(records) * self.max, np.uint8)
        step = -(-len(records) // workers)
        jobs = [(self.desc, records[lo:lo + step], out, lo, self.max)
                for lo in range(0, len(records), step)]
        runs = ([_decode_run(*job) for job in jobs] if self.pool is None
                else self.pool.run(_decode_run, jobs))
        blocks = [block for run in runs for block in run]
        if any(len(b) != self.max for b in blocks[:-1]) or len(blocks[-1]) > self.max:
            return b"".join(blocks)
        return out[:len(out) - self.max + len(blocks[-1])]

    def _header(self) -> bool:
        """Parse the header once it is whole; False while it is not."""
        if len(self.buf) >= 4 and self.buf[:4] != MAGIC:
            raise ValueError("not an LZ4 frame (bad magic number)")
        if len(self.buf) < 7:
            return False
        flg, bd = self.buf[4], self.buf[5]
        n = 2 + (8 if flg & 0x08 else 0) + (4 if flg & 0x01 else 0)
        if len(self.buf) < 5 + n:
            return False
        desc = self.buf[4:4 + n]
        if flg >> 6 != 1 or (bd >> 4) & 7 not in _SIZES or self.buf[4 + n] != \
                (xxh32_short(desc) >> 8) & 0xFF:
            raise ValueError("bad frame header")
        if not flg & 0x20 or flg & 0x05:  # linked blocks, content checksum or dictionary
            import lz4.frame
            self.fallback = lz4.frame.LZ4FrameDecompressor()
            return True
        self.desc, self.max = desc, _SIZES[(bd >> 4) & 7]
        self.size = struct.unpack("<Q", desc[2:10])[0] if flg & 0x08 else None
        self.buf = self.buf[5 + n:]
        return True

    def _records(self, view: memoryview) -> list:
        """The whole block records of ``self.buf`` ‖ ``view`` (up to the end mark): the one
        that ``self.buf`` began, completed with as few bytes of ``view`` as it needs, then
        views of ``view``; the incomplete rest is copied to ``self.buf``."""
        records = []
        if self.buf:
            take = self._missing(view)
            first, view = self.buf + bytes(view[:take]), view[take:]
            records, at = self._scan(first)
            self.buf = first[at:]
            if self.buf or self.eof:
                self.unused_data += bytes(view) if self.eof else b""
                return records
        more, at = self._scan(view)
        self.buf = bytes(view[at:]) if not self.eof else b""
        return records + more

    def _missing(self, view: memoryview) -> int:
        """How many bytes of ``view`` complete the record (or end mark) begun in
        ``self.buf``."""
        word = self.buf[:4] + bytes(view[:max(0, 4 - len(self.buf))])
        if len(word) < 4:
            return len(view)
        size = struct.unpack("<I", word)[0] & ~STORED
        whole = 4 if word == END_MARK else 4 + size + (4 if self.desc[0] & 0x10 else 0)
        return min(len(view), max(0, whole - len(self.buf)))

    def _scan(self, buf) -> tuple[list, int]:
        """(the whole records at the start of ``buf``, views of it; where the first
        incomplete one begins); at the end mark, ``eof`` and ``unused_data`` are set."""
        records, at, check = [], 0, 4 if self.desc[0] & 0x10 else 0
        while len(buf) - at >= 4:
            word = struct.unpack_from("<I", buf, at)[0]
            if word == 0:
                self.eof, self.unused_data = True, bytes(buf[at + 4:])
                return records, len(buf)
            end = at + 4 + (word & ~STORED) + check
            if word & ~STORED > self.max:
                raise ValueError("a block is larger than the frame's block size")
            if end > len(buf):
                break
            records.append(buf[at:end])  # no copy: the decoders read it in place
            at = end
        return records, at

    def _fallback(self, data: bytes) -> bytes:
        data, self.buf = self.buf + data, b""
        out = self.fallback.decompress(data) if data else b""
        self.eof, self.unused_data = self.fallback.eof, self.fallback.unused_data or b""
        return out
