"""Inputs that already live on an NVIDIA GPU: detecting them, handing them to PyTorch
without a copy, and giving outputs back as CuPy arrays.

An input is on the GPU when it exports DLPack with a CUDA device (``__dlpack_device__``
returns kDLCUDA = 2 or kDLCUDAManaged = 13, as CuPy arrays and torch CUDA tensors do; the
DLPack standard, ``dlpack.h``) or, failing that, has ``__cuda_array_interface__`` (Numba
device arrays, and others; Numba's CUDA Array Interface, version 3). Such inputs go to
PyTorch through ``torch.from_dlpack`` / ``torch.as_tensor`` (zero-copy: the tensor views
the same device memory), and outputs come back through ``cupy.from_dlpack`` (zero-copy).
Both protocols carry the producer's stream, so no explicit synchronisation is needed.
"""

from __future__ import annotations

import numpy as np

from pxos.errors import PxArgumentError, PxShapeError, PxTypeError

_CUDA_DEVICES = (2, 13)   # kDLCUDA, kDLCUDAManaged (dlpack.h DLDeviceType)
CUPY_HINT = "pip install cupy-cuda12x (GPU inputs give CuPy outputs)"


def is_on_gpu(x) -> bool:
    """Whether array ``x`` lives in NVIDIA GPU memory (DLPack device or CUDA array
    interface); False for NumPy arrays, lists and host tensors."""
    if isinstance(x, np.ndarray):
        return False
    dev = getattr(x, "__dlpack_device__", None)
    if dev is not None:
        return int(dev()[0]) in _CUDA_DEVICES
    return hasattr(x, "__cuda_array_interface__")


def any_on_gpu(inputs) -> bool:
    """Whether any of ``inputs`` (one array, a list/tuple, or a dict name → array) is on
    the GPU."""
    if isinstance(inputs, dict):
        return any(is_on_gpu(v) for v in inputs.values())
    if isinstance(inputs, (list, tuple)):
        return any(is_on_gpu(v) for v in inputs)
    return is_on_gpu(inputs)


def to_torch(x, device: str):
    """``x`` as a torch tensor on ``device``: a GPU array is viewed without a copy (moved
    only if it sits on another device); a host array is copied to the device once."""
    import torch
    if is_on_gpu(x):
        t = torch.from_dlpack(x) if hasattr(x, "__dlpack__") else torch.as_tensor(x)
    else:
        t = torch.from_numpy(np.ascontiguousarray(x))
    return t.to(device, non_blocking=True)


_TORCH_KINDS = {"int": "iu", "float": "f", "bool": "b"}


def check_tensors(spec: dict, feeds: dict, device: str) -> dict:
    """Feeds as torch tensors on ``device`` in the dtypes of ``spec`` (name → (rank,
    NumPy dtype)), cast on the device where the kind matches (int32 ids → int64).
    Raises PxArgumentError (names), PxShapeError (rank), PxTypeError (kind)."""
    import torch
    if feeds.keys() != spec.keys():
        raise PxArgumentError(f"model inputs are {sorted(spec)}, got {sorted(feeds)}")
    out = {}
    for name, x in feeds.items():
        rank, dtype = spec[name]
        t = to_torch(x, device)
        if rank is not None and t.dim() != rank:
            raise PxShapeError(f"input {name!r} must have rank {rank}, got shape "
                               f"{tuple(t.shape)}")
        want = getattr(torch, np.dtype(dtype).name)          # int64 → torch.int64 …
        if t.dtype != want:
            kind = ("float" if t.is_floating_point() else "bool" if t.dtype == torch.bool
                    else "complex" if t.is_complex() else "int")
            if np.dtype(dtype).kind not in _TORCH_KINDS.get(kind, ""):
                raise PxTypeError(f"input {name!r} must be {np.dtype(dtype).name}, "
                                  f"got {str(t.dtype).removeprefix('torch.')}")
            t = t.to(want)
        out[name] = t.contiguous()
    return out


def to_host(x) -> np.ndarray:
    """A GPU array copied to a NumPy array (for runtimes without a CUDA path)."""
    if not is_on_gpu(x):
        return x
    return to_torch(x, "cuda").cpu().numpy()


def cupy_module():
    """The ``cupy`` module; raises PxArgumentError (with the pip line) if it is missing."""
    try:
        import cupy
    except ImportError:
        raise PxArgumentError("the inputs are on the GPU, so the outputs are CuPy arrays, "
                              "and CuPy is not installed", hint=CUPY_HINT) from None
    return cupy


def to_cupy(x):
    """A torch CUDA tensor or NumPy array as a CuPy array (zero-copy for the tensor).
    Raises PxArgumentError if CuPy is not installed."""
    cupy = cupy_module()
    if isinstance(x, np.ndarray):
        return cupy.asarray(x)
    return cupy.from_dlpack(x.contiguous())

__all__ = ["CUPY_HINT", "any_on_gpu", "check_tensors", "cupy_module", "is_on_gpu", "to_cupy", "to_host",
           "to_torch"]
