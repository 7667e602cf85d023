"""AES-256-CTR and ChaCha20 through OpenSSL's EVP interface, called with the GIL released.

``cryptography`` (48) holds the GIL while it encrypts, so threads encrypting the parts of a
chunk run one after another. The same OpenSSL library that Python's ``hashlib`` links
(``libcrypto``, found by ``ctypes.util.find_library``) is called here through ``ctypes``,
which releases the GIL for the call, so one part per core runs at once. Only the
documented EVP calls are used (OpenSSL 1.1 and 3: ``EVP_CIPHER_CTX_new``,
``EVP_EncryptInit_ex``, ``EVP_EncryptUpdate``, ``EVP_CIPHER_CTX_free``,
``EVP_aes_256_ctr``, ``EVP_chacha20``), with the IVs ``cryptography`` passes to them: the
16-byte counter block for CTR, and for ChaCha20 the 32-bit little-endian block counter
followed by the 12-byte nonce. Where no ``libcrypto`` is found, :func:`available` is False
and the callers use ``cryptography``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import cache

import numpy as np

_P = ctypes.c_void_p


@cache
def _lib():
    """libcrypto with the argument types declared, or None."""
    name = ctypes.util.find_library("crypto")
    if name is None:
        return None
    try:
        lib = ctypes.CDLL(name)
        for fn in ("EVP_CIPHER_CTX_new", "EVP_aes_256_ctr", "EVP_chacha20"):
            getattr(lib, fn).restype = _P
            getattr(lib, fn).argtypes = []
        lib.EVP_EncryptInit_ex.argtypes = [_P, _P, _P, ctypes.c_char_p, ctypes.c_char_p]
        lib.EVP_EncryptInit_ex.restype = ctypes.c_int
        lib.EVP_EncryptUpdate.argtypes = [_P, _P, ctypes.POINTER(ctypes.c_int), _P,
                                          ctypes.c_int]
        lib.EVP_EncryptUpdate.restype = ctypes.c_int
        lib.EVP_CIPHER_CTX_free.argtypes = [_P]
        lib.EVP_CIPHER_CTX_free.restype = None
    except (OSError, AttributeError):  # not an OpenSSL we can use: cryptography serves
        return None
    return lib


def available() -> bool:
    """Whether OpenSSL's libcrypto can be called here."""
    return _lib() is not None


CALL_LIMIT = 1 << 30  # bytes per EVP_EncryptUpdate (its length is a C int)


def xor_keystream(cipher: str, key: bytes, iv: bytes, src: np.ndarray, dst: np.ndarray) -> None:
    """``dst[:len(src)] = src XOR keystream`` of ``aes256ctr`` (``iv``: the 16-byte counter
    block) or ``chacha20`` (``iv``: 4-byte little-endian block counter ‖ 12-byte nonce);
    ``src`` and ``dst`` are contiguous u8 arrays, ``key`` 32 bytes.

    Raises:
        RuntimeError: OpenSSL refused the call (a bug of ours: the lengths are checked).
    """
    lib = _lib()
    ctx = lib.EVP_CIPHER_CTX_new()
    if not ctx:
        raise MemoryError("OpenSSL could not allocate a cipher context")
    try:
        kind = lib.EVP_aes_256_ctr() if cipher == "aes256ctr" else lib.EVP_chacha20()
        if lib.EVP_EncryptInit_ex(ctx, kind, None, key, iv) != 1:
            raise RuntimeError(f"EVP_EncryptInit_ex failed for {cipher}")
        done, written = 0, ctypes.c_int(0)
        src_at, dst_at = src.ctypes.data, dst.ctypes.data
        while done < len(src):
            n = min(CALL_LIMIT, len(src) - done)
            if lib.EVP_EncryptUpdate(ctx, dst_at + done, ctypes.byref(written), src_at + done,
                                     n) != 1:
                raise RuntimeError(f"EVP_EncryptUpdate failed for {cipher}")
            done += n
    finally:
        lib.EVP_CIPHER_CTX_free(ctx)
