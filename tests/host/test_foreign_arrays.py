"""Arrays of a library pxos does not know: used through NumPy's view where they expose one
(``__array_interface__``, the buffer protocol), refused with a clear error where NumPy
sees no numbers in them or could only copy an array the kernel writes."""

from __future__ import annotations

import numpy as np
import pytest

import pxos
from pxos.errors import PxArgumentError
from pxos.testing import for_each_backend


@pxos.kernel
def axpy(a: pxos.f32, x: pxos.Array[pxos.f32, 1], y: pxos.Array[pxos.f32, 1]):
    for i in pxos.parallel(len(x)):
        y[i] = a * x[i] + y[i]


class Viewed:
    """An array of another library that NumPy views in place."""

    def __init__(self, arr):
        self.arr, self.shape, self.dtype = arr, arr.shape, arr.dtype

    @property
    def __array_interface__(self):
        return self.arr.__array_interface__


class Opaque:
    """An array whose numbers NumPy cannot see (as a PyOpenCL array's)."""

    def __init__(self, n):
        self.shape, self.dtype = (n,), np.dtype(np.float32)

    def __len__(self):
        return self.shape[0]

    def __getitem__(self, i):
        return self


class Copied(Opaque):
    """An array NumPy can read only by copying it (``__array__``)."""

    def __init__(self, arr):
        super().__init__(len(arr))
        self.arr = arr

    def __array__(self, dtype=None, copy=None):
        return self.arr.copy()


@for_each_backend()
def test_a_viewed_array_is_read_and_written_in_place(backend):
    x, y = np.arange(100, dtype=np.float32), np.ones(100, np.float32)
    wy = Viewed(y.copy())
    axpy(np.float32(3), Viewed(x), wy, device=backend)
    np.testing.assert_allclose(wy.arr, 3 * x + y, rtol=1e-6)


def test_an_array_numpy_cannot_see_into_is_refused():
    with pytest.raises(PxArgumentError, match="sees no numbers"):
        axpy(np.float32(3), Opaque(8), np.zeros(8, np.float32), device="c")


def test_a_written_array_numpy_could_only_copy_is_refused():
    x = np.ones(8, np.float32)
    axpy(np.float32(3), Copied(x), np.zeros(8, np.float32), device="c")  # read: fine
    with pytest.raises(PxArgumentError, match="cannot view it in place"):
        axpy(np.float32(3), x, Copied(np.zeros(8, np.float32)), device="c")
