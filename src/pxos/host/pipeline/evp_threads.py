"""OpenSSL's ciphers on every core, in C threads (``evp_threads.c`` beside this file).

Why: the Python path (``openssl_evp`` called from a ``cores.CorePool``) releases the GIL
inside each OpenSSL call, but every part hands the GIL over at each of its ctypes calls
(about ten per GCM segment) and wakes through a future, so on two cores the hand-overs
serialise part of the work (measured: two-core wall-clock scaling 1.4-1.8,
``benchmarks/pipeline_cores.py``). The helper releases the GIL once per chunk and cuts it
into pieces (keystream: ``PIECE`` bytes; GCM: its segments) that the calling thread and the
workers of a persistent pool of POSIX threads (``core_threads.h``) take from a shared
counter until none is left: a worker that wakes late or loses its core for a while leaves
more pieces to the others instead of holding up the chunk. The pool's workers busy-wait up
to 100 µs (``core_threads.h``) after a call before they sleep, so back-to-back chunks start
without a wake-up (:func:`set_spin`). One worker runs the same code as many (the one-core
baseline of ``pipeline_cores.py`` is this path with one slot).

The helper is built like ``host/native_call``'s (the system C compiler, this Python's
headers, cached on disk) and calls the EVP functions of the libcrypto that
``openssl_evp`` loaded, by the addresses Python hands it (no OpenSSL header or link).
Where it cannot be built, with ``PXOS_NATIVE_CALL=0`` or ``PXOS_EVP_THREADS=0`` in the
environment (to compare the two paths), :func:`helper` is None and the callers use
``openssl_evp`` on the pool. The bytes are the same either way.
"""

from __future__ import annotations

import ctypes
import functools
from pathlib import Path

import numpy as np

from pxos.host.pipeline import openssl_evp

SOURCE = Path(__file__).with_name("evp_threads.c")
NAME = "pxos_evp_threads"
MIN_PART = 1 << 20  # bytes: a smaller chunk is not split (as filters.MIN_PART)
MAX_SEGMENTS = 65536  # GCM segments per call (evp_threads.c's MAX_SEGMENTS)
PIECE = 256 << 10  # bytes of keystream per piece taken from the counter (a multiple of 64)
_FUNCTIONS = ("EVP_CIPHER_CTX_new", "EVP_CIPHER_CTX_free", "EVP_EncryptInit_ex",
              "EVP_DecryptInit_ex", "EVP_EncryptUpdate", "EVP_DecryptUpdate",
              "EVP_EncryptFinal_ex", "EVP_DecryptFinal_ex", "EVP_CIPHER_CTX_ctrl")


def helper():
    """The built helper, bound to libcrypto, or None where it cannot serve here
    (``native_call.bound_extension``; ``PXOS_EVP_THREADS=0`` switches it off)."""
    from pxos.host.native_call import bound_extension

    return bound_extension(SOURCE, NAME, "PXOS_EVP_THREADS", _addresses)


def _addresses() -> list | None:
    if not openssl_evp.available():
        return None
    lib = openssl_evp._lib()
    return [ctypes.cast(getattr(lib, f), ctypes.c_void_p).value for f in _FUNCTIONS]


@functools.cache
def _cipher(name: str) -> int:
    """libcrypto's ``EVP_CIPHER *`` for ``name`` (aes256ctr, chacha20, aes256gcm)."""
    return openssl_evp.cipher(name)


def xor_keystream(cipher: str, key: bytes, iv: bytes, src: np.ndarray, dst: np.ndarray,
                  workers: int) -> None:
    """``dst[:len(src)] = src XOR`` the keystream of ``aes256ctr`` (``iv``: the 16-byte
    counter block of ``src[0]``) or ``chacha20`` (``iv``: the 4-byte little-endian block
    counter ‖ 12-byte nonce; the caller refuses a counter that would wrap), cut into at most
    ``workers`` parts of at least ``MIN_PART`` bytes that run at once. ``src`` and ``dst``:
    contiguous u8 arrays (``dst`` may be ``src``); ``key`` 32 bytes. Call only where
    :func:`helper` is not None.

    Raises:
        RuntimeError: OpenSSL refused a call (a bug of ours: the lengths are checked).
    """
    helper().keystream(_cipher(cipher), cipher == "chacha20", key, iv, src, dst,
                       MIN_PART, PIECE, max(1, workers))


def set_spin(ns: int) -> None:
    """How long (nanoseconds) the pool's threads busy-wait for the next call, and the
    caller for them, before they sleep; 0: never (each call then wakes its workers).
    Call only where :func:`helper` is not None."""
    helper().set_spin(int(ns))


def gcm_segments(open_: bool, key: bytes, nonce: bytes, head: bytes, first: int,
                 last: bool, srcs: list[np.ndarray], dsts: list[np.ndarray],
                 workers: int, keep: tuple[np.ndarray, np.ndarray] | None = None) -> int:
    """Seal (``open_`` False: ``dsts[k]`` = ciphertext ‖ tag of ``srcs[k]``) or open
    (``dsts[k]`` = plaintext of ``srcs[k]`` = ciphertext ‖ tag) the segments ``first``,
    ``first + 1``, … of ``gcm_stream``'s framing (IV = nonce + index, AAD = ``head`` ‖
    index ‖ last flag, set on the final segment when ``last``), the segments taken by at
    most ``workers`` threads from a shared counter; ``keep`` (source, destination of equal
    length), where given, is copied by one of them meanwhile (the filter's pending tail,
    off the calling thread). Returns -1, or on opening the lowest position in ``srcs`` of a
    segment whose tag did not match (the caller must then discard every ``dsts``). At most
    ``MAX_SEGMENTS`` segments per call.

    Raises:
        RuntimeError: OpenSSL refused a call other than a tag check.
        ValueError: a destination of the wrong length (a bug of ours).
    """
    keep_src, keep_dst = keep if keep is not None else (None, None)
    return helper().gcm(_cipher("aes256gcm"), open_, key, nonce, head, first,
                        last, srcs, dsts, keep_src, keep_dst, max(1, workers))
