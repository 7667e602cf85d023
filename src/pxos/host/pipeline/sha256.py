"""SHA-256 of one message or of each row of a 2-D array: ``hashlib`` on the host, the
``sha256_kernel`` (one thread per message) on a pxos backend."""

from __future__ import annotations

import hashlib

import numpy as np

from pxos.host.pipeline.bytes import as_bytes_array, as_rows, to_host
from pxos.host.pipeline.sha256_kernel import sha256_padded_rows

# FIPS 180-4, section 4.2.2 and 5.3.3: the first 32 bits of the fractional parts of the cube
# roots of the first 64 primes, and of the square roots of the first 8 primes.
_PRIMES = [p for p in range(2, 312) if all(p % q for q in range(2, int(p ** 0.5) + 1))][:64]


def _frac_bits(x: float, root: int) -> int:
    """The first 32 bits of the fractional part of ``x ** (1/root)``, exactly (integer root)."""
    scaled = x << (32 * root)
    r = int(round(scaled ** (1.0 / root)))
    while r ** root > scaled:
        r -= 1
    while (r + 1) ** root <= scaled:
        r += 1
    return r & 0xFFFFFFFF


ROUND_CONSTANTS = np.array([_frac_bits(p, 3) for p in _PRIMES], np.uint32)
INITIAL = np.array([_frac_bits(p, 2) for p in _PRIMES[:8]], np.uint32)


def pad_rows(rows: np.ndarray) -> np.ndarray:
    """Each row of an ``N × L`` u8 array padded as FIPS 180-4 5.1.1 says: ``N × P`` u8 with
    ``P`` the next multiple of 64 above ``L + 8``."""
    n, length = rows.shape
    width = (length + 9 + 63) // 64 * 64
    xp = np if isinstance(rows, np.ndarray) else __import__("cupy")
    padded = xp.zeros((n, width), xp.uint8)
    padded[:, :length] = rows
    padded[:, length] = 0x80
    padded[:, width - 8:] = xp.asarray(np.frombuffer((length * 8).to_bytes(8, "big"), np.uint8))
    return padded


def sha256_rows(data2d, *, device: str = "host") -> np.ndarray:
    """SHA-256 of each row of a 2-D u8 array (each row one message of the same length).

    Returns:
        ``N × 32`` u8 digests (a NumPy array; a CuPy array when the input is one on cuda).
    Raises:
        PxArgumentError: not a 2-D u8 array.
    """
    rows = as_rows(data2d)
    if device == "host":
        host = np.ascontiguousarray(to_host(rows))
        return np.array([np.frombuffer(hashlib.sha256(r.tobytes()).digest(), np.uint8)
                         for r in host], np.uint8).reshape(len(host), 32)
    return sha256_rows_kernel(rows, device)


def sha256_rows_kernel(rows, device: str, padded=None, digests=None):
    """The kernel path: pad (unless ``padded`` words are given), hash, byte-order the digests.
    ``digests`` (``N × 8`` u32) may be passed to reuse an output buffer."""
    xp = np if isinstance(rows, np.ndarray) else __import__("cupy")
    if padded is None:
        padded = pad_rows(rows).view(xp.uint32)
    if digests is None:
        digests = xp.zeros((padded.shape[0], 8), xp.uint32)
    if padded.shape[0]:
        sha256_padded_rows(padded, digests, xp.asarray(ROUND_CONSTANTS), xp.asarray(INITIAL),
                           device=device, threads=(padded.shape[0],))
    swapped = ((digests >> 24) | ((digests >> 8) & 0xFF00) | ((digests << 8) & 0xFF0000)
               | (digests << 24)).astype(xp.uint32)  # big-endian bytes (CuPy has no ">u4")
    return swapped.view(xp.uint8).reshape(-1, 32)


def sha256(data, *, device: str = "host") -> np.ndarray:
    """SHA-256 of a byte string or 1-D u8 array: 32 u8 (``hashlib`` on ``host``)."""
    arr = as_bytes_array(data, "data")
    if device == "host":
        return np.frombuffer(hashlib.sha256(np.ascontiguousarray(to_host(arr)).tobytes()).digest(),
                             np.uint8).copy()
    return sha256_rows_kernel(arr.reshape(1, -1), device)[0]
