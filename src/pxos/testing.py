"""Test helpers for pxos and for code built on it (pytest).

Two decorators (docs/backends.md, "Testing"):

* :func:`for_each_backend` runs a test once per backend present here
  (``pxos.backends.available()``), as Taichi's ``@ti.test(arch=…)`` does: a new backend is
  tested by appearing in that list. ``exclude=`` leaves backends out by name; ``require=``
  keeps only the backends that have every named capability (:data:`CAPABILITIES`).
* :func:`numpy_allclose` runs a test body twice, once with a backend's name and once with
  :data:`NUMPY`, and compares what the two runs return, as CuPy's
  ``testing.numpy_cupy_allclose`` compares a body run with ``xp=numpy`` and ``xp=cupy``:
  same structure, same dtypes, same shapes, values within ``rtol``/``atol``.

    import numpy as np
    from pxos.testing import NUMPY, for_each_backend, numpy_allclose

    @for_each_backend()
    @numpy_allclose(rtol=1e-6)
    def test_saxpy(backend):
        x = np.arange(1000, dtype=np.float32)
        if backend == NUMPY:
            return 2 * x + x               # the reference, in NumPy
        out = np.empty_like(x)
        saxpy(np.float32(2), x, x, out, device=backend)
        return out

Importing this module imports pytest; pxos itself never imports it.
"""

from __future__ import annotations

import functools
from typing import Callable, Iterable

import numpy as np
import pytest

from pxos import backends, registry
from pxos.backends.base import HOST

NUMPY = "numpy"  # the backend name a numpy_allclose body receives for its reference run


def _compiled(name: str) -> bool:
    return registry.compiles(name)


def _device_memory(name: str) -> bool:
    return backends.get(name).memory != HOST


def _host_memory(name: str) -> bool:
    return backends.get(name).memory == HOST


def _cuda_memory(name: str) -> bool:
    return backends.get(name).memory == "cuda"


# What ``require=`` may name: capability -> whether backend ``name`` has it.
CAPABILITIES: dict[str, Callable[[str], bool]] = {
    "compiled": _compiled,            # generates and compiles code (not the interpreter)
    "device_memory": _device_memory,  # keeps arrays in its own memory (a copy each way)
    "host_memory": _host_memory,      # runs on the host's arrays in place
    "cuda_memory": _cuda_memory,      # its arrays are CUDA memory (CuPy, PyTorch share it)
}


def backends_present(exclude: Iterable[str] = (), require: Iterable[str] = ()) -> list[str]:
    """The backends present here (``pxos.backends.available()``, in its order), less those
    named in ``exclude`` and those lacking a capability named in ``require``.

    Raises:
        ValueError: ``require`` names a capability not in :data:`CAPABILITIES`.
    """
    require = tuple(require)
    unknown = [r for r in require if r not in CAPABILITIES]
    if unknown:
        raise ValueError(f"unknown capabilities {unknown}; expected some of "
                         f"{sorted(CAPABILITIES)}")
    return [b for b in backends.available()
            if b not in tuple(exclude) and all(CAPABILITIES[r](b) for r in require)]


def for_each_backend(exclude: Iterable[str] = (), require: Iterable[str] = (),
                     argname: str = "backend", extra: Iterable[str] = ()):
    """Decorator: run the test once per backend present, passing its name as ``argname``.

    Args:
        exclude: backend names to leave out (``("interp",)``).
        require: capabilities every backend run must have (keys of :data:`CAPABILITIES`).
        argname: the test's parameter that receives the name (``backend``, ``device``).
        extra: names run before the backends, such as ``"host"`` for code that also has
            a host (no kernel) path.

    With no backend left the test is reported as skipped, with the reason.
    """
    names = list(extra) + backends_present(exclude, require)
    if not names:
        why = f"no backend here {'with ' + ', '.join(require) if require else 'left'}" \
              f"{' after excluding ' + ', '.join(exclude) if exclude else ''}"
        params = [pytest.param(None, marks=pytest.mark.skip(reason=why))]
    else:
        params = [pytest.param(n, id=n) for n in names]
    return pytest.mark.parametrize(argname, params)


def numpy_allclose(rtol: float = 1e-7, atol: float = 0.0, check_dtype: bool = True,
                   argname: str = "backend"):
    """Decorator: run the test body with its ``argname`` argument as given (a backend's
    name) and again with :data:`NUMPY`, and assert that the two results agree.

    The body returns an array (NumPy, or any with ``__array__``), a scalar, or a tuple,
    list or dict of those; the two returns must have the same structure, and each pair of
    arrays the same dtype (unless ``check_dtype=False``) and shape, and values within
    ``|actual - expected| <= atol + rtol * |expected|`` (``numpy.testing.assert_allclose``;
    NaNs agree with NaNs). Integer and bool arrays must be equal.

    Raises (in the test):
        AssertionError: the results differ, naming the part that does.
    """
    def decorate(test):
        @functools.wraps(test)
        def run(*args, **kwargs):
            actual = test(*args, **kwargs)
            kwargs[argname] = NUMPY
            expected = test(*args, **kwargs)
            assert_close(actual, expected, rtol, atol, check_dtype)
        return run
    return decorate


def assert_close(actual, expected, rtol: float = 1e-7, atol: float = 0.0,
                 check_dtype: bool = True, where: str = "result") -> None:
    """Assert that ``actual`` matches ``expected`` as :func:`numpy_allclose` compares.

    Raises:
        AssertionError: they differ; the message names the part (``result[1]``,
            ``result['out']``) and how.
    """
    if isinstance(expected, dict):
        assert isinstance(actual, dict) and actual.keys() == expected.keys(), \
            f"{where}: keys {sorted(actual)} != {sorted(expected)}"
        for key in expected:
            assert_close(actual[key], expected[key], rtol, atol, check_dtype,
                         f"{where}[{key!r}]")
        return
    if isinstance(expected, (tuple, list)):
        assert isinstance(actual, (tuple, list)) and len(actual) == len(expected), \
            f"{where}: {len(actual)} parts, expected {len(expected)}"
        for i, (a, e) in enumerate(zip(actual, expected)):
            assert_close(a, e, rtol, atol, check_dtype, f"{where}[{i}]")
        return
    a, e = np.asarray(actual), np.asarray(expected)
    if check_dtype:
        assert a.dtype == e.dtype, f"{where}: dtype {a.dtype}, expected {e.dtype}"
    assert a.shape == e.shape, f"{where}: shape {a.shape}, expected {e.shape}"
    if e.dtype.kind in "biu" and a.dtype.kind in "biu":
        np.testing.assert_array_equal(a, e, err_msg=where)
    else:
        np.testing.assert_allclose(a, e, rtol=rtol, atol=atol, equal_nan=True,
                                   err_msg=where)
