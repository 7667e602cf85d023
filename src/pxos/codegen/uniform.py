"""A kernel's launch parameters as one uniform buffer of 4-byte words, for targets whose
kernel functions take no arguments (WGSL: ``codegen/wgsl`` declares and reads the buffer,
``backends/webgpu`` writes it), and the 4-byte words their storage buffers hold.

The words, in order: ``pxos_nx``, ``pxos_ny``, ``pxos_nz`` (``i32``: threads per axis, as
``codegen/signature.launch_counts``), ``pxos_nc`` (``u32`` 0, a zero the shader compiler
cannot see as one), then per parameter: an array's extents ``d0_a, …`` (``i32``); a 64-bit
scalar as ``v_a_lo``, ``v_a_hi`` (``u32``, the low and high halves); any other scalar as one
word of its type (``bool`` and 8- and 16-bit integers widened to 32 bits, :func:`word_dtype`).
The buffer's size is a multiple of 16 bytes (WebGPU's uniform buffer layout, §14.4).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from pxos.codegen.render import dim_name, var_name
from pxos.codegen.signature import launch_counts
from pxos.ir import nodes as ir
from pxos.ir.types import I32, U32, Array, Scalar

_WORD = {"b": np.uint32, "u": np.uint32, "i": np.int32, "f": np.float32}


def word_dtype(dtype) -> np.dtype:
    """The word holding one element of NumPy ``dtype``: ``dtype`` itself for 4- and 8-byte
    numbers, ``uint32``/``int32`` for booleans and 8- and 16-bit integers."""
    dtype = np.dtype(dtype)
    return dtype if dtype.itemsize >= 4 else np.dtype(_WORD[dtype.kind])


def uniform_fields(kernel: ir.Kernel) -> list[tuple[str, Scalar]]:
    """The (name, type) of each word of ``kernel``'s uniform buffer, in order: ``I32`` or
    ``U32`` for the words above, a scalar parameter's own type for its word."""
    fields = [(f"pxos_n{a}", I32) for a in "xyz"] + [("pxos_nc", U32)]
    for p in kernel.params:
        v, t = var_name(p.name), p.type
        if isinstance(t, Array):
            fields += [(dim_name(p.name, a), I32) for a in range(t.ndim)]
        elif t.bits == 64:
            fields += [(f"{v}_lo", U32), (f"{v}_hi", U32)]
        else:
            fields.append((v, t))
    return fields


def uniform_bytes(kernel: ir.Kernel, args: Sequence[Any], threads) -> bytes:
    """The uniform buffer of a launch of ``kernel`` over ``threads`` (x first).

    Args:
        args: in parameter order: arrays (anything with ``shape``), NumPy scalars.
    """
    words = [np.int32(n) for n in launch_counts(threads)] + [np.uint32(0)]
    for p, a in zip(kernel.params, args):
        if isinstance(p.type, Array):
            words += [np.int32(n) for n in a.shape]
        else:  # a 64-bit scalar's bytes are its low, then its high word (little-endian)
            words.append(np.asarray(a).astype(word_dtype(p.type.dtype)))
    data = b"".join(w.tobytes() for w in words)
    return data + bytes(-len(data) % 16)
