"""AES-256-CTR, ChaCha20 and AES-256-GCM through OpenSSL's EVP interface, called with the
GIL released.

``cryptography`` (48) holds the GIL while it encrypts, so threads encrypting the parts of a
chunk run one after another. The same OpenSSL library that Python's ``hashlib`` links
(``libcrypto``, found by ``ctypes.util.find_library``) is called here through ``ctypes``,
which releases the GIL for the call, so one part per core runs at once. Only the
documented EVP calls are used (OpenSSL 1.1 and 3: ``EVP_CIPHER_CTX_new``,
``EVP_EncryptInit_ex``, ``EVP_EncryptUpdate``, ``EVP_CIPHER_CTX_free``,
``EVP_aes_256_ctr``, ``EVP_chacha20``; for GCM ``EVP_aes_256_gcm``, ``EVP_DecryptInit_ex``,
``EVP_DecryptUpdate``, ``EVP_EncryptFinal_ex``, ``EVP_DecryptFinal_ex`` and
``EVP_CIPHER_CTX_ctrl`` with ``EVP_CTRL_GCM_GET_TAG``/``EVP_CTRL_GCM_SET_TAG``, the sequence
of OpenSSL's "EVP Authenticated Encryption and Decryption" wiki page), with the IVs
``cryptography`` passes to them: the 16-byte counter block for CTR, for ChaCha20 the 32-bit
little-endian block counter followed by the 12-byte nonce, for GCM the 12-byte IV. Where
no ``libcrypto`` is found, :func:`available` is False and the callers use ``cryptography``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import cache

import numpy as np

_P = ctypes.c_void_p
_INT_P = ctypes.POINTER(ctypes.c_int)
GCM_GET_TAG, GCM_SET_TAG = 0x10, 0x11  # EVP_CTRL_GCM_GET_TAG, _SET_TAG (openssl/evp.h)
TAG = 16


def _declare(lib, name: str, argtypes: list) -> None:
    fn = getattr(lib, name)
    fn.argtypes, fn.restype = argtypes, ctypes.c_int


@cache
def _lib():
    """libcrypto with the argument types declared, or None."""
    name = ctypes.util.find_library("crypto")
    if name is None:
        return None
    try:
        lib = ctypes.CDLL(name)
        for fn in ("EVP_CIPHER_CTX_new", "EVP_aes_256_ctr", "EVP_chacha20",
                   "EVP_aes_256_gcm"):
            getattr(lib, fn).restype = _P
            getattr(lib, fn).argtypes = []
        for side in ("Encrypt", "Decrypt"):
            _declare(lib, f"EVP_{side}Init_ex", [_P, _P, _P, ctypes.c_char_p, ctypes.c_char_p])
            _declare(lib, f"EVP_{side}Update", [_P, _P, _INT_P, _P, ctypes.c_int])
            _declare(lib, f"EVP_{side}Final_ex", [_P, _P, _INT_P])
        _declare(lib, "EVP_CIPHER_CTX_ctrl", [_P, ctypes.c_int, ctypes.c_int, _P])
        lib.EVP_CIPHER_CTX_free.argtypes = [_P]
        lib.EVP_CIPHER_CTX_free.restype = None
        if hasattr(lib, "EVP_CIPHER_fetch"):  # OpenSSL 3
            lib.EVP_CIPHER_fetch.argtypes = [_P, ctypes.c_char_p, ctypes.c_char_p]
            lib.EVP_CIPHER_fetch.restype = _P
    except (OSError, AttributeError):  # not an OpenSSL we can use: cryptography serves
        return None
    return lib


_NAMES = {"aes256ctr": (b"AES-256-CTR", "EVP_aes_256_ctr"),
          "chacha20": (b"ChaCha20", "EVP_chacha20"),
          "aes256gcm": (b"AES-256-GCM", "EVP_aes_256_gcm")}


@cache
def cipher(name: str) -> int:
    """The address of the ``EVP_CIPHER`` of ``name`` (``aes256ctr``, ``chacha20``,
    ``aes256gcm``): fetched once on OpenSSL 3 (``EVP_CIPHER_fetch``, so an init does not
    fetch it again, as OpenSSL 3's crypto(7) advises under "Performance"), else the
    legacy ``EVP_aes_256_ctr()``-style object. Kept for the life of the process."""
    lib = _lib()
    algorithm, legacy = _NAMES[name]
    fetched = lib.EVP_CIPHER_fetch(None, algorithm, None) \
        if hasattr(lib, "EVP_CIPHER_fetch") else None
    return fetched or getattr(lib, legacy)()


def available() -> bool:
    """Whether OpenSSL's libcrypto can be called here."""
    return _lib() is not None


CALL_LIMIT = 1 << 30  # bytes per EVP_EncryptUpdate (its length is a C int)


def _update(update, ctx, src_at: int, dst_at: int, n: int) -> None:
    """``update`` (EVP_EncryptUpdate or EVP_DecryptUpdate) over ``n`` bytes, in calls of at
    most ``CALL_LIMIT`` bytes (the length is a C int)."""
    done, written = 0, ctypes.c_int(0)
    while done < n:
        step = min(CALL_LIMIT, n - done)
        if update(ctx, dst_at + done, ctypes.byref(written), src_at + done, step) != 1:
            raise RuntimeError(f"{update.__name__} failed")
        done += step


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
        _update(lib.EVP_EncryptUpdate, ctx, src.ctypes.data, dst.ctypes.data, len(src))
    finally:
        lib.EVP_CIPHER_CTX_free(ctx)


def _gcm_context(lib, key: bytes, iv: bytes, aad: bytes, decrypt: bool):
    """A GCM context keyed and fed the associated data (the caller frees it)."""
    ctx = lib.EVP_CIPHER_CTX_new()
    if not ctx:
        raise MemoryError("OpenSSL could not allocate a cipher context")
    side = "Decrypt" if decrypt else "Encrypt"
    written = ctypes.c_int(0)
    ok = (getattr(lib, f"EVP_{side}Init_ex")(ctx, lib.EVP_aes_256_gcm(), None, key, iv) == 1
          and (not aad or getattr(lib, f"EVP_{side}Update")(ctx, None, ctypes.byref(written),
                                                            aad, len(aad)) == 1))
    if not ok:
        lib.EVP_CIPHER_CTX_free(ctx)
        raise RuntimeError(f"EVP_{side}Init_ex failed for aes256gcm")
    return ctx


def gcm_seal(key: bytes, iv: bytes, aad: bytes, src: np.ndarray, dst: np.ndarray) -> None:
    """AES-256-GCM: ``dst[:len(src)]`` = the ciphertext of ``src``, ``dst[len(src):+16]`` =
    the tag (SP 800-38D) over ``aad`` and the ciphertext. ``key`` 32 bytes, ``iv`` 12;
    ``src`` and ``dst`` (``len(src) + 16`` bytes) contiguous u8 arrays.

    Raises:
        RuntimeError: OpenSSL refused a call (a bug of ours: the lengths are checked).
    """
    lib = _lib()
    ctx = _gcm_context(lib, key, iv, aad, False)
    n, written = len(src), ctypes.c_int(0)
    try:
        _update(lib.EVP_EncryptUpdate, ctx, src.ctypes.data, dst.ctypes.data, n)
        if (lib.EVP_EncryptFinal_ex(ctx, dst.ctypes.data + n, ctypes.byref(written)) != 1
                or lib.EVP_CIPHER_CTX_ctrl(ctx, GCM_GET_TAG, TAG, dst.ctypes.data + n) != 1):
            raise RuntimeError("EVP_EncryptFinal_ex failed for aes256gcm")
    finally:
        lib.EVP_CIPHER_CTX_free(ctx)


def gcm_open(key: bytes, iv: bytes, aad: bytes, src: np.ndarray, dst: np.ndarray) -> bool:
    """AES-256-GCM decryption of ``src`` (ciphertext ‖ 16-byte tag) into
    ``dst[:len(src) - 16]``; True when the tag matches. On a wrong tag ``dst`` is zeroed
    (no unauthenticated plaintext is left in it) and the result is False.

    Raises:
        RuntimeError: OpenSSL refused a call other than the tag check.
    """
    lib = _lib()
    n = len(src) - TAG
    ctx = _gcm_context(lib, key, iv, aad, True)
    written = ctypes.c_int(0)
    try:
        _update(lib.EVP_DecryptUpdate, ctx, src.ctypes.data, dst.ctypes.data, n)
        if lib.EVP_CIPHER_CTX_ctrl(ctx, GCM_SET_TAG, TAG, src.ctypes.data + n) != 1:
            raise RuntimeError("EVP_CTRL_GCM_SET_TAG failed for aes256gcm")
        ok = lib.EVP_DecryptFinal_ex(ctx, dst.ctypes.data + n, ctypes.byref(written)) == 1
    finally:
        lib.EVP_CIPHER_CTX_free(ctx)
    if not ok:
        dst[:n] = 0
    return ok
