"""Which WebGPU adapters pxos runs (``webgpu.VERIFIED``), and which of them ``--device auto``
may choose: a verified GPU adapter, unless a native backend present drives the same GPU
(``backends.native_twin``: CUDA on NVIDIA). Fake adapter and device names; no GPU needed."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from pxos import backends
from pxos.backends.webgpu import WebGPUBackend, verified
from pxos.errors import PxBackendError


@pytest.mark.parametrize("device, backend_type, want", [
    ("llvmpipe (LLVM 15.0.6, 256 bits)", "Vulkan", True),  # Mesa's lavapipe
    ("NVIDIA H200", "Vulkan", True),
    ("NVIDIA H200/PCIe/SSE2", "OpenGL", False),  # NVIDIA through wgpu's GL backend
    ("AMD Radeon RX 7900 XTX (RADV NAVI31)", "Vulkan", False),
    ("Apple M2", "Metal", False),
])
def test_only_verified_adapters_run(device, backend_type, want):
    assert verified({"device": device, "vendor": "", "backend_type": backend_type}) is want


def adapter(device_name: str, on_gpu: bool = True, is_verified: bool = True) -> WebGPUBackend:
    """A WebGPUBackend as its constructor leaves one, for a fake adapter (no wgpu call)."""
    fake = object.__new__(WebGPUBackend)
    fake.device_name, fake.on_gpu, fake.verified = device_name, on_gpu, is_verified
    return fake


def native(device_name: str, on_gpu: bool = True):
    return SimpleNamespace(device_name=device_name, on_gpu=on_gpu, auto_candidate=True)


@pytest.mark.parametrize("present, webgpu, want", [
    ({"cuda": native("NVIDIA H200")}, adapter("NVIDIA H200"), False),
    ({"cuda": native("NVIDIA H200 NVL")}, adapter("nvidia h200"), False),  # one holds the other
    ({"cuda": native("NVIDIA A100-SXM4-80GB")}, adapter("NVIDIA H200"), True),  # another GPU
    ({}, adapter("NVIDIA H200"), True),  # no CUDA, no OpenCL: WebGPU is the GPU's backend
    ({"opencl": native("NVIDIA H200")}, adapter("NVIDIA H200"), False),
    ({"opencl": native("NVIDIA H200", on_gpu=False)}, adapter("NVIDIA H200"), True),
    ({}, adapter("llvmpipe (LLVM 15.0.6, 256 bits)", on_gpu=False), False),  # a CPU adapter
    ({}, adapter("NVIDIA H200", is_verified=False), False),  # PXOS_WEBGPU_UNVERIFIED=1
])
def test_auto_leaves_a_gpu_to_its_native_backend(monkeypatch, present, webgpu, want):
    def get(name):
        if name == "webgpu":
            return webgpu
        if name not in present:
            raise PxBackendError(f"no {name} here")
        return present[name]

    monkeypatch.setattr(backends, "get", get)
    assert webgpu.auto_candidate is want
    twin = next(iter(present), None) if not want and webgpu.on_gpu and webgpu.verified else None
    assert backends.native_twin(webgpu) == twin
    chosen = backends.auto_candidates(["c", "cuda", "opencl", "webgpu"])
    assert ("webgpu" in chosen) is want
    assert [n for n in chosen if n != "webgpu"] == ["c", "cuda", "opencl"]  # absent ones kept
