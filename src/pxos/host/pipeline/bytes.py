"""Checking and viewing the byte arguments of the pipeline primitives."""

from __future__ import annotations

import numpy as np

from pxos.errors import PxArgumentError


def as_bytes_array(data, what: str):
    """``data`` (``bytes``, ``bytearray``, ``memoryview`` or a 1-D u8 NumPy/CuPy array) as a
    1-D u8 array, without a copy where possible.

    Raises:
        PxArgumentError: anything else (names ``what`` and what it got).
    """
    if isinstance(data, (bytes, bytearray, memoryview)):
        return np.frombuffer(data, np.uint8)
    dtype, ndim = getattr(data, "dtype", None), getattr(data, "ndim", None)
    if dtype != np.uint8 or ndim != 1:
        got = f"{dtype} array of {ndim} dimensions" if dtype is not None else type(data).__name__
        raise PxArgumentError(f"{what} must be bytes or a 1-D u8 array; got {got}")
    return data


def as_rows(data2d):
    """A 2-D u8 array (NumPy or CuPy), checked.

    Raises:
        PxArgumentError: not a 2-D u8 array.
    """
    if getattr(data2d, "dtype", None) != np.uint8 or getattr(data2d, "ndim", None) != 2:
        raise PxArgumentError("sha256_rows needs a 2-D u8 array (one message per row); got "
                              f"{getattr(data2d, 'dtype', type(data2d).__name__)} of "
                              f"{getattr(data2d, 'ndim', '?')} dimensions")
    return data2d


def check_length(arr, expected: int, what: str, cipher: str) -> None:
    """Raises PxArgumentError unless ``len(arr) == expected`` (bytes)."""
    if len(arr) != expected:
        raise PxArgumentError(f"{cipher} needs a {expected}-byte {what}; got {len(arr)} bytes")


def to_host(arr) -> np.ndarray:
    """A NumPy array as it is; a CuPy array copied to the host (for the CPU libraries)."""
    return arr if isinstance(arr, np.ndarray) else arr.get()
