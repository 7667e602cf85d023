"""Without the pipelines extra (a fresh ``pip install -e '.[test]'``), each operation that
needs a missing package is a ``PxPackageError`` naming the extra, never a traceback; what
needs nothing missing still runs (deflate, the cipher kernels on a backend)."""

from __future__ import annotations

import os
import subprocess
import sys
import zlib

import numpy as np
import pytest

from pxos.errors import PxPackageError, PxRuntimeError
from pxos.host import pipeline
from pxos.host.pipeline import filters

KEY, NONCE = bytes(range(32)), bytes(range(12))
CRYPTOGRAPHY = ("cryptography", "cryptography.exceptions",
                "cryptography.hazmat.primitives.ciphers",
                "cryptography.hazmat.primitives.ciphers.aead")


def _block(monkeypatch, *modules: str) -> None:
    """Make ``modules`` unimportable here (as if not installed)."""
    for name in modules:
        monkeypatch.setitem(sys.modules, name, None)


CASES = {
    "zstd compress": (("zstandard",), lambda: pipeline.compress(b"abc" * 99, "zstd")),
    "zstd decompress": (("zstandard",), lambda: pipeline.decompress(b"\x28\xb5", "zstd")),
    "lz4 compress": (("lz4", "lz4.frame"), lambda: pipeline.compress(b"abc", "lz4")),
    "lz4 stream": (("lz4", "lz4.frame"), lambda: filters.CodecFilter("lz4", True)),
    "host encrypt": (CRYPTOGRAPHY, lambda: pipeline.encrypt(b"abc", "aes256gcm", KEY, NONCE)),
    "host decrypt": (CRYPTOGRAPHY, lambda: pipeline.decrypt(bytes(20), "chacha20", KEY,
                                                            NONCE)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_missing_package_names_its_extra(monkeypatch, case):
    blocked, call = CASES[case]
    _block(monkeypatch, *blocked)
    with pytest.raises(PxPackageError) as info:
        call()
    assert repr(blocked[0]) in info.value.message
    assert info.value.hint == "pip install 'pxos[pipelines]'"


def test_what_needs_nothing_missing_still_runs(monkeypatch):
    _block(monkeypatch, "zstandard", "lz4", "lz4.frame", *CRYPTOGRAPHY)
    data = np.frombuffer(b"pxos " * 1000, np.uint8)
    packed = pipeline.compress(data, "deflate")
    assert zlib.decompress(packed.tobytes()) == data.tobytes()
    assert np.array_equal(pipeline.decompress(packed, "deflate"), data)
    sealed = pipeline.encrypt(data, "chacha20", KEY, NONCE, device="c")  # a kernel
    assert not np.array_equal(sealed, data)
    assert np.array_equal(pipeline.decrypt(sealed, "chacha20", KEY, NONCE, device="c"), data)
    stream = filters.CodecFilter("deflate", True)  # corrupt input: the codec's own error
    with pytest.raises(PxRuntimeError, match="corrupt or truncated"):
        stream.push(b"not deflate at all")


def test_encrypt_is_placed_on_a_kernel_without_the_cipher_library(monkeypatch):
    from pxos.host.pipeline import placement

    monkeypatch.setattr(placement, "installed", lambda module: module != "cryptography")
    decision = placement.place("aes256ctr", 1 << 20, [], 1, "ENCRYPT")
    assert decision.device == "host" and decision.predicted["host"] == float("inf")
    assert "cryptography is not installed" in decision.reason


def test_the_command_line_says_what_to_install(tmp_path):
    src = tmp_path / "in.bin"
    src.write_bytes(b"pxos" * 100)
    code = ("import sys; sys.modules['zstandard'] = None; from pxos.cli.main import main; "
            f"sys.argv = ['pxos', 'pipeline', 'compress', {str(src)!r}, "
            f"{str(tmp_path / 'out.zst')!r}, '--codec', 'zstd']; main()")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, env=dict(os.environ))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "missing package" in done.stderr and "pxos[pipelines]" in done.stderr
    assert not (tmp_path / "out.zst").exists()
