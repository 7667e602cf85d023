"""AES-256-GCM over a stream: the file cut into segments, each sealed on its own.

One GCM message cannot be checked before all of it has been read, and it holds at most
2^32 − 2 blocks (64 GiB). A streamed ``ENCRYPT … WITH aes256gcm`` therefore writes the
framing of the STREAM construction (V. T. Hoang, R. Reyhanitabar, P. Rogaway, D. Vizár,
"Online Authenticated-Encryption and its Nonce-Reuse Misuse-Resistance", CRYPTO 2015, as
Tink's streaming AEAD and age use it):

```
header   = b"PXGCMS1\\0" ‖ segment size S (4 bytes, big-endian)         12 bytes
segment i = AES-256-GCM(key, IV_i, plaintext[i·S : (i+1)·S], AAD_i)  ciphertext ‖ 16-byte tag
IV_i     = (nonce + i) mod 2^96, the 12-byte nonce read as a big-endian number
AAD_i    = header ‖ i (8 bytes, big-endian) ‖ 1 if segment i is the last else 0 (1 byte)
```

Every segment but the last holds exactly S plaintext bytes; the last holds 1 to S (0 only
for an empty file). The index in the IV and the AAD stops segments being reordered, the
last-segment flag stops the file being cut short at a segment boundary, and the header in
the AAD stops S being changed. A stream under one nonce uses the nonces ``nonce`` to
``nonce + segments − 1``: give each file a nonce far from every other under the key (a
random one). Segments are independent, so they are sealed and opened one per core.
"""

from __future__ import annotations

import numpy as np

from pxos.errors import PxRuntimeError

MAGIC = b"PXGCMS1\0"
HEADER = len(MAGIC) + 4
TAG = 16


def header(segment: int) -> bytes:
    """The 12-byte header for segments of ``segment`` plaintext bytes."""
    return MAGIC + segment.to_bytes(4, "big")


def _iv(nonce: bytes, i: int) -> bytes:
    return ((int.from_bytes(nonce, "big") + i) % 2 ** 96).to_bytes(12, "big")


def _aad(head: bytes, i: int, last: bool) -> bytes:
    return head + i.to_bytes(8, "big") + bytes([last])


class GcmSealFilter:
    """Encrypts a stream into the framing above (``push``/``close`` as every filter).

    Args:
        key: 32 bytes; nonce: 12 bytes (checked by the caller).
        segment: S, plaintext bytes per segment (1 to 2^31).
        pool: a ``cores.CorePool`` for sealing segments side by side, or None.
    """

    def __init__(self, key: bytes, nonce: bytes, segment: int, pool=None):
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        self.aead, self.nonce, self.segment, self.pool = AESGCM(key), nonce, segment, pool
        self.head, self.index, self.started = header(segment), 0, False
        self.pending = np.zeros(0, np.uint8)

    def _seal(self, data, i: int, last: bool) -> bytes:
        return self.aead.encrypt(_iv(self.nonce, i), bytes(data), _aad(self.head, i, last))

    def _emit(self, buf: np.ndarray, count: int, last: bool) -> bytes:
        s, first = self.segment, self.index
        jobs = [(buf[k * s:(k + 1) * s], first + k, last and k == count - 1)
                for k in range(count)]
        self.index += count
        sealed = self.pool.run(self._seal, jobs) if self.pool else [self._seal(*j) for j in jobs]
        out = b"".join(sealed)
        if not self.started:
            self.started, out = True, self.head + out
        return out

    def push(self, data) -> bytes:
        buf = np.concatenate([self.pending, np.frombuffer(data, np.uint8)])
        count = max(0, (len(buf) - 1) // self.segment)  # the last segment waits for close
        self.pending = buf[count * self.segment:].copy()
        return self._emit(buf, count, False) if count else b""

    def close(self) -> bytes:
        out = self._emit(self.pending, 1, True)
        self.pending = np.zeros(0, np.uint8)
        return out


class GcmOpenFilter:
    """Decrypts the framing above; every tag is checked before its plaintext is given.

    Raises (from ``push``/``close``): PxRuntimeError for a header that is not this
    framing, a wrong tag (wrong key or nonce, or a segment changed, moved, dropped or cut
    short), or an input that ends inside a segment.
    """

    def __init__(self, key: bytes, nonce: bytes, pool=None):
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        self.aead, self.nonce, self.pool = AESGCM(key), nonce, pool
        self.head, self.segment, self.index = None, 0, 0
        self.pending = np.zeros(0, np.uint8)

    def _open(self, data, i: int, last: bool) -> bytes:
        from cryptography.exceptions import InvalidTag

        try:
            return self.aead.decrypt(_iv(self.nonce, i), bytes(data), _aad(self.head, i, last))
        except InvalidTag:
            raise PxRuntimeError(f"aes256gcm: authentication tag of segment {i} does not "
                                 "match (wrong key or nonce, or the data were changed, "
                                 "reordered or cut short)") from None

    def _read_header(self, buf: np.ndarray) -> np.ndarray:
        head = buf[:HEADER].tobytes()
        if not head.startswith(MAGIC):
            raise PxRuntimeError("aes256gcm: not a streamed GCM file (its header is not "
                                 f"{MAGIC[:-1].decode()}); was it written by ENCRYPT with "
                                 "READ_FILE … CHUNK?")
        self.head, self.segment = head, int.from_bytes(head[len(MAGIC):], "big")
        if self.segment < 1:
            raise PxRuntimeError("aes256gcm: the stream header gives a segment size of 0")
        return buf[HEADER:]

    def _emit(self, buf: np.ndarray, count: int, last: bool) -> bytes:
        size, first = self.segment + TAG, self.index
        jobs = [(buf[k * size:(k + 1) * size], first + k, last and k == count - 1)
                for k in range(count)]
        self.index += count
        return b"".join(self.pool.run(self._open, jobs) if self.pool
                        else [self._open(*j) for j in jobs])

    def push(self, data) -> bytes:
        buf = np.concatenate([self.pending, np.frombuffer(data, np.uint8)])
        if self.head is None:
            if len(buf) < HEADER:
                self.pending = buf
                return b""
            buf = self._read_header(buf)
        count = max(0, (len(buf) - 1) // (self.segment + TAG))
        self.pending = buf[count * (self.segment + TAG):].copy()
        return self._emit(buf, count, False) if count else b""

    def close(self) -> bytes:
        if self.head is None:
            raise PxRuntimeError(f"aes256gcm: the input has {len(self.pending)} bytes, "
                                 f"fewer than the {HEADER}-byte stream header")
        if not TAG <= len(self.pending) <= self.segment + TAG:
            raise PxRuntimeError("aes256gcm: the input ends inside a segment (cut short)")
        return self._emit(self.pending, 1, True)
