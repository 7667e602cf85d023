"""pxos: write a data-parallel kernel once, run it on the CPU or a GPU.

From Python::

    import numpy as np
    import pxos

    @pxos.kernel
    def saxpy(a: pxos.f32, x: pxos.Array[pxos.f32, 1], y: pxos.Array[pxos.f32, 1],
              out: pxos.Array[pxos.f32, 1]):
        for i in pxos.parallel(len(x)):
            out[i] = a * x[i] + y[i]

    x = np.ones(1000, np.float32)
    out = np.empty_like(x)
    saxpy(2.0, x, x, out)            # on the CPU; CuPy arrays or CUDA tensors: on the GPU

``docs/tutorial.md`` walks through it; ``.px`` programs run with the ``pxos`` command.
"""

from pxos.errors import PxError
from pxos.host.arrays import asarray, ndarray
from pxos.host.pykernel import Kernel, kernel
from pxos.host.streams import Stream, stream, synchronize
from pxos.lang.py.markers import (
    DType,
    Array, atomic_add, atomic_and, atomic_exch, atomic_max, atomic_min, atomic_or, atomic_xor,
    block_id, block_size, bool_, f16, f32, f64, fma, i8, i16, i32, i64, local_id, num_threads,
    parallel, rotl, rotr, rsqrt, select, shared, sync_threads, thread_id, u8, u16, u32, u64,
)


def random(shape, dtype, seed: int, low=None, high=None):
    """A new NumPy array filled as the `.px` statement ``RANDOM name SEED seed [RANGE low
    high]`` fills it (counter-based SplitMix64, ``host/rng``): the same values on every
    machine, so a Python program and its `.px` twin get the same inputs.

    Args:
        shape: an int or a tuple; dtype: a NumPy dtype or pxos type.
        low, high: the range (floats ``[low, high)``; integers ``low <= v < high``);
            default as in the language (docs/language.md).

    Raises:
        PxRuntimeError: ``high <= low``, or a range outside the element type.
    """
    import numpy as np

    from pxos.host.rng import random_fill

    out = np.empty(shape, dtype.dtype if isinstance(dtype, DType) else np.dtype(dtype))
    random_fill(out, seed, low, high)
    return out


def transfers():
    """Copies between host and devices made for Python callers so far in this process
    (``to_device``, ``to_host``, ``bytes_to_device``, ``bytes_to_host``)."""
    from pxos.host.arrays import TRANSFERS

    return TRANSFERS.copy()


__all__ = [
    "Array", "DType", "Kernel", "PxError", "Stream", "asarray", "atomic_add", "atomic_and",
    "atomic_exch", "atomic_max", "atomic_min", "atomic_or", "atomic_xor", "block_id",
    "block_size", "bool_", "f16", "f32", "f64", "fma", "i8", "i16", "i32", "i64", "kernel",
    "local_id", "ndarray", "num_threads", "parallel", "random", "rotl", "rotr", "rsqrt",
    "select",
    "shared", "stream", "sync_threads", "synchronize", "thread_id", "transfers", "u8", "u16",
    "u32", "u64",
]
