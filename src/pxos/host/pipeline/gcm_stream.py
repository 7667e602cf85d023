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
random one). Segments are independent, so they are sealed and opened one run of segments
per core, each written straight into the output: by OpenSSL on C threads (``evp_threads``,
the GIL released once per chunk), else by OpenSSL's EVP through ``openssl_evp`` on the pool
(the GIL released per call), or by ``cryptography``'s ``AESGCM`` where no libcrypto is
found.

Streams use ``SEGMENT`` = 1 MiB whatever their chunk size, so the sealed bytes do not
depend on ``CHUNK`` and a 16 MiB chunk gives 16 segments to share between cores (Tink's
streaming AEAD templates use 1 MB segments too, ``AES256_GCM_HKDF_1MB``).
"""

from __future__ import annotations

import numpy as np

from pxos.errors import PxRuntimeError
from pxos.extras import require

MAGIC = b"PXGCMS1\0"
HEADER = len(MAGIC) + 4
TAG = 16
SEGMENT = 1 << 20  # plaintext bytes per segment of a stream (`READ_FILE … CHUNK`, --chunk)


def header(segment: int) -> bytes:
    """The 12-byte header for segments of ``segment`` plaintext bytes."""
    return MAGIC + segment.to_bytes(4, "big")


def _iv(nonce: bytes, i: int) -> bytes:
    return ((int.from_bytes(nonce, "big") + i) % 2 ** 96).to_bytes(12, "big")


def _aad(head: bytes, i: int, last: bool) -> bytes:
    return head + i.to_bytes(8, "big") + bytes([last])


def _cut(pending: np.ndarray, data, size: int) -> tuple[list[np.ndarray], np.ndarray]:
    """(the whole pieces of ``size`` bytes of ``pending ‖ data`` but the last, the rest):
    the last piece waits, as only the next push or ``close`` tells whether it is the
    stream's last. Pieces and the rest are views of ``data`` where they can be (at most the
    first piece is put together): the caller copies the rest (:func:`_keep`), as ``data``
    may be reused by its owner."""
    data = data if isinstance(data, np.ndarray) else np.frombuffer(data, np.uint8)
    count = max(0, (len(pending) + len(data) - 1) // size)
    if not count:
        return [], np.concatenate([pending, data])
    pos = size - len(pending) if len(pending) else 0
    pieces = [np.concatenate([pending, data[:pos]]) if pos else pending] if len(pending) else []
    while len(pieces) < count:
        pieces.append(data[pos:pos + size])
        pos += size
    return pieces, data[pos:]


def _keep(rest: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(``rest``, a fresh array of its length): the copy that becomes the pending bytes,
    made by ``evp_threads`` beside the segments, else by :func:`_emit`'s caller."""
    return rest, np.empty(len(rest), np.uint8)


def _jobs(pieces: list[np.ndarray], out: np.ndarray, at: int, first: int, last: bool,
          grow: int) -> list[tuple]:
    """(source, destination, index, last) for each piece; piece ``k``'s output (its length
    + ``grow``) follows the one before in ``out`` from ``at``."""
    jobs = []
    for k, piece in enumerate(pieces):
        size = len(piece) + grow
        jobs.append((piece, out[at:at + size], first + k, last and k == len(pieces) - 1))
        at += size
    return jobs


