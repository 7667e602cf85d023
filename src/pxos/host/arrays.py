"""Arrays for Python callers: :class:`ndarray` (``pxos.asarray``) and the arrays of other
libraries (NumPy, CuPy, PyTorch) as kernel arguments.

A :class:`ndarray` keeps its contents where they were last written, like a program's arrays
(``host/residency.Copies``): ``.to("cuda")`` makes the device copy current, a kernel on the
CPU finds it on the host, ``.numpy()`` brings it back. Every copy between host and device is
counted in :data:`TRANSFERS` (``pxos.transfers()``).

Arrays of other libraries are used in place when they already live where the kernel runs:
a NumPy array or a CPU PyTorch tensor on a CPU backend, a CuPy array or a CUDA PyTorch
tensor on ``cuda`` (wrapped by ``cupy.asarray`` through ``__cuda_array_interface__``: the
same memory, no copy). Otherwise the array is copied to the kernel's device and the result
copied back into it, and both copies are counted.
"""

from __future__ import annotations

import numpy as np

from pxos import backends, registry
from pxos.arraylike import DEVICE_LIBRARIES, library_of
from pxos.backends.base import HOST
from pxos.errors import PxArgumentError
from pxos.host.residency import Copies, Transfers

TRANSFERS = Transfers()  # copies made for Python callers, in this process


class ndarray:  # noqa: N801  (named like numpy.ndarray and cupy.ndarray)
    """An array whose current contents live on the host, a device, or both.

    Args:
        host: a C-contiguous NumPy array of a pxos element type (shared, not copied).

    Attributes:
        shape, dtype, ndim, size, nbytes: as NumPy's.
    """

    __array_priority__ = 100

    def __init__(self, host: np.ndarray, zeros: bool = False):
        self._copies = Copies(host, backends.get, TRANSFERS, zeros)
        self.shape, self.dtype = host.shape, host.dtype
        self.ndim, self.size, self.nbytes = host.ndim, host.size, host.nbytes

    @property
    def device(self) -> str:
        """Where the current contents are: a device memory (``cuda``, ``opencl``) if one
        holds them, else ``host``."""
        where = self._copies.where()
        return next((m for m in sorted(where) if m != HOST), HOST)

    def to(self, device: str) -> "ndarray":
        """Make the contents current on ``device`` (``host``, ``cpu``, or a backend name:
        ``c``/``interp`` mean the host), copying only if needed; returns ``self``.

        Raises:
            PxBackendError: ``device`` cannot run here.
        """
        memory = memory_of(device)
        if memory == HOST:
            self._copies.on_host()
        else:
            self._copies.on_device(memory)
        return self

    def numpy(self) -> np.ndarray:
        """The contents as a NumPy array on the host (the host copy itself, not a copy of
        it; it is copied back from a device first if needed)."""
        return self._copies.on_host()

    def __array__(self, dtype=None, copy=None):
        host = self.numpy()
        return host if dtype is None else host.astype(dtype)

    @property
    def __cuda_array_interface__(self) -> dict:
        """The CUDA copy's interface (made current first): CuPy, PyTorch and Numba share
        its memory without a copy."""
        return self.on("cuda").__cuda_array_interface__

    def __dlpack__(self, **kwargs):
        """A DLPack capsule of the copy where the contents are (the device copy if one is
        current), sharing its memory."""
        where = self.device
        return (self.numpy() if where == HOST else self.on(where)).__dlpack__(**kwargs)

    def __dlpack_device__(self):
        where = self.device
        return (self.numpy() if where == HOST else self.on(where)).__dlpack_device__()

    def on(self, memory: str):
        """The array in ``memory`` (a CuPy array for ``cuda``) with current contents."""
        return self._copies.on_host() if memory == HOST else self._copies.on_device(memory)

    def written(self, memory: str) -> None:
        """The copy in ``memory`` was changed in place (by a kernel, or through
        :meth:`on`)."""
        self._copies.written(memory)

    def __len__(self) -> int:
        return self.shape[0]

    def __repr__(self) -> str:
        return (f"pxos.ndarray(shape={self.shape}, dtype={self.dtype}, "
                f"device={self.device!r})")


def asarray(obj, device: str | None = None, dtype=None) -> ndarray:
    """A :class:`ndarray` of ``obj`` (a NumPy array or anything ``numpy.asarray`` takes, a
    CuPy array, a PyTorch tensor, or a :class:`ndarray`, returned as is).

    Args:
        obj: the data, shared where it already is when possible: a C-contiguous NumPy
            array's memory becomes the host copy, a CUDA array's (CuPy, PyTorch) the
            ``cuda`` copy; otherwise it is copied (copies between host and device counted).
        device: where to make the contents current (``host``, ``cuda``, ``opencl``);
            default: where they are.
        dtype: a NumPy dtype (or pxos type) to convert to.

    Raises:
        PxArgumentError: a dtype pxos has no type for (complex, object, …).
    """
    if isinstance(obj, ndarray) and dtype is None:
        return obj.to(device) if device else obj
    kind = library_of(obj)
    memory = registry.memory_of_library(kind)  # a CUDA array's: cuda
    if kind in DEVICE_LIBRARIES and dtype is None and device in (None, memory):
        import cupy  # a CUDA array is shared, as numpy.asarray shares a host array

        shared = cupy.asarray(obj)
        check_dtype(shared.dtype)
        if not shared.flags.c_contiguous:
            shared = cupy.ascontiguousarray(shared)  # a copy on the device
        out = ndarray(np.empty(shared.shape, shared.dtype))
        out._copies.adopt(memory, shared)
        return out
    if kind in DEVICE_LIBRARIES:
        host = download(obj)
    elif kind == "torch-cpu":
        host = obj.detach().numpy()
    else:
        host = np.asarray(obj)
    if dtype is not None:  # a pxos type (its .dtype), or anything numpy.dtype takes
        wanted = dtype.dtype if isinstance(getattr(dtype, "dtype", None), np.dtype) else dtype
        try:
            host = host.astype(np.dtype(wanted), copy=False)
        except TypeError:
            raise PxArgumentError(f"dtype={dtype!r} is not a data type") from None
    check_dtype(host.dtype)
    out = ndarray(np.ascontiguousarray(host))
    return out.to(device) if device else out


def memory_of(device: str) -> str:
    """The memory a device name means: ``host`` for ``host``, ``cpu``, ``c``, ``interp``;
    else the backend's own (``cuda``, ``opencl``)."""
    if device in (HOST, "cpu"):
        return HOST
    return backends.get(device).memory


def check_dtype(dtype: np.dtype) -> None:
    """Raises PxArgumentError for a dtype pxos has no type for."""
    from pxos.ir.types import scalar_of_dtype

    if scalar_of_dtype(dtype) is None:
        raise PxArgumentError(f"pxos has no element type for dtype {dtype}; use bool, "
                              "(u)int8…64, float16, float32 or float64")


def download(obj) -> np.ndarray:
    """A C-contiguous host copy of a CUDA array (CuPy, PyTorch, any object with
    ``__cuda_array_interface__``), counted in :data:`TRANSFERS`."""
    import cupy

    host = np.ascontiguousarray(cupy.asnumpy(cupy.asarray(obj)))
    TRANSFERS.down(host.nbytes)
    return host
