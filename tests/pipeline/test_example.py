"""examples/pipeline/secure_files.py seals and reopens the photograph on every device."""

from __future__ import annotations

import hashlib
import importlib.util

import pytest

from pxos import backends
from pxos.errors import PxRuntimeError
from pxos.testing import for_each_backend
from tests.conftest import EXAMPLES


def example():
    spec = importlib.util.spec_from_file_location("secure_files", EXAMPLES / "pipeline" / "secure_files.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@for_each_backend(require=("compiled",), argname="device", extra=("host",))
def test_seal_and_open(device, tmp_path, monkeypatch):
    if device == "webgpu" and backends.get("webgpu").loop_limit:
        pytest.skip("Mesa's lavapipe stops a thread's loops after about 65535 iterations; "
                    "SHA-256 of the photograph is one thread's far longer run (docs/backends.md)")
    monkeypatch.setenv("PXOS_DEMO_KEY", "ab" * 32)
    mod = example()
    result = mod.run(device, tmp_path)
    photo = (EXAMPLES / "data" / "astronaut.png").read_bytes()
    assert result["before"] == result["after"] == hashlib.sha256(photo).digest()
    blob = bytearray(result["sealed"].read_bytes())
    blob[100] ^= 1  # a changed byte is found by the tag
    result["sealed"].write_bytes(bytes(blob))
    with pytest.raises(PxRuntimeError, match="authentication tag does not match"):
        mod.open_sealed(result["sealed"], bytes.fromhex("ab" * 32), device)