def _run(pool, fn, jobs: list[tuple]) -> None:
    """``fn(*job)`` for every job: on ``pool`` as one run of consecutive jobs per worker
    (one hand-over per worker, not per segment: the hand-overs hold the GIL)."""
    workers = getattr(pool, "workers", 1)
    if pool is None or workers < 2 or len(jobs) < 2:
        for job in jobs:
            fn(*job)
        return
    step = -(-len(jobs) // workers)
    pool.run(_each, [(fn, jobs[lo:lo + step]) for lo in range(0, len(jobs), step)])


def _on_threads(open_: bool, key: bytes, nonce: bytes, head: bytes, jobs: list[tuple],
                last: bool, pool, keep: tuple | None) -> int | None:
    """The jobs on ``evp_threads``' C threads (the segments shared out from a counter, the
    GIL released once; ``keep`` copied meanwhile): -1, or the position of a job whose tag
    did not match; None where the helper cannot serve (the caller runs the jobs and the
    copy itself)."""
    from pxos.host.pipeline import evp_threads

    if not jobs or evp_threads.helper() is None:
        return None
    for lo in range(0, len(jobs), evp_threads.MAX_SEGMENTS):  # small segments: in batches
        batch = jobs[lo:lo + evp_threads.MAX_SEGMENTS]
        end = lo + len(batch) == len(jobs)
        bad = evp_threads.gcm_segments(open_, key, nonce, head, batch[0][2], last and end,
                                       [j[0] for j in batch], [j[1] for j in batch],
                                       getattr(pool, "workers", 1), keep if end else None)
        if bad >= 0:
            return lo + bad
    return -1


def _each(fn, jobs: list[tuple]) -> None:
    for job in jobs:
        fn(*job)


def _aead(key: bytes):
    """``cryptography``'s AESGCM where OpenSSL cannot be called directly, else None."""
    from pxos.host.pipeline import openssl_evp

    if openssl_evp.available():
        return None
    aead = require("cryptography.hazmat.primitives.ciphers.aead", "pipelines",
                   "aes256gcm on the host without OpenSSL's libcrypto")
    return aead.AESGCM(key)


def _push_segments(stream, data, size: int) -> np.ndarray:
    """The output of ``stream`` (a seal or open filter) for the whole ``size``-byte
    segments of its pending bytes and ``data``, through its ``_emit``; the bytes after them
    wait in ``stream.pending`` (kept where ``_keep`` puts them) for the next push."""
    pieces, rest = _cut(stream.pending, data, size)
    keep = _keep(rest)
    stream.pending = keep[1]
    if not pieces:
        stream.pending[:] = rest
        return np.zeros(0, np.uint8)
    return stream._emit(pieces, False, keep)


class GcmSealFilter:
    """Encrypts a stream into the framing above (``push``/``close`` as every filter; they
    return u8 arrays).

    Args:
        key: 32 bytes; nonce: 12 bytes (checked by the caller).
        segment: S, plaintext bytes per segment (1 to 2^31).
        pool: a ``cores.CorePool`` for sealing segments side by side, or None.
    """

    def __init__(self, key: bytes, nonce: bytes, segment: int, pool=None):
        self.key, self.nonce, self.segment, self.pool = key, nonce, segment, pool
        self.aead = _aead(key)
        self.head, self.index, self.started = header(segment), 0, False
        self.pending = np.zeros(0, np.uint8)

    def _seal(self, src: np.ndarray, dst: np.ndarray, i: int, last: bool) -> None:
        iv, aad = _iv(self.nonce, i), _aad(self.head, i, last)
        if self.aead is None:
            from pxos.host.pipeline import openssl_evp

            openssl_evp.gcm_seal(self.key, iv, aad, src, dst)
        else:
            dst[:] = np.frombuffer(self.aead.encrypt(iv, src.tobytes(), aad), np.uint8)

    def _emit(self, pieces: list[np.ndarray], last: bool, keep=None) -> np.ndarray:
        at = 0 if self.started else HEADER
        out = np.empty(at + sum(len(p) + TAG for p in pieces), np.uint8)
        out[:at] = np.frombuffer(self.head[:at], np.uint8)
        self.started = True
        jobs = _jobs(pieces, out, at, self.index, last, TAG)
        self.index += len(pieces)
        if _on_threads(False, self.key, self.nonce, self.head, jobs, last, self.pool,
                       keep) is None:
            _run(self.pool, self._seal, jobs)
            if keep is not None:
                keep[1][:] = keep[0]
        return out

    def push(self, data) -> np.ndarray:
        return _push_segments(self, data, self.segment)

    def close(self) -> np.ndarray:
        out = self._emit([self.pending], True)
        self.pending = np.zeros(0, np.uint8)
        return out


class GcmOpenFilter:
    """Decrypts the framing above; every tag is checked before its plaintext is given.

    Raises (from ``push``/``close``): PxRuntimeError for a header that is not this
    framing, a wrong tag (wrong key or nonce, or a segment changed, moved, dropped or cut
    short), or an input that ends inside a segment.
    """

    def __init__(self, key: bytes, nonce: bytes, pool=None):
        self.key, self.nonce, self.pool, self.aead = key, nonce, pool, _aead(key)
        self.head, self.segment, self.index = None, 0, 0
        self.pending = np.zeros(0, np.uint8)

    def _open(self, src: np.ndarray, dst: np.ndarray, i: int, last: bool) -> None:
        iv, aad = _iv(self.nonce, i), _aad(self.head, i, last)
        if self.aead is None:
            from pxos.host.pipeline import openssl_evp

            if openssl_evp.gcm_open(self.key, iv, aad, src, dst):
                return
        else:
            from cryptography.exceptions import InvalidTag

            try:
                dst[:] = np.frombuffer(self.aead.decrypt(iv, src.tobytes(), aad), np.uint8)
                return
            except InvalidTag:
                pass
        raise self._tag_error(i)

    @staticmethod
    def _tag_error(i: int) -> PxRuntimeError:
        return PxRuntimeError(f"aes256gcm: authentication tag of segment {i} does not "
                              "match (wrong key or nonce, or the data were changed, "
                              "reordered or cut short)")

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

    def _emit(self, pieces: list[np.ndarray], last: bool, keep=None) -> np.ndarray:
        out = np.empty(sum(len(p) - TAG for p in pieces), np.uint8)
        jobs = _jobs(pieces, out, 0, self.index, last, -TAG)
        self.index += len(pieces)
        bad = _on_threads(True, self.key, self.nonce, self.head, jobs, last, self.pool, keep)
        if bad is None:
            if keep is not None:
                keep[1][:] = keep[0]
            _run(self.pool, self._open, jobs)
        elif bad >= 0:
            out[:] = 0  # no unauthenticated plaintext is left behind
            raise self._tag_error(jobs[bad][2])
        return out

    def push(self, data) -> np.ndarray:
        if self.head is None:
            buf = np.concatenate([self.pending, np.frombuffer(data, np.uint8)])
            if len(buf) < HEADER:
                self.pending = buf
                return np.zeros(0, np.uint8)
            self.pending, data = np.zeros(0, np.uint8), self._read_header(buf)
        return _push_segments(self, data, self.segment + TAG)

    def close(self) -> np.ndarray:
        if self.head is None:
            raise PxRuntimeError(f"aes256gcm: the input has {len(self.pending)} bytes, "
                                 f"fewer than the {HEADER}-byte stream header")
        if not TAG <= len(self.pending) <= self.segment + TAG:
            raise PxRuntimeError("aes256gcm: the input ends inside a segment (cut short)")
        return self._emit([self.pending], True)
