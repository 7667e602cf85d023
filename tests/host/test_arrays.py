"""pxos.ndarray: contents stay where they were last written; copies are made only when the
other side needs them, and counted."""

from __future__ import annotations

import numpy as np
import pytest

import pxos
from pxos.testing import for_each_backend



def test_host_array_is_shared_not_copied():
    host = np.arange(6, dtype=np.int32).reshape(2, 3)
    a = pxos.asarray(host)
    assert a.numpy() is host and a.device == "host" and a.shape == (2, 3)
    assert np.asarray(a) is host


def test_unsupported_dtype_is_a_clear_error():
    with pytest.raises(pxos.PxError, match="no element type for dtype complex128"):
        pxos.asarray(np.zeros(3, np.complex128))


@for_each_backend(require=("device_memory",), argname="device")
def test_copies_only_when_needed(device):
    before = pxos.transfers()
    a = pxos.asarray(np.arange(1000, dtype=np.float32))
    assert a.to(device) is a and a.device == device
    a.to(device)  # already current there: no second copy
    moved = pxos.transfers()
    assert moved.to_device - before.to_device == 1
    assert moved.bytes_to_device - before.bytes_to_device == 4000
    np.testing.assert_array_equal(a.numpy(), np.arange(1000, dtype=np.float32))
    assert pxos.transfers().to_host == moved.to_host  # the host copy was still current
    a.written(device)  # as a kernel on the device would mark it
    a.numpy()
    assert pxos.transfers().to_host - moved.to_host == 1 and a.device in (device, "host")


@for_each_backend(require=("cuda_memory",), argname="device")
def test_cuda_array_interface_and_dlpack_share_memory(device):
    cupy = pytest.importorskip("cupy")
    a = pxos.asarray(np.arange(10, dtype=np.float32), device="cuda")
    view = cupy.asarray(a)  # through __cuda_array_interface__
    assert view.data.ptr == a.on("cuda").data.ptr
    view *= 2
    a.written("cuda")
    np.testing.assert_array_equal(a.numpy(), 2 * np.arange(10, dtype=np.float32))
    torch = pytest.importorskip("torch")
    t = torch.from_dlpack(a)
    assert t.data_ptr() == a.on("cuda").data.ptr


@for_each_backend(require=("cuda_memory",), argname="device")
def test_cupy_array_is_adopted_without_a_copy(device):
    cupy = pytest.importorskip("cupy")
    c = cupy.arange(8, dtype=cupy.int32)
    before = pxos.transfers()
    a = pxos.asarray(c)
    assert a.device == "cuda" and a.on("cuda").data.ptr == c.data.ptr
    assert pxos.transfers().to_host == before.to_host
    np.testing.assert_array_equal(a.numpy(), np.arange(8))  # one copy, when asked
    assert pxos.transfers().to_host - before.to_host == 1
