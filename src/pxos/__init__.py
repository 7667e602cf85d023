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

# Imported on first use (module ``__getattr__``, PEP 562), so ``import pxos`` stays cheap:
# the types and markers (with NumPy) and the host layer (kernels, arrays, streams, backends)
# load when a program first touches them; ``pxos --help`` loads none of them.
_MARKERS = "pxos.lang.py.markers"
_LAZY = {
    "DType": _MARKERS, "Array": _MARKERS, "atomic_add": _MARKERS, "atomic_and": _MARKERS,
    "atomic_exch": _MARKERS, "atomic_max": _MARKERS, "atomic_min": _MARKERS,
    "atomic_or": _MARKERS, "atomic_xor": _MARKERS, "block_id": _MARKERS,
    "block_size": _MARKERS, "bool_": _MARKERS, "f16": _MARKERS, "f32": _MARKERS,
    "f64": _MARKERS, "fma": _MARKERS, "i8": _MARKERS, "i16": _MARKERS, "i32": _MARKERS,
    "i64": _MARKERS, "local_id": _MARKERS, "num_threads": _MARKERS, "parallel": _MARKERS,
    "rotl": _MARKERS, "rotr": _MARKERS, "rsqrt": _MARKERS, "select": _MARKERS,
    "shared": _MARKERS, "sync_threads": _MARKERS, "thread_id": _MARKERS, "u8": _MARKERS,
    "u16": _MARKERS, "u32": _MARKERS, "u64": _MARKERS,
    "Kernel": "pxos.host.pykernel", "kernel": "pxos.host.pykernel",
    "asarray": "pxos.host.arrays", "ndarray": "pxos.host.arrays",
    "Stream": "pxos.host.streams", "stream": "pxos.host.streams",
    "synchronize": "pxos.host.streams",
    "embed": "pxos.lib.inference", "infer": "pxos.lib.inference",
    "quantize": "pxos.lib.inference.quantize",
    "profile": "pxos.lib.profile", "stats": "pxos.lib.profile.stats",
}


# the libraries (``lib/``), each a module of pxos imported on first use: ``pxos.ternary``
LIBRARIES = ("ternary", "diversity", "crypto", "compress", "inference", "dask")


def __getattr__(name: str):
    """``pxos.kernel``, ``pxos.f32``, ``pxos.asarray``, ``pxos.ternary`` …: imported on
    first use."""
    import importlib

    if name in LIBRARIES:
        return importlib.import_module(f"pxos.{name}")  # sets the attribute itself
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'pxos' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY) | set(LIBRARIES))


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
    from pxos.lang.py.markers import DType

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
