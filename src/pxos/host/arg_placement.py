"""Where a Python-kernel argument goes for a launch (``host/pykernel``): a scalar is
converted to its parameter's type; an array is used in place where it already lives in the
launch's memory (NumPy or CPU PyTorch on the host, CuPy or CUDA PyTorch on a CUDA device,
a ``pxos.ndarray`` wherever it has a copy), else copied there and, if the kernel writes
it, copied back into the argument after the launch."""

from __future__ import annotations

from typing import Callable

import numpy as np

from pxos import backends, events, registry
from pxos.arraylike import DEVICE_LIBRARIES, library_of
from pxos.backends.base import HOST
from pxos.errors import PxArgumentError
from pxos.host.arrays import TRANSFERS, download
from pxos.host.pyargs import contiguous, scalar_converter
from pxos.ir import nodes as ir
from pxos.ir.types import Array


def placer(p: ir.Param, a, memory: str, writes: bool):
    """(put, finish) for parameter ``p`` given an argument like ``a`` on ``memory``."""
    if not isinstance(p.type, Array):
        return scalar_converter(p.type, p.name), None
    kind = library_of(a)
    check = contiguous(p.name, writes)
    if kind == "pxos":
        if memory == HOST:
            return (lambda x: x._copies.on_host()), (lambda x, _: x.written(HOST)) if writes else None
        return (lambda x: x._copies.on_device(memory)), (lambda x, _: x.written(memory)) if writes else None
    if memory == HOST and kind == "numpy":
        return check, None
    if kind == "other":  # an array of another library: through NumPy's view of it
        view = _numpy_view(p.name, writes)
        check = (lambda x, inner=check: inner(view(x)))
        if memory == HOST:
            return check, None
    if memory == HOST and kind == "torch-cpu":
        return (lambda x: check(x.detach().numpy())), None
    if memory != HOST and registry.memory_of_library(kind) == memory:  # CuPy, CUDA PyTorch
        import cupy

        if kind == "cupy":
            return check, None
        return (lambda x: check(cupy.asarray(x))), None
    # a copy to where the kernel runs, and back into the argument if the kernel writes it
    backend = backends.get(memory) if memory != HOST else None

    def put(x):
        host = _host_copy(x, kind, check)
        if backend is None:
            return host
        TRANSFERS.up(host.nbytes)
        mark = events.begin("copy", "to_device", memory, None, {
            "bytes": host.nbytes, "backend": backend}) if events.LISTENERS else None
        placed = backend.to_device(host)
        if mark is not None:
            events.end(mark)
        return placed

    def finish(x, placed):  # a NumPy argument (checked C-contiguous) takes the copy itself
        host = placed if backend is None else x if kind == "numpy" else \
            np.empty(placed.shape, placed.dtype)
        if backend is not None:
            mark = events.begin("copy", "to_host", memory, None, {
                "bytes": host.nbytes}) if events.LISTENERS else None
            backend.to_host(placed, host)
            if mark is not None:
                events.end(mark)
            TRANSFERS.down(host.nbytes)
        _copy_back(x, kind, host)
    return put, finish if writes else None


def _numpy_view(name: str, writes: bool) -> Callable:
    """For an argument of no library pxos knows: a function giving NumPy's view of it
    (``__array_interface__`` or the buffer protocol), so the kernel's writes land in it.

    Raises (from the function):
        PxArgumentError: NumPy sees no numbers in it (a PyOpenCL array, say), or the
            kernel writes it and NumPy could only copy it.
    """
    def view(x):
        shares = hasattr(x, "__array_interface__") or _has_buffer(x)
        found = np.asarray(x)
        if found.dtype == object or found.shape != tuple(x.shape) or (writes and not shares):
            raise PxArgumentError(
                f"argument {name!r}: a {type(x).__module__}.{type(x).__qualname__} is "
                f"none of NumPy, CuPy, PyTorch or pxos.ndarray, and NumPy "
                f"{'cannot view it in place' if found.dtype != object else 'sees no numbers in it'}",
                None, "pass one of those (a PyOpenCL array: its .get(), or pxos.asarray)")
        return found
    return view


def _has_buffer(x) -> bool:
    try:
        memoryview(x).release()
    except TypeError:
        return False
    return True


def _host_copy(x, kind: str, check: Callable) -> np.ndarray:
    if kind in DEVICE_LIBRARIES:
        return download(x)
    if kind == "torch-cpu":
        return np.ascontiguousarray(x.detach().numpy())
    return check(np.asarray(x))


def _copy_back(x, kind: str, host: np.ndarray) -> None:
    if kind in DEVICE_LIBRARIES:
        import cupy

        cupy.asarray(x)[...] = cupy.asarray(host)
        TRANSFERS.up(host.nbytes)
    elif kind == "torch-cpu":
        x.detach().numpy()[...] = host
    elif host is not x:
        np.copyto(np.asarray(x), host)  # NumPy's view of it (host/arg_placement._numpy_view)
