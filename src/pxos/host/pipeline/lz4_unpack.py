"""Reading an LZ4 frame of independent blocks on every core (the frames that
``lz4_frame.BlockCompressor`` and the GPU write).

``BlockDecompressor`` has the interface of ``lz4.frame.LZ4FrameDecompressor``
(``decompress(data)``, ``eof``, ``unused_data``). It parses the frame (LZ4 Frame Format
1.6.x) itself and hands whole block records to ``pool``: each block is read by
``lz4.frame.decompress`` as a one-block frame with the same descriptor, so ``lz4`` checks
the block's XXH32 where the frame has them. It checks the header checksum and, where the
frame gives one, the content size. A frame whose blocks are linked, or that carries a
content checksum or a dictionary, is read by ``lz4``'s own decoder (one thread), so every
valid frame is read. Errors are ``ValueError`` (the caller names the codec).
"""

from __future__ import annotations

import struct

from pxos.host.pipeline.lz4_frame import BLOCK_CODES, END_MARK, MAGIC, STORED, xxh32_short

_SIZES = {code: size for size, code in BLOCK_CODES.items()}


def _one_block(desc: bytes, record: bytes) -> bytes:
    """``record`` read as the only block of a frame with descriptor ``desc`` (its content
    size flag cleared)."""
    import lz4.frame

    flat = bytes([desc[0] & ~0x08, desc[1]])
    head = MAGIC + flat + bytes([(xxh32_short(flat) >> 8) & 0xFF])
    return lz4.frame.decompress(b"".join((head, record, END_MARK)))


class BlockDecompressor:
    """One LZ4 frame, its independent blocks decoded side by side by ``pool``."""

    def __init__(self, pool=None):
        self.pool, self.buf, self.eof, self.unused_data = pool, b"", False, b""
        self.desc, self.size, self.seen, self.fallback = None, None, 0, None

    def decompress(self, data) -> bytes:
        if self.fallback is not None:
            return self._fallback(bytes(data))
        self.buf = self.buf + bytes(data) if self.buf else bytes(data)
        if self.desc is None and not self._header():
            return b""
        if self.fallback is not None:
            return self._fallback(b"")
        records = self._records()
        if self.pool is None or getattr(self.pool, "workers", 1) < 2 or len(records) < 2:
            out = [_one_block(self.desc, r) for r in records]
        else:
            out = self.pool.run(_one_block, [(self.desc, r) for r in records])
        self.seen += sum(map(len, out))
        if self.eof and self.size is not None and self.seen != self.size:
            raise ValueError(f"the frame holds {self.seen} bytes, its header says {self.size}")
        return out[0] if len(out) == 1 else b"".join(out)

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

    def _records(self) -> list[bytes]:
        """The whole block records buffered so far (up to the end mark)."""
        records, at, check = [], 0, 4 if self.desc[0] & 0x10 else 0
        view = memoryview(self.buf)
        while not self.eof and len(self.buf) - at >= 4:
            word = struct.unpack("<I", self.buf[at:at + 4])[0]
            if word == 0:
                self.eof, self.unused_data = True, self.buf[at + 4:]
                at = len(self.buf)
                break
            end = at + 4 + (word & ~STORED) + check
            if word & ~STORED > self.max:
                raise ValueError("a block is larger than the frame's block size")
            if end > len(self.buf):
                break
            records.append(view[at:end])  # no copy: _one_block copies each once
            at = end
        self.buf = self.buf[at:]
        return records

    def _fallback(self, data: bytes) -> bytes:
        data, self.buf = self.buf + data, b""
        out = self.fallback.decompress(data) if data else b""
        self.eof, self.unused_data = self.fallback.eof, self.fallback.unused_data or b""
        return out
