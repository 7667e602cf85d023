"""Ciphers and hashes on random data and on examples/data, against ``cryptography``,
``hashlib`` and a bitwise CRC32C; lengths around the block sizes; wrong tags; bad lengths."""

from __future__ import annotations

import hashlib
import importlib.util

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import EXAMPLES, needs_extra

_ciphers = needs_extra("cryptography.hazmat.primitives.ciphers", "pipelines")
Cipher, algorithms, modes = _ciphers.Cipher, _ciphers.algorithms, _ciphers.modes

from pxos.errors import PxArgumentError, PxBackendError, PxRuntimeError
from pxos.host import pipeline
from pxos.testing import backends_present, for_each_backend

DEVICES = ["host"] + backends_present()
every_device = for_each_backend(argname="device", extra=("host",))
RNG = np.random.default_rng(21)
KEY = RNG.integers(0, 256, 32, dtype=np.uint8)
NONCES = {"aes256ctr": bytes([0xFF] * 15 + [0xF0]), "aes256gcm": bytes(range(12)),
          "chacha20": bytes(range(7, 19))}  # the CTR nonce carries across 16 bytes


def reference(data: bytes, cipher: str) -> bytes:
    """``cryptography``'s answer, independent of pxos's host path."""
    key, nonce = KEY.tobytes(), NONCES[cipher]
    if cipher == "aes256gcm":
        enc = Cipher(algorithms.AES(key), modes.GCM(nonce)).encryptor()
        return enc.update(data) + enc.finalize() + enc.tag
    algo = (Cipher(algorithms.AES(key), modes.CTR(nonce)) if cipher == "aes256ctr"
            else Cipher(algorithms.ChaCha20(key, b"\0\0\0\0" + nonce), None))
    return algo.encryptor().update(data)


def crc32c_bitwise(data: bytes) -> int:
    c = 0xFFFFFFFF
    for byte in data:
        c ^= byte
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
    return c ^ 0xFFFFFFFF


@every_device
@pytest.mark.parametrize("cipher", pipeline.CIPHERS)
def test_round_trip_random_and_image(device, cipher):
    image = (EXAMPLES / "data" / "astronaut.png").read_bytes()
    slow = device == "interp"  # a few blocks serve there: the kernels are the same
    for data in (RNG.integers(0, 256, 1000 if slow else 5000, dtype=np.uint8).tobytes(),
                 image[:1000] if slow else image):
        got = pipeline.encrypt(data, cipher, KEY, NONCES[cipher], device=device)
        assert got.dtype == np.uint8 and got.ndim == 1
        assert got.tobytes() == reference(data, cipher)
        assert pipeline.decrypt(got, cipher, KEY, NONCES[cipher], device=device).tobytes() == data


@settings(max_examples=25, deadline=None)
@given(length=st.sampled_from([0, 1, 15, 16, 17, 63, 64, 65, 127, 128, 129, 1000]),
       cipher=st.sampled_from(pipeline.CIPHERS), device=st.sampled_from(DEVICES))
def test_lengths_not_multiples_of_the_block(length, cipher, device):
    data = np.random.default_rng(length).integers(0, 256, length, dtype=np.uint8)
    got = pipeline.encrypt(data, cipher, KEY, NONCES[cipher], device=device)
    assert got.tobytes() == reference(data.tobytes(), cipher)
    assert (pipeline.decrypt(got, cipher, KEY, NONCES[cipher], device=device) == data).all()
    assert pipeline.sha256(data, device=device).tobytes() == hashlib.sha256(data.tobytes()).digest()
    assert pipeline.crc32c(data, device=device) == crc32c_bitwise(data.tobytes())


@every_device
def test_wrong_tag_returns_nothing(device):
    sealed = pipeline.encrypt(b"attack at dawn", "aes256gcm", KEY, NONCES["aes256gcm"], device=device)
    for i in (0, len(sealed) - 1):  # a changed ciphertext byte, a changed tag byte
        bad = sealed.copy()
        bad[i] ^= 1
        with pytest.raises(PxRuntimeError, match="authentication tag does not match"):
            pipeline.decrypt(bad, "aes256gcm", KEY, NONCES["aes256gcm"], device=device)
    with pytest.raises(PxRuntimeError, match="fewer than the 16-byte"):
        pipeline.decrypt(sealed[:5], "aes256gcm", KEY, NONCES["aes256gcm"], device=device)


@pytest.mark.parametrize("cipher", pipeline.CIPHERS)
def test_bad_key_and_nonce_lengths(cipher):
    with pytest.raises(PxArgumentError, match=f"{cipher} needs a 32-byte key; got 16 bytes"):
        pipeline.encrypt(b"x", cipher, bytes(16), NONCES[cipher])
    want = len(NONCES[cipher])
    with pytest.raises(PxArgumentError, match=f"needs a {want}-byte nonce; got 8 bytes"):
        pipeline.decrypt(b"x" * 16, cipher, KEY, bytes(8), device="c")


def test_bad_arguments():
    with pytest.raises(PxArgumentError, match="unknown cipher 'aes128'"):
        pipeline.encrypt(b"x", "aes128", KEY, bytes(16))
    with pytest.raises(PxArgumentError, match="1-D u8 array; got float64"):
        pipeline.sha256(np.zeros(3))
    with pytest.raises(PxArgumentError, match="2-D u8 array"):
        pipeline.sha256_rows(np.zeros(3, np.uint8))
    with pytest.raises(PxBackendError, match="unknown device 'gpu9'"):
        pipeline.encrypt(b"x", "chacha20", KEY, bytes(12), device="gpu9")
    with pytest.raises(PxArgumentError, match="unknown operation"):
        pipeline.devices("rot13")


def test_devices():
    # nvCOMP (the pipelines-gpu extra) adds cuda to compress, where a cuda backend is present
    nvcomp = importlib.util.find_spec("nvidia") is not None \
        and importlib.util.find_spec("nvidia.nvcomp") is not None
    gpu = ["cuda"] if nvcomp and "cuda" in DEVICES else []
    assert pipeline.devices("compress") == ["host"] + gpu
    assert pipeline.devices("validate") == ["host"]
    assert pipeline.devices("encrypt") == DEVICES
    assert pipeline.devices("sha256_rows") == DEVICES


@every_device
def test_hashes_of_rows_and_crc_against_references(device):
    rows = RNG.integers(0, 256, (300, 1024 if device != "interp" else 100), dtype=np.uint8)
    got = pipeline.sha256_rows(rows, device=device)
    assert [bytes(g) for g in got] == [hashlib.sha256(r.tobytes()).digest() for r in rows]
    data = RNG.integers(0, 256, 20000, dtype=np.uint8).tobytes()
    assert pipeline.crc32c(data, device=device) == crc32c_bitwise(data)


def test_a_kernel_call_over_8_gib_is_refused():
    huge = np.broadcast_to(np.uint8(0), (2 ** 33,))  # no memory behind it: refused first
    with pytest.raises(PxArgumentError, match="at most 8 GiB per call"):
        pipeline.encrypt(huge, "chacha20", KEY, bytes(12), device="c")
