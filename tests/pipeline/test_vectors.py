"""The kernels and the host paths against NIST CAVP (AES-CTR, AES-GCM, SHA-256) and RFC 8439
(ChaCha20) vectors, on the host and every backend present."""

from __future__ import annotations

import numpy as np

from tests.pipeline.vectors import records

from pxos.host import pipeline
from pxos.testing import backends_present, for_each_backend

DEVICES = ["host"] + backends_present()
every_device = for_each_backend(argname="device", extra=("host",))


def h(s: str) -> bytes:
    return bytes.fromhex(s)


@every_device
def test_aes256_ctr_rfc3686(device):
    recs = records("ciphers/AES/CTR/aes-256-ctr.txt")
    assert len(recs) >= 3
    for r in recs:
        got = pipeline.encrypt(h(r["PLAINTEXT"]), "aes256ctr", h(r["KEY"]), h(r["IV"]), device=device)
        assert got.tobytes() == h(r["CIPHERTEXT"])


def _gcm_records():
    """Encryption vectors with a 96-bit IV, no associated data and a 128-bit tag."""
    return [r for r in records("ciphers/AES/GCM/gcmEncryptExtIV256.rsp")
            if r.get("IVlen") == "96" and r.get("AADlen") == "0" and r.get("Taglen") == "128"]


@every_device
def test_aes256_gcm_cavp(device):
    recs = _gcm_records()
    assert len(recs) >= 45
    recs = recs[::5] if device == "interp" else recs
    for r in recs:
        key, iv = h(r["KEY"]), h(r["IV"])
        got = pipeline.encrypt(h(r["PT"]), "aes256gcm", key, iv, device=device)
        assert got.tobytes() == h(r["CT"]) + h(r["TAG"])
        back = pipeline.decrypt(got, "aes256gcm", key, iv, device=device)
        assert back.tobytes() == h(r["PT"])


@every_device
def test_chacha20_rfc8439(device):
    recs = records("ciphers/ChaCha20/rfc7539.txt")
    assert len(recs) >= 3
    for r in recs:
        skip = 64 * int(r["INITIAL_BLOCK_COUNTER"])  # our counter starts at 0: skip blocks
        data = bytes(skip) + h(r["PLAINTEXT"])
        got = pipeline.encrypt(data, "chacha20", h(r["KEY"]), h(r["NONCE"]), device=device)
        assert got.tobytes()[skip:] == h(r["CIPHERTEXT"])


@every_device
def test_sha256_cavp(device):
    recs = records("hashes/SHA2/SHA256ShortMsg.rsp")
    long = records("hashes/SHA2/SHA256LongMsg.rsp")
    assert len(recs) == 65 and len(long) == 64
    recs = recs + (long[:4] if device == "interp" else long)
    for r in recs:
        msg = h(r["MSG"])[:int(r["LEN"]) // 8]
        assert pipeline.sha256(msg, device=device).tobytes() == h(r["MD"])


@every_device
def test_sha256_rows_cavp(device):
    """The ShortMsg vectors of one length, many rows at once."""
    recs = [r for r in records("hashes/SHA2/SHA256ShortMsg.rsp") if int(r["LEN"]) > 0]
    # each row its own message: pad the short ones into rows of one length by grouping
    for length in (8, 256, 512):
        group = [r for r in recs if int(r["LEN"]) == length] * 40
        rows = np.array([list(h(r["MSG"])) for r in group], np.uint8)
        got = pipeline.sha256_rows(rows, device=device)
        assert got.shape == (len(group), 32)
        assert [bytes(g) for g in got] == [h(r["MD"]) for r in group]


@every_device
def test_crc32c_check_value(device):
    # the CRC catalogue's check value for CRC-32C (iSCSI)
    assert pipeline.crc32c(b"123456789", device=device) == 0xE3069283
    assert pipeline.crc32c(b"", device=device) == 0
